// Package entratest holds stand-ins for the Microsoft Entra ID endpoints that patinject talks to
// and the identity providers whose tokens Entra exchanges, for integration tests:
//
//   - Server: the Entra v2.0 token endpoint of one or more tenants, over HTTPS with a test CA
//     (client credentials by client secret, by client certificate assertion and by federated
//     assertion; refresh tokens; the instance and tenant discovery documents that MSAL asks for;
//     AADSTS errors shaped as Entra shapes them), and a check of the access tokens it issued, for
//     the resource servers of the tests (git, feeds) to accept exactly those;
//   - Issuer: an OIDC issuer with its own signing key (discovery document and JWKS), the kind of
//     issuer a federated credential trusts: Kubernetes service account tokens, GitLab ID tokens;
//   - GitHub: the GitHub Actions ID token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN);
//   - AzurePipelines: the Azure Pipelines OIDC endpoint (SYSTEM_OIDCREQUESTURI, System.AccessToken);
//   - IMDS and AppService: the managed identity endpoints of VMs and of App Service/Container Apps.
//
// Wire facts follow Microsoft's and GitHub's documentation (see protocols.md 1.7-1.8 in the
// project's shared notes); where the text of an AADSTS message is not documented it follows
// messages seen from the service in public issue threads.
package entratest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a test certificate authority: the servers of this package present certificates it
// issued, and a client is told to trust it (SSL_CERT_FILE=CA.File for a Go program on Linux, or
// CA.Client() in process), as it trusts a real authority's.
type CA struct {
	File string // the CA certificate, PEM, in a test directory
	PEM  []byte
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA makes a CA for one test.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "entratest CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	ca.File = filepath.Join(t.TempDir(), "entratest-ca.pem")
	if err := os.WriteFile(ca.File, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return ca
}

// Pool is a certificate pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Client is an HTTP client that trusts the CA and nothing else.
func (ca *CA) Client() *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, Proxy: nil},
	}
}

// serve starts h over HTTPS on 127.0.0.1 with a certificate for 127.0.0.1 and localhost issued
// by the CA; it stops when the test ends.
func (ca *CA) serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	// Clients that drop a pooled connection make the server log "TLS handshake error ... EOF".
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}
