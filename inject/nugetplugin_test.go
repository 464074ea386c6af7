package inject

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patinject/patinject/secret"
)

// nugetPeer plays NuGet's side of the plugin protocol against a NuGetPlugin served in the test.
type nugetPeer struct {
	t    *testing.T
	in   *io.PipeWriter // NuGet's requests
	out  *bufio.Scanner // the plugin's messages
	done chan error
}

func startNuGetPeer(t *testing.T, p NuGetPlugin) *nugetPeer {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	peer := &nugetPeer{t: t, in: inW, out: bufio.NewScanner(outR), done: make(chan error, 1)}
	go func() {
		err := p.Serve(context.Background(), inR, outW)
		outW.Close()
		peer.done <- err
	}()
	t.Cleanup(func() { inW.Close(); outR.Close() })
	return peer
}

func (n *nugetPeer) send(id, typ, method, payload string) {
	n.t.Helper()
	m := `{"RequestId":"` + id + `","Type":"` + typ + `","Method":"` + method + `"`
	if payload != "" {
		m += `,"Payload":` + payload
	}
	if _, err := io.WriteString(n.in, m+"}\n"); err != nil {
		n.t.Fatal(err)
	}
}

// next reads the plugin's next message; each must be one line of JSON.
func (n *nugetPeer) next() (m struct {
	RequestID string `json:"RequestId"`
	Type      string
	Method    string
	Payload   map[string]any
}) {
	n.t.Helper()
	if !n.out.Scan() {
		n.t.Fatalf("the plugin said nothing more (%v)", n.out.Err())
	}
	if err := json.Unmarshal(n.out.Bytes(), &m); err != nil {
		n.t.Fatalf("not a JSON line: %q: %v", n.out.Text(), err)
	}
	return m
}

// The exchange NuGet 5.8 has with an authentication plugin, message by message as
// NuGet.Protocol's Plugins/Messages spell them: the symmetric handshake, Initialize, the
// source-agnostic GetOperationClaims, then credentials for a source it serves and NotFound for
// one it does not, and Close.
func TestNuGetPluginProtocol(t *testing.T) {
	calls := 0
	n := startNuGetPeer(t, NuGetPlugin{
		Sources: []string{"https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/index.json"},
		Password: func(context.Context) (secret.Value, error) {
			calls++
			return secret.NewValue("fresh-token-1"), nil
		},
	})
	hs := n.next()
	if hs.Type != "Request" || hs.Method != "Handshake" || hs.Payload["ProtocolVersion"] != "2.0.0" || hs.Payload["MinimumProtocolVersion"] != "2.0.0" {
		t.Fatalf("the plugin's own handshake: %+v", hs)
	}
	n.send(hs.RequestID, "Response", "Handshake", `{"ResponseCode":"Success","ProtocolVersion":"2.0.0"}`)
	n.send("a1", "Request", "Handshake", `{"ProtocolVersion":"2.0.0","MinimumProtocolVersion":"1.0.0"}`)
	if m := n.next(); m.RequestID != "a1" || m.Type != "Response" || m.Payload["ResponseCode"] != "Success" || m.Payload["ProtocolVersion"] != "2.0.0" {
		t.Fatalf("handshake answer: %+v", m)
	}
	n.send("a2", "Request", "Initialize", `{"ClientVersion":"5.8.0","Culture":"en-US","RequestTimeout":"00:00:05"}`)
	if m := n.next(); m.RequestID != "a2" || m.Payload["ResponseCode"] != "Success" {
		t.Fatalf("initialize: %+v", m)
	}
	n.send("a3", "Request", "GetOperationClaims", `{}`)
	if m := n.next(); m.RequestID != "a3" || len(m.Payload["Claims"].([]any)) != 1 || m.Payload["Claims"].([]any)[0] != "Authentication" {
		t.Fatalf("claims: %+v", m)
	}
	n.send("a4", "Request", "GetOperationClaims", `{"PackageSourceRepository":"https://example.invalid/index.json","ServiceIndex":{}}`)
	if m := n.next(); len(m.Payload["Claims"].([]any)) != 0 {
		t.Fatalf("claims for a source (patinject serves no packages): %+v", m)
	}
	n.send("a5", "Request", "SetLogLevel", `{"LogLevel":"Minimal"}`)
	if m := n.next(); m.Payload["ResponseCode"] != "Success" {
		t.Fatalf("log level: %+v", m)
	}
	n.send("a6", "Request", "GetAuthenticationCredentials", `{"Uri":"https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/index.json","IsRetry":true,"IsNonInteractive":true,"CanShowDialog":false}`)
	m := n.next()
	if m.RequestID != "a6" || m.Payload["ResponseCode"] != "Success" || m.Payload["Username"] != DefaultUsername || m.Payload["Password"] != "fresh-token-1" {
		t.Fatalf("credentials: %+v", m)
	}
	if types := m.Payload["AuthenticationTypes"].([]any); len(types) != 1 || types[0] != "basic" {
		t.Errorf("authentication types %v, want basic only (no NTLM or Negotiate with a token)", types)
	}
	n.send("a7", "Request", "GetAuthenticationCredentials", `{"Uri":"https://api.nuget.org/v3/index.json","IsRetry":false,"IsNonInteractive":true,"CanShowDialog":false}`)
	if m := n.next(); m.Payload["ResponseCode"] != "NotFound" || m.Payload["Password"] != nil {
		t.Fatalf("another source: %+v", m)
	}
	n.send("a8", "Request", "CopyNupkgFile", `{}`)
	if m := n.next(); m.Type != "Fault" || m.RequestID != "a8" {
		t.Fatalf("an unhandled request: %+v", m)
	}
	n.send("a9", "Request", "Close", "")
	if err := <-n.done; err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("the token was fetched %d times, want once (only for the served source)", calls)
	}
}

// A handshake whose versions do not meet 2.0.0 is refused; the end of stdin ends the plugin.
func TestNuGetPluginOldClient(t *testing.T) {
	n := startNuGetPeer(t, NuGetPlugin{Password: func(context.Context) (secret.Value, error) { return secret.Value{}, nil }})
	n.next()
	n.send("h", "Request", "Handshake", `{"ProtocolVersion":"1.0.0","MinimumProtocolVersion":"1.0.0"}`)
	if m := n.next(); m.Payload["ResponseCode"] != "Error" {
		t.Fatalf("a 1.0.0 client: %+v", m)
	}
	n.in.Close()
	if err := <-n.done; err != nil {
		t.Fatal(err)
	}
}

// A token that takes long to come sends Progress within NuGet's request timeout; a failure is
// an Error response that tells what failed and holds no token.
func TestNuGetPluginSlowAndFailing(t *testing.T) {
	release := make(chan struct{})
	fail := errors.New("a fresh token for entra://t: AADSTS70021: no matching federated identity record")
	first := true
	var warned []string
	n := startNuGetPeer(t, NuGetPlugin{
		Warn:     func(s string) { warned = append(warned, s) },
		Sources:  []string{"http://127.0.0.1:8080/v3/index.json"},
		Progress: 20 * time.Millisecond,
		Password: func(context.Context) (secret.Value, error) {
			if first {
				first = false
				<-release
				return secret.NewValue("late-token"), nil
			}
			return secret.Value{}, fail
		},
	})
	n.next()
	n.send("c1", "Request", "GetAuthenticationCredentials", `{"Uri":"http://127.0.0.1:8080/v3/index.json","IsRetry":false,"IsNonInteractive":true,"CanShowDialog":false}`)
	if m := n.next(); m.Type != "Progress" || m.RequestID != "c1" {
		t.Fatalf("want Progress while the token is pending, got %+v", m)
	}
	close(release)
	for {
		m := n.next()
		if m.Type == "Progress" {
			continue
		}
		if m.Payload["Password"] != "late-token" {
			t.Fatalf("credentials: %+v", m)
		}
		break
	}
	n.send("c2", "Request", "GetAuthenticationCredentials", `{"Uri":"http://127.0.0.1:8080/v3/index.json","IsRetry":true,"IsNonInteractive":true,"CanShowDialog":false}`)
	m := n.next()
	if m.Payload["ResponseCode"] != "Error" || !strings.Contains(m.Payload["Message"].(string), "AADSTS70021") || m.Payload["Password"] != nil {
		t.Fatalf("a failed exchange: %+v", m)
	}
	if len(warned) != 1 || warned[0] != fail.Error() {
		t.Errorf("warned %q, want the failure once", warned)
	}
}

// Which URIs the plugin answers for: a source, its directory's other documents, nothing on
// another scheme, host, port or path, and nothing for a bare host.
func TestNuGetPluginServes(t *testing.T) {
	p := NuGetPlugin{Sources: []string{"https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/index.json", "http://127.0.0.1:8080/v3/index.json"}}
	for uri, want := range map[string]bool{
		"https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/index.json":                         true,
		"https://PKGS.dev.azure.com:443/contoso/_packaging/feed/nuget/v3/index.json":                     true,
		"https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/flat2/x":                            true,
		"https://pkgs.dev.azure.com/contoso/_packaging/other/nuget/v3/index.json":                        false,
		"http://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/index.json":                          false,
		"https://evil.example/contoso/_packaging/feed/nuget/v3/index.json":                               false,
		"http://127.0.0.1:8080/v3/index.json":                                                            true,
		"http://127.0.0.1:8081/v3/index.json":                                                            false,
		"http://127.0.0.1:8080/other/index.json":                                                         false,
		"not a url":                                                                                      false,
		"https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/../../../other/nuget/v3/index.json": false,
		"https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/%2e%2e/%2e%2e/%2e%2e/other/x":       false,
		"https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/index.json/":                        true,
	} {
		if got := p.serves(uri); got != want {
			t.Errorf("serves(%q) = %v, want %v", uri, got, want)
		}
	}
	root := NuGetPlugin{Sources: []string{"http://feed.example/index.json"}}
	if !root.serves("http://feed.example/index.json") || root.serves("http://feed.example/other.json") {
		t.Errorf("a source at the root of a host serves only itself")
	}
}

// The plan: a launcher that runs patinject's nuget-plugin with its configuration, 0700 in a
// directory of its own; NUGET_NETFX_PLUGIN_PATHS with the launcher first and the plugins NuGet
// would otherwise have run after it; under run the launcher's directory first on PATH; under
// inject a token cache; no secret in the configuration or the launcher.
func TestNuGetPluginPlan(t *testing.T) {
	home := t.TempDir()
	aacp := filepath.Join(home, ".nuget", "plugins", "netfx", "CredentialProvider.Microsoft", "CredentialProvider.Microsoft.exe")
	os.MkdirAll(filepath.Dir(aacp), 0o755)
	os.WriteFile(aacp, nil, 0o755)
	env := map[string]string{"HOME": home, "PATH": "/usr/bin:/bin"}
	base := Config{
		Token: secret.NewValue("the-entra-token"), TokenKind: Bearer, TokenExpiry: time.Unix(2000000000, 0),
		Values: map[string][]string{"nuget": {"https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/index.json"}},
		Self:   "/opt/patinject/patinject", Dir: t.TempDir(), WorkDir: t.TempDir(), GOOS: "linux",
		Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}
	for _, mode := range []Mode{ModeRun, ModeCI} {
		c := base
		c.Mode = mode
		c.NuGetRefresh = []string{"--socket", filepath.Join(c.Dir, "credential.sock")}
		if mode == ModeCI {
			c.NuGetRefresh = []string{"--refresh", "entra://contoso?client_id=app"}
		}
		p, err := nugetPlan(c)
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]File{}
		for _, f := range p.Files {
			files[filepath.Base(f.Path)] = f
		}
		l, ok := files[NuGetPluginName]
		if !ok || !l.Exec || filepath.Dir(l.Path) != filepath.Join(c.Dir, "bin") {
			t.Fatalf("mode %d: no launcher in bin/: %+v", mode, files)
		}
		if !strings.HasPrefix(l.Content.Reveal(), "#!/bin/sh\n") || !strings.Contains(l.Content.Reveal(), `exec '/opt/patinject/patinject' nuget-plugin --config '`+filepath.Join(c.Dir, "nuget-plugin.json")+`' "$@"`) {
			t.Errorf("launcher:\n%s", l.Content.Reveal())
		}
		var cfg NuGetPluginConfig
		if err := json.Unmarshal([]byte(files["nuget-plugin.json"].Content.Reveal()), &cfg); err != nil {
			t.Fatal(err)
		}
		for name, f := range map[string]File{"launcher": l, "config": files["nuget-plugin.json"]} {
			if strings.Contains(f.Content.Reveal(), "the-entra-token") || f.Secret {
				t.Errorf("mode %d: the %s holds the token or is marked secret", mode, name)
			}
		}
		vars := map[string]string{}
		for _, e := range p.Env {
			vars[e.Name] = e.Value.Reveal()
		}
		if vars["NUGET_PLUGINS_CACHE_PATH"] != filepath.Join(c.Dir, "nuget-plugins-cache") {
			t.Errorf("mode %d: NUGET_PLUGINS_CACHE_PATH=%q, want it in the private directory", mode, vars["NUGET_PLUGINS_CACHE_PATH"])
		}
		if want := l.Path + ";" + aacp; vars["NUGET_NETFX_PLUGIN_PATHS"] != want {
			t.Errorf("mode %d: NUGET_NETFX_PLUGIN_PATHS=%q, want %q", mode, vars["NUGET_NETFX_PLUGIN_PATHS"], want)
		}
		switch mode {
		case ModeRun:
			if cfg.Socket == "" || cfg.Refresh != "" || cfg.Token != "" {
				t.Errorf("run's plugin config: %+v", cfg)
			}
			if vars["PATH"] != filepath.Join(c.Dir, "bin")+":/usr/bin:/bin" {
				t.Errorf("PATH=%q", vars["PATH"])
			}
		case ModeCI:
			if cfg.Refresh != "entra://contoso?client_id=app" || cfg.Token == "" || cfg.Socket != "" {
				t.Errorf("inject's plugin config: %+v", cfg)
			}
			tok := files[filepath.Base(cfg.Token)]
			if !tok.Secret || tok.Content.Reveal() != "the-entra-token\nexpiry=2000000000\n" {
				t.Errorf("inject's token cache: %+v", tok)
			}
			if _, ok := vars["PATH"]; ok {
				t.Errorf("inject set PATH as a variable")
			}
			if len(p.Path) != 1 || p.Path[0] != filepath.Join(c.Dir, "bin") {
				t.Errorf("inject's PATH for the later steps: %q", p.Path)
			}
		}
		if cfg.Sources[0] != base.Values["nuget"][0] || cfg.Username != DefaultUsername {
			t.Errorf("config: %+v", cfg)
		}
	}

	// The user's own plugin variable comes after the launcher; a token that does not refresh
	// installs no plugin; Windows gets a .bat launcher.
	env["NUGET_PLUGIN_PATHS"] = "/opt/other/plugin.exe"
	c := base
	c.NuGetRefresh = []string{"--socket", "/x/credential.sock"}
	p, _ := nugetPlan(c)
	for _, e := range p.Env {
		if e.Name == "NUGET_NETFX_PLUGIN_PATHS" && !strings.HasSuffix(e.Value.Reveal(), ";/opt/other/plugin.exe") {
			t.Errorf("NUGET_NETFX_PLUGIN_PATHS=%q drops the user's NUGET_PLUGIN_PATHS", e.Value.Reveal())
		}
	}
	c.NuGetRefresh = nil
	p, _ = nugetPlan(c)
	for _, e := range p.Env {
		if e.Name == "NUGET_NETFX_PLUGIN_PATHS" {
			t.Errorf("a plugin for a token that does not refresh")
		}
	}
	c = base
	c.GOOS, c.Self, c.Dir = "windows", `C:\tools\patinject.exe`, `C:\Temp\patinject-1`
	c.NuGetRefresh = []string{"--socket", `C:\Temp\patinject-1\credential.sock`}
	p, err := nugetPlan(c)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range p.Files {
		if strings.HasSuffix(f.Path, NuGetPluginName+".bat") {
			found = true
			if want := `@"C:\tools\patinject.exe" nuget-plugin --config "` + filepath.Join(c.Dir, "nuget-plugin.json") + `" %*` + "\r\n"; f.Content.Reveal() != want {
				t.Errorf("bat launcher %q, want %q", f.Content.Reveal(), want)
			}
		}
	}
	if !found {
		t.Errorf("no .bat launcher on Windows")
	}
}
