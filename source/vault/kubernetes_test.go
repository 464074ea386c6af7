package vault

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patinject/patinject/cleanup"
)

// Kubernetes login against the real Vault, whose kubernetes auth method asks a TokenReview API
// (here an httptest server answering as the Kubernetes API server does) whether the pod's
// service account token is valid.
var k8sMounts atomic.Int32

func TestKubernetesLogin(t *testing.T) {
	f := setup(t)
	jwt := serviceAccountJWT(f.key, "build", "ci", "uid-0123")
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review struct {
			Spec struct {
				Token string `json:"token"`
			} `json:"spec"`
		}
		if r.Method != http.MethodPost || r.URL.Path != "/apis/authentication.k8s.io/v1/tokenreviews" ||
			json.NewDecoder(r.Body).Decode(&review) != nil {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		status := map[string]any{"authenticated": false}
		if review.Spec.Token == jwt {
			status = map[string]any{"authenticated": true, "user": map[string]any{"username": "system:serviceaccount:build:ci", "uid": "uid-0123"}}
		}
		writeJSON(w, map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status})
	}))
	t.Cleanup(api.Close)
	// The dev server is shared by the package's tests: a mount of this run's own keeps the test
	// repeatable (go test -count=N), each run with its own fake Kubernetes API.
	mount := fmt.Sprintf("k8s-%d", k8sMounts.Add(1))
	f.srv.Write(t, "sys/auth/"+mount, map[string]any{"type": "kubernetes"})
	f.srv.Write(t, "auth/"+mount+"/config", map[string]any{"kubernetes_host": api.URL, "disable_local_ca_jwt": true})
	f.srv.Write(t, "auth/"+mount+"/role/ci", map[string]any{
		"bound_service_account_names": []string{"ci"}, "bound_service_account_namespaces": []string{"build"},
		"token_policies": []string{"ci-read"}, "token_ttl": "10m",
	})
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(jwt+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("service account token file", func(t *testing.T) {
		reg := &cleanup.Registry{}
		src := f.source(t, nil, Login{Method: MethodKubernetes, Path: mount, Role: "ci", TokenFile: tokenFile}, reg)
		checkLoginRead(t, f, src, reg)
	})
	t.Run("namespace not bound", func(t *testing.T) {
		other := serviceAccountJWT(f.key, "other", "ci", "uid-0123")
		src := f.source(t, nil, Login{Method: MethodKubernetes, Path: mount, Role: "ci", JWT: value(other)}, nil)
		_, err := src.Resolve(context.Background(), mustRef(t, "vault://secret/ci/one"))
		if err == nil || !errors.Is(err, ErrLogin) || !strings.Contains(err.Error(), "vault: log in with kubernetes at auth/"+mount+": login failed: namespace not authorized") ||
			!strings.Contains(err.Error(), "bound service account names and namespaces") || strings.Contains(err.Error(), other) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("not in a pod", func(t *testing.T) {
		src := f.source(t, nil, Login{Method: MethodKubernetes, Path: mount, Role: "ci", TokenFile: filepath.Join(t.TempDir(), "none")}, nil)
		_, err := src.Resolve(context.Background(), mustRef(t, "vault://secret/ci/one"))
		if err == nil || !strings.Contains(err.Error(), "no service account token at") || !strings.Contains(err.Error(), "--vault-jwt REF") {
			t.Errorf("got %v", err)
		}
	})
}

// serviceAccountJWT is a token shaped like a legacy Kubernetes service account token.
func serviceAccountJWT(key *ecdsa.PrivateKey, namespace, name, uid string) string {
	enc := base64.RawURLEncoding.EncodeToString
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT"})
	body, _ := json.Marshal(map[string]any{
		"iss":                                    "kubernetes/serviceaccount",
		"sub":                                    "system:serviceaccount:" + namespace + ":" + name,
		"kubernetes.io/serviceaccount/namespace": namespace,
		"kubernetes.io/serviceaccount/service-account.name": name,
		"kubernetes.io/serviceaccount/service-account.uid":  uid,
		"iat": time.Now().Unix(),
	})
	signing := enc(hdr) + "." + enc(body)
	h := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + enc(sig)
}
