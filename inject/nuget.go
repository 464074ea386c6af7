package inject

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/patinject/patinject/internal/platform"
	"github.com/patinject/patinject/msgsafe"
	"github.com/patinject/patinject/secret"
)

// NuGet: the channels NuGet documents, in the order it consults them on a 401.
//
//   - NuGetPackageSourceCredentials_<source name> =
//     Username=USER;Password=TOKEN;ValidAuthenticationTypes=basic, a secret variable, for every
//     source whose name can be a variable name (letters, digits, '_', '-', '.'). The name is the
//     one given (--nuget NAME=URL), else the name the user's NuGet.Config files give the URL (the
//     working directory upward, then ~/.nuget/NuGet/NuGet.Config, where dotnet looks, and
//     ~/.config/NuGet/NuGet.Config, where NuGet.exe on mono looks). NuGet.exe 5.8 reads the
//     ValidAuthenticationTypes field (its regex has the group, and a restore with it succeeds;
//     clients older than that group would take it as part of the password); basic keeps a server
//     that also offers NTLM or Negotiate (Azure DevOps Server) from being answered with those.
//     A name with '-' or '.' also gets the config file below: POSIX sh (dash) drops such a
//     variable from the environment it passes on. For `inject` such a name gets only the file,
//     since CI platforms take letters, digits and '_' alone (on Azure Pipelines a secret variable
//     reaches a script only when mapped, and under a name in upper case, which NuGet on Linux
//     would not find either).
//   - A NuGet.Config in the private directory, named by PATINJECT_NUGET_CONFIG, when a source is
//     not in the user's config (a bare URL, named patinject_HOST_PORT), when its name is more
//     than letters, digits and '_' (a space, a hyphen), and always for `inject` (ModeCI). It
//     holds the user's effective configuration (their files merged as NuGet merges them,
//     relative paths made absolute), the missing sources, and packageSourceCredentials for each:
//     Username, ClearTextPassword, ValidAuthenticationTypes=basic, the element named as
//     XmlConvert.EncodeLocalName does ("My Feed" as My_x0020_Feed). In ModeRun the password is
//     %PATINJECT_NUGET_PASSWORD%, which NuGet expands, so the file holds no secret; in ModeCI it
//     is the token. NuGet reads no variable naming a config file (none among the NUGET_* names
//     nuget-5.8.0.exe holds; dotnet documents none either), so the build passes it:
//     `nuget restore -ConfigFile "$PATINJECT_NUGET_CONFIG"`,
//     `dotnet restore --configfile "$PATINJECT_NUGET_CONFIG"`. Given a config file, NuGet reads
//     that one only (and the machine-wide ones), which is why it carries the user's own.
//   - ARTIFACTS_CREDENTIALPROVIDER_EXTERNAL_FEED_ENDPOINTS and its legacy name
//     VSS_NUGET_EXTERNAL_FEED_ENDPOINTS, secret variables for the Azure Artifacts credential
//     provider where it is installed: {"endpointCredentials":[{"endpoint":URL,"username":USER,
//     "password":TOKEN}]}, added to the entries the variable already has.

// NuGetConfigEnv names the NuGet.Config that patinject wrote, when it wrote one.
const NuGetConfigEnv = "PATINJECT_NUGET_CONFIG"

// NuGetPasswordEnv holds the token that the ModeRun NuGet.Config refers to.
const NuGetPasswordEnv = "PATINJECT_NUGET_PASSWORD"

var (
	nugetEnvSafe   = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	nugetCIEnvSafe = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	nugetEndpoints = []string{"ARTIFACTS_CREDENTIALPROVIDER_EXTERNAL_FEED_ENDPOINTS", "VSS_NUGET_EXTERNAL_FEED_ENDPOINTS"}
)

// nugetSource is one --nuget value, resolved to the source name NuGet knows it by.
type nugetSource struct {
	names []string // source keys for this URL (one, unless the user's config has it twice)
	url   string
	known bool // the user's config has it (otherwise our config adds it)
}

// NuGet is the --nuget tool.
var NuGet = Tool{
	Flag:    "nuget",
	Usage:   "NuGet package source (`URL` or NAME=URL of a v3 index)",
	Summary: "NuGet source",
	Scopes:  []string{"vso.packaging"},
	Check: func(v string) error {
		_, err := nugetSources([]string{v}, &nugetConfig{})
		return err
	},
	Plan: nugetPlan,
}

func nugetPlan(c Config) (Plan, error) {
	user := c.username()
	if strings.Contains(user, ";") {
		return Plan{}, fmt.Errorf("--nuget: the user name must not contain ';' (NuGet's credential variable separates fields with it)")
	}
	cfg, err := c.usersNuGetConfig()
	if err != nil {
		return Plan{}, err
	}
	sources, err := nugetSources(c.values("nuget"), cfg)
	if err != nil {
		return Plan{}, err
	}

	var p Plan
	needFile := c.Mode == ModeCI
	for _, s := range sources {
		if !s.known {
			needFile = true
		}
		for _, name := range s.names {
			if !nugetEnvSafe.MatchString(name) {
				needFile = true
				continue
			}
			if !nugetCIEnvSafe.MatchString(name) {
				// POSIX sh (dash) drops such a variable on its way to NuGet, silently, and the
				// CI platforms refuse it: the config file serves too.
				needFile = true
				if c.Mode == ModeCI {
					continue
				}
			}
			v := secret.NewValue("Username=" + user + ";Password=" + c.Token.Reveal() + ";ValidAuthenticationTypes=basic")
			p.Env = append(p.Env, EnvVar{Name: "NuGetPackageSourceCredentials_" + name, Value: v, Secret: true})
			p.Masks = append(p.Masks, v)
		}
	}

	for _, name := range nugetEndpoints {
		v, err := c.nugetEndpointsJSON(name, sources)
		if err != nil {
			return Plan{}, err
		}
		p.Env = append(p.Env, EnvVar{Name: name, Value: v, Secret: true})
		p.Masks = append(p.Masks, v)
	}

	if needFile {
		password := "%" + NuGetPasswordEnv + "%"
		if c.Mode == ModeCI {
			password = c.Token.Reveal()
		} else {
			p.Env = append(p.Env, EnvVar{Name: NuGetPasswordEnv, Value: c.Token, Secret: true})
		}
		for _, s := range sources {
			for _, name := range s.names {
				if !s.known {
					cfg.set("packageSources", addItem(name, s.url))
				}
				cfg.set("packageSourceCredentials", xmlNode{
					XMLName: xml.Name{Local: xmlEncodeLocalName(name)},
					Children: []xmlNode{
						addItem("Username", user),
						addItem("ClearTextPassword", password),
						addItem("ValidAuthenticationTypes", "basic"),
					},
				})
			}
		}
		content, err := cfg.marshal()
		if err != nil {
			return Plan{}, fmt.Errorf("--nuget: writing the NuGet.Config: %w", err)
		}
		file := filepath.Join(c.Dir, "NuGet.Config")
		p.Files = append(p.Files, File{Path: file, Content: secret.NewValue(content), Secret: c.Mode == ModeCI})
		p.Env = append(p.Env, EnvVar{Name: NuGetConfigEnv, Value: secret.NewValue(file)})
		if esc := xmlEscape(c.Token.Reveal()); esc != c.Token.Reveal() {
			p.Masks = append(p.Masks, secret.NewValue(esc))
		}
	}
	if len(c.NuGetRefresh) > 0 {
		q, err := nugetPluginPlan(c, sources)
		if err != nil {
			return Plan{}, err
		}
		p.Add(q)
	}
	return p, nil
}

// nugetSources resolves each --nuget value to the names NuGet knows the source by.
func nugetSources(values []string, cfg *nugetConfig) ([]nugetSource, error) {
	var out []nugetSource
	taken := map[string]bool{}
	for _, it := range cfg.items("packageSources") {
		taken[strings.ToLower(it.attr("key"))] = true
	}
	for _, raw := range values {
		name, rawURL := "", raw
		if n, u, ok := strings.Cut(raw, "="); ok && !strings.Contains(n, "/") {
			name, rawURL = strings.TrimSpace(n), strings.TrimSpace(u)
			if name == "" {
				return nil, fmt.Errorf("--nuget =%s: empty source name (NAME=URL)", msgsafe.URL(rawURL))
			}
		}
		u, err := httpURL("--nuget", rawURL)
		if err != nil {
			return nil, err
		}
		src := nugetSource{url: rawURL}
		if name != "" {
			src.names = []string{name}
			if have, ok := cfg.sourceURL(name); ok {
				if !sameNuGetURL(have, rawURL) {
					return nil, fmt.Errorf("--nuget %s=%s: your NuGet config has the source %q with another URL (%s); give that URL, or another name", name, msgsafe.URL(rawURL), name, msgsafe.URL(have))
				}
				src.known = true
			}
		} else {
			for _, it := range cfg.items("packageSources") {
				if sameNuGetURL(it.attr("value"), rawURL) {
					src.names = append(src.names, it.attr("key"))
				}
			}
			src.known = len(src.names) > 0
			if !src.known {
				src.names = []string{uniqueName(nugetDerivedName(u.Host), taken)}
			}
		}
		for _, n := range src.names {
			taken[strings.ToLower(n)] = true
		}
		out = append(out, src)
	}
	return out, nil
}

// nugetDerivedName names a source the user's config does not have: patinject_HOST[_PORT],
// letters, digits and '_' only, so that its credential variable gets through any shell.
func nugetDerivedName(host string) string {
	return "patinject_" + regexp.MustCompile(`[^A-Za-z0-9_]+`).ReplaceAllString(host, "_")
}

func uniqueName(name string, taken map[string]bool) string {
	n := name
	for i := 2; taken[strings.ToLower(n)]; i++ {
		n = fmt.Sprintf("%s-%d", name, i)
	}
	return n
}

func sameNuGetURL(a, b string) bool {
	return strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(b, "/"))
}

// nugetEndpointsJSON is the credential provider's variable: the entries it already has, ours
// replacing any for the same endpoint.
func (c Config) nugetEndpointsJSON(name string, sources []nugetSource) (secret.Value, error) {
	var doc map[string]any
	if old, ok := c.lookup(name); ok && strings.TrimSpace(old) != "" {
		if err := json.Unmarshal([]byte(old), &doc); err != nil {
			return secret.Value{}, fmt.Errorf("--nuget: %s in the environment is not the credential provider's JSON ({\"endpointCredentials\":[...]}); fix or unset it", name)
		}
	}
	if doc == nil {
		doc = map[string]any{}
	}
	var creds []any
	if old, ok := doc["endpointCredentials"].([]any); ok {
		for _, e := range old {
			m, _ := e.(map[string]any)
			ep, _ := m["endpoint"].(string)
			if !nugetCovers(sources, ep) {
				creds = append(creds, e)
			}
		}
	}
	for _, s := range sources {
		creds = append(creds, map[string]any{"endpoint": s.url, "username": c.username(), "password": c.Token.Reveal()})
	}
	doc["endpointCredentials"] = creds
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return secret.Value{}, fmt.Errorf("--nuget: encoding %s: %w", name, err)
	}
	return secret.NewValue(strings.TrimSuffix(b.String(), "\n")), nil
}

func nugetCovers(sources []nugetSource, endpoint string) bool {
	for _, s := range sources {
		if sameNuGetURL(s.url, endpoint) {
			return true
		}
	}
	return false
}

// usersNuGetConfig reads the NuGet.Config files NuGet would read in the working directory, in
// its order: the user-wide ones first, then each directory from the root down to the working
// directory, a nearer file overriding a farther one.
func (c Config) usersNuGetConfig() (*nugetConfig, error) {
	files := platform.NuGetUserConfigs(c.goos(), c.Lookup) // %APPDATA%\NuGet\NuGet.Config on Windows
	if c.WorkDir != "" {
		var dirs []string
		for d := filepath.Clean(c.WorkDir); ; d = filepath.Dir(d) {
			dirs = append(dirs, d)
			if filepath.Dir(d) == d {
				break
			}
		}
		for i := len(dirs) - 1; i >= 0; i-- {
			for _, name := range []string{"nuget.config", "NuGet.config", "NuGet.Config"} {
				f := filepath.Join(dirs[i], name)
				if _, err := os.Stat(f); err == nil {
					files = append(files, f)
					break
				}
			}
		}
	}
	cfg := &nugetConfig{}
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f] {
			continue
		}
		seen[f] = true
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("--nuget: reading %s to keep your sources: %w", f, err)
		}
		if err := cfg.merge(b, filepath.Dir(f)); err != nil {
			return nil, fmt.Errorf("--nuget: %s: %w", f, err)
		}
	}
	return cfg, nil
}

// xmlNode is an element of a NuGet.Config, kept as it was read.
type xmlNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []xmlNode  `xml:",any"`
}

func (n xmlNode) attr(name string) string {
	for _, a := range n.Attrs {
		if strings.EqualFold(a.Name.Local, name) {
			return a.Value
		}
	}
	return ""
}

func (n *xmlNode) setAttr(name, value string) {
	for i, a := range n.Attrs {
		if strings.EqualFold(a.Name.Local, name) {
			n.Attrs[i].Value = value
			return
		}
	}
	n.Attrs = append(n.Attrs, xml.Attr{Name: xml.Name{Local: name}, Value: value})
}

func addItem(key, value string) xmlNode {
	return xmlNode{XMLName: xml.Name{Local: "add"}, Attrs: []xml.Attr{
		{Name: xml.Name{Local: "key"}, Value: key},
		{Name: xml.Name{Local: "value"}, Value: value},
	}}
}

// itemKey identifies an item within its section: an <add key=...> by its key (NuGet compares keys
// without regard to case), an element such as a credential by its name.
func itemKey(n xmlNode) string {
	k := strings.ToLower(n.XMLName.Local)
	if key := n.attr("key"); key != "" {
		k += "\x00" + strings.ToLower(key)
	}
	return k
}

type nugetSection struct {
	name    string
	attrs   []xml.Attr
	cleared bool
	items   []xmlNode
}

// nugetConfig is the merge of NuGet.Config files, section by section.
type nugetConfig struct {
	sections []*nugetSection
}

func (c *nugetConfig) section(name string) *nugetSection {
	for _, s := range c.sections {
		if strings.EqualFold(s.name, name) {
			return s
		}
	}
	s := &nugetSection{name: name}
	c.sections = append(c.sections, s)
	return s
}

func (c *nugetConfig) items(section string) []xmlNode {
	for _, s := range c.sections {
		if strings.EqualFold(s.name, section) {
			return s.items
		}
	}
	return nil
}

func (c *nugetConfig) sourceURL(name string) (string, bool) {
	for _, it := range c.items("packageSources") {
		if strings.EqualFold(it.attr("key"), name) {
			return it.attr("value"), true
		}
	}
	return "", false
}

// set adds item to a section, replacing the item with the same key.
func (c *nugetConfig) set(section string, item xmlNode) {
	s := c.section(section)
	k := itemKey(item)
	for i, it := range s.items {
		if itemKey(it) == k {
			s.items[i] = item
			return
		}
	}
	s.items = append(s.items, item)
}

// merge lays one file over what was read before: <clear/> drops what came before it in that
// section, <remove key=.../> one item, and anything else adds or replaces by key.
func (c *nugetConfig) merge(b []byte, dir string) error {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	var doc xmlNode
	if err := xml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("not a NuGet.Config NuGet could read: %w", err)
	}
	if !strings.EqualFold(doc.XMLName.Local, "configuration") {
		return fmt.Errorf("not a NuGet.Config: the root element is <%s>, not <configuration>", doc.XMLName.Local)
	}
	for _, sec := range doc.Children {
		s := c.section(sec.XMLName.Local)
		s.attrs = sec.Attrs
		for _, it := range sec.Children {
			switch strings.ToLower(it.XMLName.Local) {
			case "clear":
				s.items, s.cleared = nil, true
				continue
			case "remove":
				k := "add\x00" + strings.ToLower(it.attr("key"))
				kept := s.items[:0]
				for _, old := range s.items {
					if itemKey(old) != k {
						kept = append(kept, old)
					}
				}
				s.items = kept
				continue
			}
			c.set(sec.XMLName.Local, absolutePaths(sec.XMLName.Local, it, dir))
		}
	}
	return nil
}

// absolutePaths makes a relative local path in an item absolute: the file it was read from is
// not where the merged config is written.
func absolutePaths(section string, it xmlNode, dir string) xmlNode {
	v := it.attr("value")
	if v == "" || strings.Contains(v, "://") || filepath.IsAbs(v) || strings.HasPrefix(v, "%") {
		return it
	}
	switch strings.ToLower(section) {
	case "packagesources", "fallbackpackagefolders":
	case "config":
		switch strings.ToLower(it.attr("key")) {
		case "globalpackagesfolder", "repositorypath":
		default:
			return it
		}
	default:
		return it
	}
	it.Attrs = append([]xml.Attr(nil), it.Attrs...)
	it.setAttr("value", filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(v, `\`, "/"))))
	return it
}

func (c *nugetConfig) marshal() (string, error) {
	root := xmlNode{XMLName: xml.Name{Local: "configuration"}}
	for _, s := range c.sections {
		sec := xmlNode{XMLName: xml.Name{Local: s.name}, Attrs: s.attrs}
		if s.cleared {
			sec.Children = append(sec.Children, xmlNode{XMLName: xml.Name{Local: "clear"}})
		}
		sec.Children = append(sec.Children, s.items...)
		root.Children = append(root.Children, sec)
	}
	b, err := xml.MarshalIndent(root, "", "  ")
	if err != nil {
		return "", err
	}
	return xml.Header + "<!-- written by patinject for one run; removed when it ends -->\n" + string(b) + "\n", nil
}

// xmlEncodeLocalName encodes a source name as an element name the way .NET's
// XmlConvert.EncodeLocalName does ("My Feed" is My_x0020_Feed, a leading digit and ':' are
// escaped too, and an '_' that would read as an escape), except that every character outside
// ASCII is escaped as well: NuGet decodes any _xHHHH_ (XmlConvert.DecodeName) when it reads the
// name, and encoding/xml, which writes the file, knows fewer name characters than .NET does.
func xmlEncodeLocalName(name string) string {
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		ok := r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z')
		if i > 0 {
			ok = ok || r == '-' || r == '.' || (r >= '0' && r <= '9')
		}
		if r == '_' && looksEscaped(string(rs[i:])) {
			ok = false
		}
		switch {
		case ok:
			b.WriteRune(r)
		case r > 0xFFFF:
			fmt.Fprintf(&b, "_x%08X_", r)
		default:
			fmt.Fprintf(&b, "_x%04X_", r)
		}
	}
	return b.String()
}

var escapedRe = regexp.MustCompile(`^_x([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8})_`)

func looksEscaped(s string) bool { return escapedRe.MatchString(s) }

// xmlEscape is s as it appears in an attribute value of the file.
func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
