// Package vaultserver starts real HashiCorp Vault dev servers for integration tests: the binary
// that scripts/peers/vault.sh builds (PATINJECT_TEST_VAULT), on a free 127.0.0.1 port, with a
// HOME of its own so that it never touches the developer's ~/.vault-token.
package vaultserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/patinject/patinject/internal/testpeer"
)

// Server is a running `vault server -dev`.
type Server struct {
	Addr      string // http://127.0.0.1:PORT
	RootToken string

	cmd    *exec.Cmd
	exited chan error
	dir    string
	log    *bytes.Buffer
	once   sync.Once
}

// Start starts a dedicated dev server, stopped when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := testpeer.Env(tb, "PATINJECT_TEST_VAULT")
	s, err := start(bin)
	if err != nil {
		tb.Fatalf("starting vault dev server: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// New starts a dev server of the binary bin; the caller stops it. For harnesses without a
// testing.TB (a testscript Setup); tests use Start or Shared.
func New(bin string) (*Server, error) { return start(bin) }

var shared struct {
	mu  sync.Mutex
	s   *Server
	err error
}

// Shared returns the test binary's shared dev server, starting it on first use. Call StopShared
// from TestMain after m.Run. Tests that share it keep to paths and mounts of their own.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	bin := testpeer.Env(tb, "PATINJECT_TEST_VAULT")
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.s == nil && shared.err == nil {
		shared.s, shared.err = start(bin)
	}
	if shared.err != nil {
		tb.Fatalf("starting vault dev server: %v", shared.err)
	}
	return shared.s
}

// StopShared stops the shared server, if one was started.
func StopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.s != nil {
		shared.s.Stop()
	}
}

func start(bin string) (*Server, error) {
	var last error
	for range 3 { // a port picked free can be taken before vault binds it
		s, err := startOnce(bin)
		if err == nil {
			return s, nil
		}
		last = err
	}
	return nil, last
}

func startOnce(bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "patinject-vault-")
	if err != nil {
		return nil, err
	}
	s := &Server{
		Addr:      "http://127.0.0.1:" + port,
		RootToken: "root-" + randomHex(12),
		dir:       dir,
		log:       &bytes.Buffer{},
	}
	// Tokens go through the environment, never argv. The server gets a HOME of its own and
	// -dev-no-store-token, so that no ~/.vault-token is written anywhere.
	s.cmd = exec.Command(bin, "server", "-dev", "-dev-no-store-token")
	s.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"VAULT_DEV_ROOT_TOKEN_ID=" + s.RootToken,
		"VAULT_DEV_LISTEN_ADDRESS=127.0.0.1:" + port,
		"VAULT_LOG_LEVEL=warn",
	}
	s.cmd.Dir = dir
	s.cmd.Stdout = &lockedWriter{w: s.log}
	s.cmd.Stderr = s.cmd.Stdout
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.exited = make(chan error, 1)
	go func() { s.exited <- s.cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady() error {
	deadline := time.Now().Add(60 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-s.exited:
			return fmt.Errorf("vault exited (%v): %s", err, s.logTail())
		default:
		}
		resp, err := hc.Get(s.Addr + "/v1/sys/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("vault not healthy at %s after 60s: %s", s.Addr, s.logTail())
}

// logTail is the end of the server's output without the lines that carry a token or key.
func (s *Server) logTail() string {
	w := s.cmd.Stdout.(*lockedWriter)
	w.mu.Lock()
	defer w.mu.Unlock()
	var keep []string
	for _, l := range strings.Split(s.log.String(), "\n") {
		if strings.Contains(l, "Root Token") || strings.Contains(l, "Unseal Key") {
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > 20 {
		keep = keep[len(keep)-20:]
	}
	return strings.Join(keep, "\n")
}

// Stop ends the server and removes its directory.
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				s.cmd.Process.Kill()
				<-s.exited
			}
		}
		os.RemoveAll(s.dir)
	})
}

// Client returns a client of the server holding the root token, for setting up fixtures.
func (s *Server) Client(tb testing.TB) *api.Client {
	tb.Helper()
	c, err := s.RootClient()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// RootClient is Client for callers without a testing.TB.
func (s *Server) RootClient() (*api.Client, error) {
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, cfg.Error
	}
	cfg.Address = s.Addr
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(s.RootToken)
	c.ClearNamespace()
	return c, nil
}

// Write writes data at path as root and fails tb on error.
func (s *Server) Write(tb testing.TB, path string, data map[string]any) *api.Secret {
	tb.Helper()
	sec, err := s.Client(tb).Logical().WriteWithContext(context.Background(), path, data)
	if err != nil {
		tb.Fatalf("vault write %s: %v", path, err)
	}
	return sec
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Len() > 1<<20 {
		l.w.Reset()
	}
	return l.w.Write(p)
}
