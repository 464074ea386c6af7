package cmd_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/patinject/patinject/internal/testpeer"
	"github.com/patinject/patinject/internal/testpeer/authlog"
)

// startVerdaccio starts the verdaccio registry (scripts/peers/verdaccio.sh) on a free port of
// 127.0.0.1, with htpasswd auth: user with password may read and publish, nobody else anything.
func startVerdaccio(t *testing.T, user, password string) string {
	t.Helper()
	bin := testpeer.Env(t, "PATINJECT_TEST_VERDACCIO")
	node := testpeer.Command(t, "node")
	dir := t.TempDir()
	sum := sha1.Sum([]byte(password))
	htpasswd := user + ":{SHA}" + base64.StdEncoding.EncodeToString(sum[:]) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(htpasswd), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	config := fmt.Sprintf(`storage: %s/storage
auth:
  htpasswd:
    file: %s/htpasswd
    max_users: -1
uplinks: {}
packages:
  '**':
    access: $authenticated
    publish: $authenticated
    unpublish: $authenticated
middlewares:
  audit:
    enabled: false
web:
  enable: false
listen: %s
log: { type: stdout, format: pretty, level: warn }
`, dir, dir, addr)
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, bin, "--config", cfg, "--listen", addr)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting verdaccio: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := "http://" + addr + "/"
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url + "-/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("verdaccio did not answer on %s within 60s:\n%s", addr, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// otherRegistry is a registry of another host (port) that serves @other/dep to anyone and
// records whether a credential ever reached it.
func otherRegistry(t *testing.T) (url string, log *authlog.Log) {
	t.Helper()
	tgz := npmTarball(t, `{"name":"@other/dep","version":"1.0.0"}`)
	sha := sha1.Sum(tgz)
	s512 := sha512.Sum512(tgz)
	log = &authlog.Log{}
	var tarball string
	// npm asks for /@other%2fdep: one path segment, so no ServeMux pattern.
	srv := httptest.NewServer(log.Gate("", "", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/@other/dep":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"name":      "@other/dep",
				"dist-tags": map[string]string{"latest": "1.0.0"},
				"versions": map[string]any{"1.0.0": map[string]any{
					"name": "@other/dep", "version": "1.0.0",
					"dist": map[string]string{"tarball": tarball, "shasum": hex.EncodeToString(sha[:]),
						"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:])},
				}},
			})
		case "/@other/dep/-/dep-1.0.0.tgz":
			_, _ = w.Write(tgz)
		default:
			http.NotFound(w, r)
		}
	})))
	t.Cleanup(srv.Close)
	tarball = srv.URL + "/@other/dep/-/dep-1.0.0.tgz"
	return srv.URL + "/", log
}

func npmTarball(t *testing.T, packageJSON string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644, Size: int64(len(packageJSON)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(packageJSON)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestNpmThroughPatinject(t *testing.T) {
	testpeer.Command(t, "npm")
	other, otherLog := otherRegistry(t)
	e := newToolEnv(t, map[string]string{
		// The user's scope mapping to another registry must survive in patinject's user config.
		".npmrc": userFiles[".npmrc"] + "@other:registry=" + other + "\n",
	})
	registry := startVerdaccio(t, toolUser, e.token)
	flags := []string{"--npm", registry}

	pkg := filepath.Join(e.work, "pkg")
	consumer := filepath.Join(e.work, "consumer")
	for dir, content := range map[string]string{
		pkg:      `{"name":"patinject-demo","version":"1.0.0","description":"published through patinject","license":"MIT"}`,
		consumer: `{"name":"consumer","version":"1.0.0","private":true}`,
	} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(pkg, "index.js"), []byte("module.exports = 42;\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	if code, _ := e.without(e.work, "npm", "publish", pkg, "--registry", registry); code == 0 {
		t.Fatal("npm publish without patinject succeeded")
	}
	if code, _, _ := e.patinject(flags, "npm", "publish", pkg, "--registry", registry); code != 0 {
		t.Fatalf("npm publish through patinject: exit %d", code)
	}

	install := []string{"npm", "install", "--prefix", consumer, "--registry", registry, "patinject-demo", "@other/dep"}
	if code, _ := e.without(e.work, install...); code == 0 {
		t.Fatal("npm install without patinject succeeded")
	}
	if code, _, _ := e.patinject(flags, install...); code != 0 {
		t.Fatalf("npm install through patinject: exit %d", code)
	}
	for _, p := range []string{"patinject-demo/index.js", "@other/dep/package.json"} {
		if _, err := os.Stat(filepath.Join(consumer, "node_modules", filepath.FromSlash(p))); err != nil {
			t.Errorf("npm install did not install %s: %v", p, err)
		}
	}

	// npm ci from the lock file, each with a cache of its own, so nothing comes from a cache.
	if err := os.RemoveAll(filepath.Join(consumer, "node_modules")); err != nil {
		t.Fatal(err)
	}
	ci := func(cache string) []string {
		return []string{"npm", "ci", "--prefix", consumer, "--cache", filepath.Join(e.work, cache)}
	}
	if code, _ := e.without(e.work, ci("cache-without")...); code == 0 {
		t.Fatal("npm ci without patinject succeeded")
	}
	if code, _, _ := e.patinject(flags, ci("cache-with")...); code != 0 {
		t.Fatalf("npm ci through patinject: exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(consumer, "node_modules", "patinject-demo", "index.js")); err != nil {
		t.Errorf("npm ci did not install patinject-demo: %v", err)
	}
	checkNever(t, "the other registry", otherLog)
}
