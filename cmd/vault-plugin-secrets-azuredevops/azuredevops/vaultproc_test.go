package azuredevops_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/patinject/patinject/internal/testpeer"
)

// The binaries the Vault tests run: the plugin (registered through a plugin directory) and
// patinject, built once per test binary into a directory removed by TestMain.
var (
	buildDir  string
	buildOnce sync.Once
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "azuredevops-plugin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const pluginName = "vault-plugin-secrets-azuredevops"

// binaries builds the plugin into buildDir/plugins and patinject into buildDir/bin.
func binaries(t *testing.T) (pluginDir, patinject string) {
	t.Helper()
	goBin := testpeer.Command(t, "go")
	buildOnce.Do(func() {
		pluginDir := filepath.Join(buildDir, "plugins")
		if err := os.MkdirAll(pluginDir, 0o755); err != nil {
			buildErr = err
			return
		}
		// The test runs in the engine's directory: the plugin's module is its parent, the
		// repository (patinject's module) three up.
		for _, b := range []struct{ dir, pkg, out string }{
			{"..", ".", filepath.Join(pluginDir, pluginName)},
			{filepath.Join("..", "..", ".."), "./cmd/patinject", filepath.Join(buildDir, "bin", "patinject")},
		} {
			cmd := exec.Command(goBin, "build", "-o", b.out, b.pkg)
			cmd.Dir = b.dir
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "plugins"), filepath.Join(buildDir, "bin", "patinject")
}

// vaultProc is a running Vault server: a dev server, or a server on file storage that the test
// initialises, unseals and restarts.
type vaultProc struct {
	Addr  string
	Token string

	bin, dir, port string
	env            []string
	args           []string
	unsealKey      string

	cmd    *exec.Cmd
	exited chan error
	out    *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// serverEnv is the environment of the Vault server, which its plugins inherit: SSL_CERT_FILE
// makes them trust the Entra stand-in's CA.
func serverEnv(dir, caFile string) []string {
	// TMPDIR reaches the plugin process too (go-plugin hands the server's environment on): its
	// socket goes in the test's directory, not in /tmp where it would outlive the test.
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir, "SSL_CERT_FILE=" + caFile, "VAULT_LOG_LEVEL=info"}
}

// startDev starts `vault server -dev` with the plugin directory registered.
func startDev(t *testing.T, pluginDir, caFile string) *vaultProc {
	t.Helper()
	bin := testpeer.Env(t, "PATINJECT_TEST_VAULT")
	v := &vaultProc{bin: bin, dir: t.TempDir(), port: freePort(t), Token: "root-" + randHex(8)}
	v.Addr = "http://127.0.0.1:" + v.port
	v.args = []string{"server", "-dev", "-dev-no-store-token", "-dev-plugin-dir=" + pluginDir}
	v.env = append(serverEnv(v.dir, caFile), "VAULT_DEV_ROOT_TOKEN_ID="+v.Token, "VAULT_DEV_LISTEN_ADDRESS=127.0.0.1:"+v.port)
	v.start(t, http.StatusOK)
	t.Cleanup(v.stop)
	return v
}

// startFile starts a server on file storage (not dev): the test initialises it with one key
// share and unseals it; restart keeps the storage.
func startFile(t *testing.T, pluginDir, caFile string) *vaultProc {
	t.Helper()
	bin := testpeer.Env(t, "PATINJECT_TEST_VAULT")
	v := &vaultProc{bin: bin, dir: t.TempDir(), port: freePort(t)}
	v.Addr = "http://127.0.0.1:" + v.port
	conf := fmt.Sprintf(`storage "file" { path = %q }
listener "tcp" {
  address     = "127.0.0.1:%s"
  tls_disable = true
}
plugin_directory = %q
api_addr         = %q
disable_mlock    = true
`, filepath.Join(v.dir, "data"), v.port, pluginDir, v.Addr)
	confFile := filepath.Join(v.dir, "vault.hcl")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	v.args = []string{"server", "-config=" + confFile}
	v.env = serverEnv(v.dir, caFile)
	v.start(t, 501) // sys/health: not initialised
	c := v.rawClient(t)
	init, err := c.Sys().Init(&api.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	v.Token, v.unsealKey = init.RootToken, init.Keys[0]
	v.unseal(t)
	t.Cleanup(v.stop)
	return v
}

func (v *vaultProc) unseal(t *testing.T) {
	t.Helper()
	st, err := v.rawClient(t).Sys().Unseal(v.unsealKey)
	if err != nil || st.Sealed {
		t.Fatalf("unseal: %v (sealed %v)", err, st != nil && st.Sealed)
	}
	v.waitHealth(t, http.StatusOK)
}

// restart stops the server and starts it again on the same storage and port, unsealed.
func (v *vaultProc) restart(t *testing.T) {
	t.Helper()
	v.stop()
	v.start(t, 503) // sealed
	v.unseal(t)
}

func (v *vaultProc) start(t *testing.T, ready int) {
	t.Helper()
	v.out = &lockedBuffer{}
	v.cmd = exec.Command(v.bin, v.args...)
	v.cmd.Env = v.env
	v.cmd.Dir = v.dir
	v.cmd.Stdout, v.cmd.Stderr = v.out, v.out
	v.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := v.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	v.exited = make(chan error, 1)
	go func(c *exec.Cmd, ch chan error) { ch <- c.Wait(); close(ch) }(v.cmd, v.exited)
	v.waitHealth(t, ready)
}

func (v *vaultProc) waitHealth(t *testing.T, want int) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-v.exited:
			t.Fatalf("vault exited (%v): %s", err, v.logTail())
		default:
		}
		if res, err := hc.Get(v.Addr + "/v1/sys/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("vault at %s did not answer health %d: %s", v.Addr, want, v.logTail())
}

// logTail is the end of the server's output without lines that carry a token or key.
func (v *vaultProc) logTail() string {
	var keep []string
	for _, l := range strings.Split(v.out.String(), "\n") {
		if !strings.Contains(l, "Root Token") && !strings.Contains(l, "Unseal Key") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep[max(0, len(keep)-30):], "\n")
}

func (v *vaultProc) stop() {
	if v.cmd == nil || v.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-v.cmd.Process.Pid, syscall.SIGTERM) // the server and its plugins
	select {
	case <-v.exited:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL)
		<-v.exited
	}
	v.cmd = nil
}

func (v *vaultProc) rawClient(t *testing.T) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = v.Addr
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.ClearToken()
	c.ClearNamespace()
	return c
}

// client is an API client holding the root token.
func (v *vaultProc) client(t *testing.T) *api.Client {
	t.Helper()
	c := v.rawClient(t)
	c.SetToken(v.Token)
	return c
}

// cliEnv is the environment of the vault CLI and of patinject: the token travels in VAULT_TOKEN,
// never in argv.
func (v *vaultProc) cliEnv(home string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "VAULT_ADDR=" + v.Addr, "VAULT_TOKEN=" + v.Token}
}

// vault runs the vault CLI with stdin and returns its stdout, stderr and exit code.
func (v *vaultProc) vault(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(v.bin, args...)
	cmd.Env = v.cliEnv(v.dir)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// mustVault runs the vault CLI and fails the test unless it succeeds.
func (v *vaultProc) mustVault(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := v.vault(t, stdin, args...)
	if code != 0 {
		t.Fatalf("vault %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// cliSecret is what `vault read -format=json` prints.
type cliSecret struct {
	LeaseID       string         `json:"lease_id"`
	LeaseDuration int            `json:"lease_duration"`
	Renewable     bool           `json:"renewable"`
	Data          map[string]any `json:"data"`
	Warnings      []string       `json:"warnings"`
}

// str is a string field of the data.
func (s cliSecret) str(k string) string {
	v, _ := s.Data[k].(string)
	return v
}

func (v *vaultProc) readJSON(t *testing.T, path string) cliSecret {
	t.Helper()
	var s cliSecret
	out := v.mustVault(t, "", "read", "-format=json", path)
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("vault read %s: %v", path, err)
	}
	return s
}

// registerPlugin registers the plugin in the catalog of a non-dev server by its SHA-256.
func (v *vaultProc) registerPlugin(t *testing.T, pluginDir string) {
	t.Helper()
	f, err := os.Open(filepath.Join(pluginDir, pluginName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	err = v.client(t).Sys().RegisterPluginWithContext(context.Background(), &api.RegisterPluginInput{
		Name: pluginName, Type: api.PluginTypeSecrets, Command: pluginName, SHA256: hex.EncodeToString(h.Sum(nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
