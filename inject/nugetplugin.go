package inject

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/patinject/patinject/secret"
)

// NuGetPlugin is patinject acting as a NuGet cross-platform authentication plugin (NuGet 4.8+,
// protocol 2.0.0; the protocol the Azure Artifacts credential provider speaks): NuGet starts
// the plugin with -Plugin and the two exchange one JSON message per line on the plugin's stdin
// and stdout. Both sides send a Handshake request and answer the other's; NuGet then sends
// Initialize, GetOperationClaims (the answer is the Authentication claim), SetLogLevel,
// MonitorNuGetProcessExit, and, each time a source answers 401, GetAuthenticationCredentials
// with the source's URI. The plugin answers with the user name and the token for the sources
// it serves, read when asked (so a long job gets a token refreshed before expiry), and NotFound
// for any other URI. Close, or the end of stdin, ends it.
//
// Message: {"RequestId":ID,"Type":"Request"|"Response"|"Progress"|"Fault"|"Cancel",
// "Method":NAME,"Payload":{...}}; enums are strings, property names as NuGet's classes spell them
// (NuGet.Protocol/Plugins/Messages, Newtonsoft with StringEnumConverter, nulls left out).
type NuGetPlugin struct {
	Sources  []string // the --nuget source URLs (v3 index) it answers for
	Username string
	Password func(ctx context.Context) (secret.Value, error)
	// Warn, when set, is told why a token could not be had: NuGet drops the message of an
	// Error response and reports only the 401, so the plugin says it on stderr (which NuGet
	// does not redirect) as well.
	Warn func(string)
	// Progress is how often a pending answer tells NuGet it is still working (NuGet's request
	// timeout is 5 s unless Initialize says otherwise); zero: a third of that timeout.
	Progress time.Duration
}

// nugetMessage is one line of the protocol.
type nugetMessage struct {
	RequestID string          `json:"RequestId"`
	Type      string          `json:"Type"`
	Method    string          `json:"Method"`
	Payload   json.RawMessage `json:"Payload,omitempty"`
}

// nugetProtocolVersion is the version patinject speaks; 2.0.0 is the least an authentication
// plugin needs (1.0.0 has no GetAuthenticationCredentials).
const nugetProtocolVersion = "2.0.0"

// Serve speaks the protocol on in and out until Close, the end of in, or ctx is done.
func (p NuGetPlugin) Serve(ctx context.Context, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &nugetSession{p: p, out: out, timeout: 5 * time.Second, pending: map[string]context.CancelFunc{}}
	// Our half of the symmetric handshake; NuGet's answer comes back as a Response we need not
	// act on (NuGet ends the connection if the versions do not meet).
	if err := s.send(nugetMessage{RequestID: "patinject-handshake", Type: "Request", Method: "Handshake",
		Payload: mustJSON(map[string]string{"ProtocolVersion": nugetProtocolVersion, "MinimumProtocolVersion": nugetProtocolVersion})}); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	var wg sync.WaitGroup
	defer wg.Wait()
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var m nugetMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return fmt.Errorf("nuget-plugin: a message from NuGet is not JSON: %v", err)
		}
		switch m.Type {
		case "Request":
			if m.Method == "Close" {
				return nil
			}
			rctx, rcancel := context.WithCancel(ctx)
			s.track(m.RequestID, rcancel)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer s.done(m.RequestID)
				s.answer(rctx, m)
			}()
		case "Cancel":
			s.cancel(m.RequestID)
		}
	}
	return sc.Err()
}

type nugetSession struct {
	p       NuGetPlugin
	mu      sync.Mutex // guards out, timeout and pending
	out     io.Writer
	timeout time.Duration
	pending map[string]context.CancelFunc
}

func (s *nugetSession) send(m nugetMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err = s.out.Write(append(b, '\n'))
	return err
}

func (s *nugetSession) track(id string, cancel context.CancelFunc) {
	s.mu.Lock()
	s.pending[id] = cancel
	s.mu.Unlock()
}

func (s *nugetSession) done(id string) {
	s.mu.Lock()
	if c, ok := s.pending[id]; ok {
		c()
		delete(s.pending, id)
	}
	s.mu.Unlock()
}

func (s *nugetSession) cancel(id string) {
	s.mu.Lock()
	c := s.pending[id]
	s.mu.Unlock()
	if c != nil {
		c()
	}
}

func (s *nugetSession) respond(m nugetMessage, payload any) {
	_ = s.send(nugetMessage{RequestID: m.RequestID, Type: "Response", Method: m.Method, Payload: mustJSON(payload)})
}

func responseCode(code string) map[string]string { return map[string]string{"ResponseCode": code} }

// answer handles one request from NuGet.
func (s *nugetSession) answer(ctx context.Context, m nugetMessage) {
	switch m.Method {
	case "Handshake":
		var req struct{ ProtocolVersion, MinimumProtocolVersion string }
		_ = json.Unmarshal(m.Payload, &req)
		if versionLess(req.ProtocolVersion, nugetProtocolVersion) || versionLess(nugetProtocolVersion, req.MinimumProtocolVersion) {
			s.respond(m, responseCode("Error"))
			return
		}
		s.respond(m, map[string]string{"ResponseCode": "Success", "ProtocolVersion": nugetProtocolVersion})
	case "Initialize":
		var req struct{ RequestTimeout string }
		_ = json.Unmarshal(m.Payload, &req)
		if d, ok := parseTimeSpan(req.RequestTimeout); ok {
			s.mu.Lock()
			s.timeout = d
			s.mu.Unlock()
		}
		s.respond(m, responseCode("Success"))
	case "GetOperationClaims":
		// Asked once without a source ("source-agnostic"), which is how NuGet looks for
		// authentication plugins; with a source, patinject claims nothing (it serves no packages).
		var req struct {
			PackageSourceRepository string
			ServiceIndex            json.RawMessage
		}
		_ = json.Unmarshal(m.Payload, &req)
		claims := []string{}
		if req.PackageSourceRepository == "" && len(req.ServiceIndex) == 0 {
			claims = append(claims, "Authentication")
		}
		s.respond(m, map[string][]string{"Claims": claims})
	case "SetLogLevel", "MonitorNuGetProcessExit", "SetCredentials":
		s.respond(m, responseCode("Success"))
	case "GetAuthenticationCredentials":
		s.credentials(ctx, m)
	default:
		_ = s.send(nugetMessage{RequestID: m.RequestID, Type: "Fault", Method: m.Method,
			Payload: mustJSON(map[string]string{"Message": "patinject's NuGet plugin does not handle " + m.Method})})
	}
}

// credentials answers GetAuthenticationCredentials: the token for a source it serves, with
// Progress messages while a fresh one is being fetched, NotFound for any other URI, and Error
// (with a message that names no secret) when the token cannot be had.
func (s *nugetSession) credentials(ctx context.Context, m nugetMessage) {
	var req struct {
		URI string `json:"Uri"`
	}
	_ = json.Unmarshal(m.Payload, &req)
	if !s.p.serves(req.URI) {
		s.respond(m, responseCode("NotFound"))
		return
	}
	s.mu.Lock()
	every := s.p.Progress
	if every <= 0 {
		every = s.timeout / 3
	}
	s.mu.Unlock()
	type result struct {
		v   secret.Value
		err error
	}
	got := make(chan result, 1)
	go func() {
		v, err := s.p.Password(ctx)
		got <- result{v, err}
	}()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			_ = s.send(nugetMessage{RequestID: m.RequestID, Type: "Progress", Method: m.Method, Payload: json.RawMessage(`{}`)})
			continue
		case <-ctx.Done():
			return // cancelled by NuGet, or the session ended
		case r := <-got:
			if r.err == nil && r.v.IsZero() {
				r.err = errors.New("the token is empty")
			}
			if r.err != nil {
				if s.p.Warn != nil {
					s.p.Warn(r.err.Error())
				}
				s.respond(m, map[string]string{"ResponseCode": "Error", "Message": "patinject: " + r.err.Error()})
				return
			}
			s.respond(m, map[string]any{"ResponseCode": "Success", "Username": s.p.username(),
				"Password": r.v.Reveal(), "AuthenticationTypes": []string{"basic"}})
			return
		}
	}
}

func (p NuGetPlugin) username() string {
	if p.Username != "" {
		return p.Username
	}
	return DefaultUsername
}

// serves reports whether the URI NuGet asks for (the source's URL, as NuGet passes it) is one
// of the sources, or lies in the same directory as one (the index.json's siblings): same scheme,
// host and port, compared as URLs are.
func (p NuGetPlugin) serves(raw string) bool {
	u, err := httpURL("nuget-plugin", raw)
	if err != nil {
		return false
	}
	for _, s := range p.Sources {
		src, err := httpURL("--nuget", s)
		if err != nil || src.Scheme != u.Scheme || src.Host != u.Host {
			continue
		}
		// Dot segments resolved first ("/a/../b" is "/b"), as a client resolves them before
		// it sends anything.
		sp, up := path.Clean("/"+src.Path), path.Clean("/"+u.Path)
		dir := path.Dir(sp) + "/"
		if up == sp || (dir != "/" && strings.HasPrefix(up, dir)) {
			return true
		}
	}
	return false
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// versionLess compares "MAJOR.MINOR.PATCH" versions; an unreadable one counts as 0.0.0.
func versionLess(a, b string) bool {
	pa, pb := versionParts(a), versionParts(b)
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return false
}

func versionParts(v string) [3]int {
	var out [3]int
	v, _, _ = strings.Cut(v, "-")
	for i, f := range strings.SplitN(v, ".", 3) {
		n := 0
		for _, c := range f {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		out[i] = n
	}
	return out
}

// parseTimeSpan reads a .NET TimeSpan as Newtonsoft writes it: [d.]hh:mm:ss[.fffffff].
func parseTimeSpan(s string) (time.Duration, bool) {
	var days int
	if d, rest, ok := strings.Cut(s, "."); ok && !strings.Contains(d, ":") {
		fmt.Sscanf(d, "%d", &days)
		s = rest
	}
	var h, m int
	var sec float64
	if n, _ := fmt.Sscanf(s, "%d:%d:%g", &h, &m, &sec); n != 3 {
		return 0, false
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec*float64(time.Second))
	return d, d > 0
}

// NuGetPluginConfig is what the plugin reads from the file its launcher names: which sources it
// answers for, and where the refreshed token comes from. It holds no secret.
type NuGetPluginConfig struct {
	Sources  []string `json:"sources"`
	Username string   `json:"username"`
	Socket   string   `json:"socket,omitempty"`     // run: ask the running patinject
	Refresh  string   `json:"refresh,omitempty"`    // inject: exchange REF again ...
	Token    string   `json:"token_file,omitempty"` // ... caching the token in this file,
	// ... reaching the identity as inject did (the variables it saw, frontdoor.RefreshFrom)
	RefreshEnv string `json:"refresh_env,omitempty"`
}

// NuGetPluginName is the launcher's name: NuGet 6.13+ (dotnet) runs an executable named
// nuget-plugin-* that it finds on PATH, as a native process; NuGet.exe, MSBuild and Visual
// Studio run the file NUGET_NETFX_PLUGIN_PATHS names.
const NuGetPluginName = "nuget-plugin-patinject"

// nugetPluginPlan installs patinject as NuGet's authentication plugin for the run or the later
// steps, so that a NuGet that meets a 401 after the token in its configuration expired asks the
// plugin and gets a fresh one:
//
//   - a launcher, bin/nuget-plugin-patinject (a sh script; nuget-plugin-patinject.bat on
//     Windows), that runs `patinject nuget-plugin --config FILE` with NuGet's -Plugin argument;
//   - FILE, nuget-plugin.json, and under inject the plugin's token cache;
//   - NUGET_NETFX_PLUGIN_PATHS: the launcher, then the plugins NuGet would otherwise have found
//     (the variable's value, else NUGET_PLUGIN_PATHS, else the convention directory
//     ~/.nuget/plugins/netfx/NAME/NAME.exe), so a credential provider the user installed still
//     serves the other sources;
//   - NUGET_PLUGINS_CACHE_PATH in the private directory (NuGet would keep a directory per
//     launcher path, so one per run, in ~/.local/share/NuGet/plugins-cache);
//   - the launcher's directory first on PATH, where dotnet 6.13+ finds it: under run in CMD's
//     environment, after inject through the platform (GITHUB_PATH, task.prependpath).
//
// The channels above (variables, NuGet.Config) still carry the first token: a NuGet without
// plugin support works until it expires.
func nugetPluginPlan(c Config, sources []nugetSource) (Plan, error) {
	if !c.absPath(c.Self) {
		return Plan{}, fmt.Errorf("--nuget: the absolute path of the patinject executable is unknown, so NuGet could not run it as its plugin")
	}
	cfg := NuGetPluginConfig{Username: c.username()}
	for _, s := range sources {
		cfg.Sources = append(cfg.Sources, s.url)
	}
	for i := 0; i+1 < len(c.NuGetRefresh); i += 2 {
		switch c.NuGetRefresh[i] {
		case "--socket":
			cfg.Socket = c.NuGetRefresh[i+1]
		case "--refresh":
			cfg.Refresh = c.NuGetRefresh[i+1]
		case "--refresh-env":
			cfg.RefreshEnv = c.NuGetRefresh[i+1]
		}
	}
	var p Plan
	if c.Mode == ModeCI {
		cfg.Token = filepath.Join(c.Dir, "nuget-plugin-token")
		p.Files = append(p.Files, File{Path: cfg.Token, Content: TokenCache(c.Token, c.TokenExpiry, time.Time{}), Secret: true})
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return Plan{}, err
	}
	config := filepath.Join(c.Dir, "nuget-plugin.json")
	p.Files = append(p.Files, File{Path: config, Content: secret.NewValue(string(b) + "\n")})

	bin := filepath.Join(c.Dir, "bin")
	var launcher, content string
	if c.goos() == "windows" {
		launcher = filepath.Join(bin, NuGetPluginName+".bat")
		for _, s := range []string{c.Self, config} {
			if strings.ContainsAny(s, "\"%^&|<>\r\n") {
				return Plan{}, fmt.Errorf("--nuget: the path %q holds a character a .bat file cannot quote; NuGet's plugin cannot be installed", s)
			}
		}
		content = "@\"" + c.Self + "\" nuget-plugin --config \"" + config + "\" %*\r\n"
	} else {
		launcher = filepath.Join(bin, NuGetPluginName)
		content = "#!/bin/sh\n# patinject's NuGet authentication plugin; removed with the directory it is in\nexec " +
			sqQuote(c.Self) + " nuget-plugin --config " + sqQuote(config) + " \"$@\"\n"
	}
	p.Files = append(p.Files, File{Path: launcher, Content: secret.NewValue(content), Exec: true})

	paths := []string{launcher}
	if others := c.nugetOtherPlugins(); others != "" {
		paths = append(paths, others)
	}
	p.Env = append(p.Env, EnvVar{Name: "NUGET_NETFX_PLUGIN_PATHS", Value: secret.NewValue(strings.Join(paths, ";"))},
		// NuGet caches each plugin's claims in a directory named by a hash of its path, which
		// is new every run: kept in the private directory, the cache goes with it.
		EnvVar{Name: "NUGET_PLUGINS_CACHE_PATH", Value: secret.NewValue(filepath.Join(c.Dir, "nuget-plugins-cache"))})
	if c.Mode == ModeCI {
		p.Path = append(p.Path, bin)
	} else {
		sep := ":"
		if c.goos() == "windows" {
			sep = ";"
		}
		path := bin
		if old, ok := c.lookup("PATH"); ok && old != "" {
			path += sep + old
		}
		p.Env = append(p.Env, EnvVar{Name: "PATH", Value: secret.NewValue(path)})
	}
	return p, nil
}

// absPath reports whether p is absolute on the system the tools run on.
func (c Config) absPath(p string) bool {
	if c.goos() == "windows" {
		return len(p) > 2 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') || strings.HasPrefix(p, `\\`)
	}
	return strings.HasPrefix(p, "/")
}

// nugetOtherPlugins is what NuGet.exe would have run without patinject's plugin:
// NUGET_NETFX_PLUGIN_PATHS, else NUGET_PLUGIN_PATHS, else the .exe plugins of the convention
// directory (~/.nuget/plugins/netfx/NAME/NAME.exe).
func (c Config) nugetOtherPlugins() string {
	for _, name := range []string{"NUGET_NETFX_PLUGIN_PATHS", "NUGET_PLUGIN_PATHS"} {
		if v, ok := c.lookup(name); ok && strings.Trim(v, "; ") != "" {
			return v
		}
	}
	home, _ := c.lookup("HOME")
	if c.goos() == "windows" {
		home, _ = c.lookup("USERPROFILE")
	}
	if home == "" {
		return ""
	}
	dir := filepath.Join(home, ".nuget", "plugins", "netfx")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var found []string
	for _, e := range entries {
		exe := filepath.Join(dir, e.Name(), e.Name()+".exe")
		if st, err := os.Stat(exe); err == nil && st.Mode().IsRegular() {
			found = append(found, exe)
		}
	}
	return strings.Join(found, ";")
}
