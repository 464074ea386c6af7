package inject

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/patinject/patinject/secret"
)

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestNuGetPlan(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	work := filepath.Join(t.TempDir(), "repo", "src")
	writeTestFile(t, filepath.Join(home, ".config", "NuGet", "NuGet.Config"), `<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
    <add key="contoso" value="https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/index.json" />
    <add key="My Feed" value="https://my.example/v3/index.json" />
  </packageSources>
  <packageSourceCredentials>
    <contoso><add key="Username" value="old" /><add key="ClearTextPassword" value="stale" /></contoso>
  </packageSourceCredentials>
</configuration>`)
	writeTestFile(t, filepath.Join(filepath.Dir(work), "NuGet.Config"), "\xef\xbb\xbf"+`<configuration>
  <packageSources>
    <add key="local" value="packages" />
    <add key="team" value="https://team.example/v3/index.json" />
  </packageSources>
  <config><add key="globalPackagesFolder" value="../gp" /></config>
</configuration>`)
	env := map[string]string{"HOME": home}
	theirs := `{"endpointCredentials":[{"endpoint":"https://keep.example/index.json","password":"theirs"},{"endpoint":"https://team.example/v3/index.json/","password":"replaced"}]}`
	withEndpoints := map[string]string{"HOME": home, "VSS_NUGET_EXTERNAL_FEED_ENDPOINTS": theirs, "ARTIFACTS_CREDENTIALPROVIDER_EXTERNAL_FEED_ENDPOINTS": theirs}
	const adoURL = "https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/index.json"
	cred := "Username=ci;Password=" + testToken + ";ValidAuthenticationTypes=basic"
	tests := []struct {
		name         string
		c            Config
		env          map[string]string // secret variables, value without "secret:"
		noEnv        []string
		file         []string // substrings of the NuGet.Config, in order; nil: no file
		notInFile    []string
		endpoints    []string // endpoints in VSS_NUGET_EXTERNAL_FEED_ENDPOINTS
		err          string
		fileIsSecret bool
	}{
		{
			name:      "run: a named source of the user's, by variable only",
			c:         Config{Values: map[string][]string{"nuget": {"contoso=" + adoURL}}},
			env:       map[string]string{"NuGetPackageSourceCredentials_contoso": cred},
			endpoints: []string{adoURL},
		},
		{
			name:      "run: a URL the user's config names, found in the working directory's parent",
			c:         Config{Values: map[string][]string{"nuget": {"https://TEAM.example/v3/index.json"}}},
			env:       map[string]string{"NuGetPackageSourceCredentials_team": cred},
			endpoints: []string{"https://TEAM.example/v3/index.json"},
		},
		{
			name: "run: an unknown URL gets a source and credentials that refer to a variable",
			c:    Config{Values: map[string][]string{"nuget": {"http://127.0.0.1:5000/v3/index.json"}}},
			env: map[string]string{"NuGetPackageSourceCredentials_patinject_127_0_0_1_5000": cred,
				NuGetPasswordEnv: testToken},
			file: []string{
				`<add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3"></add>`,
				`<add key="local" value="` + filepath.Join(filepath.Dir(work), "packages") + `"></add>`,
				`<add key="patinject_127_0_0_1_5000" value="http://127.0.0.1:5000/v3/index.json"></add>`,
				`<contoso>`, `value="stale"`,
				`<patinject_127_0_0_1_5000>`, `<add key="Username" value="ci">`,
				`<add key="ClearTextPassword" value="%PATINJECT_NUGET_PASSWORD%">`,
				`<add key="ValidAuthenticationTypes" value="basic">`,
				`<config>`, `value="` + filepath.Join(filepath.Dir(work), "..", "gp") + `"`,
			},
			notInFile: []string{testToken},
		},
		{
			name:  "run: a name with a space goes into the file",
			c:     Config{Values: map[string][]string{"nuget": {"https://my.example/v3/index.json"}}},
			env:   map[string]string{NuGetPasswordEnv: testToken},
			noEnv: []string{"NuGetPackageSourceCredentials_My Feed"},
			file:  []string{`<My_x0020_Feed>`, `%PATINJECT_NUGET_PASSWORD%`},
		},
		{
			name: "run: a name with a hyphen gets the variable and the file, which sh would not drop",
			c:    Config{Values: map[string][]string{"nuget": {"contoso-feed=https://c.example/v3/index.json"}}},
			env:  map[string]string{"NuGetPackageSourceCredentials_contoso-feed": cred, NuGetPasswordEnv: testToken},
			file: []string{`<add key="contoso-feed" value="https://c.example/v3/index.json">`, `<contoso-feed>`, `%PATINJECT_NUGET_PASSWORD%`},
		},
		{
			name:         "ci: no variable for a name with a hyphen",
			c:            Config{Values: map[string][]string{"nuget": {"https://TEAM.example/v3/index.json", "contoso-feed=https://c.example/v3/index.json"}}, Mode: ModeCI},
			env:          map[string]string{"NuGetPackageSourceCredentials_team": cred},
			noEnv:        []string{"NuGetPackageSourceCredentials_contoso-feed", NuGetPasswordEnv},
			file:         []string{`<add key="contoso-feed" value="https://c.example/v3/index.json">`, `<contoso-feed>`, testToken},
			fileIsSecret: true,
		},
		{
			name:         "ci: the file holds the token, the variable is set too",
			c:            Config{Values: map[string][]string{"nuget": {"contoso=" + adoURL}}, Mode: ModeCI},
			env:          map[string]string{"NuGetPackageSourceCredentials_contoso": cred},
			noEnv:        []string{NuGetPasswordEnv},
			file:         []string{`<contoso>`, `<add key="ClearTextPassword" value="` + testToken + `">`},
			notInFile:    []string{"stale"},
			fileIsSecret: true,
		},
		{
			name:      "existing credential provider endpoints are kept",
			c:         Config{Values: map[string][]string{"nuget": {"https://team.example/v3/index.json"}}, Lookup: envOf(withEndpoints)},
			env:       map[string]string{"NuGetPackageSourceCredentials_team": cred},
			endpoints: []string{"https://keep.example/index.json", "https://team.example/v3/index.json"},
		},
		{name: "a name the user's config gives another URL", c: Config{Values: map[string][]string{"nuget": {"contoso=https://evil.example/v3/index.json"}}}, err: "another URL"},
		{name: "not a URL", c: Config{Values: map[string][]string{"nuget": {"feed=ftp://x/"}}}, err: "not an http or https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.c
			c.Token, c.Username, c.Dir, c.WorkDir = secret.NewValue(testToken), "ci", "/priv", work
			if c.Lookup == nil {
				c.Lookup = envOf(env)
			}
			p, err := nugetPlan(c)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v := viewOf(p)
			for k, want := range tt.env {
				if got := v.Env[k]; got != "secret:"+want {
					t.Errorf("env %s: got %q, want %q", k, got, "secret:"+want)
				}
			}
			for _, k := range tt.noEnv {
				if got, ok := v.Env[k]; ok {
					t.Errorf("env %s=%q not expected", k, got)
				}
			}
			for _, m := range []string{cred} {
				if _, ok := tt.env["NuGetPackageSourceCredentials_contoso"]; ok && !contains(v.Masks, m) {
					t.Errorf("masks %q lack the credential variable's value", v.Masks)
				}
			}
			for _, name := range nugetEndpoints {
				raw := strings.TrimPrefix(v.Env[name], "secret:")
				if !contains(v.Masks, raw) {
					t.Errorf("%s is not among the masks", name)
				}
				var doc struct {
					EndpointCredentials []struct{ Endpoint, Username, Password string }
				}
				if err := json.Unmarshal([]byte(raw), &doc); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if tt.endpoints != nil {
					var got []string
					for _, e := range doc.EndpointCredentials {
						got = append(got, e.Endpoint)
					}
					if strings.Join(got, " ") != strings.Join(tt.endpoints, " ") {
						t.Errorf("%s endpoints: got %q, want %q", name, got, tt.endpoints)
					}
				}
			}
			file, ok := v.Files["NuGet.Config"]
			if tt.file == nil {
				if ok {
					t.Fatalf("got a NuGet.Config, want none:\n%s", file)
				}
				return
			}
			if !ok {
				t.Fatal("got no NuGet.Config")
			}
			if got := v.Env[NuGetConfigEnv]; got != "/priv/NuGet.Config" {
				t.Errorf("%s: got %q", NuGetConfigEnv, got)
			}
			if strings.HasPrefix(file, "secret:") != tt.fileIsSecret {
				t.Errorf("file secret: got %v, want %v", !tt.fileIsSecret, tt.fileIsSecret)
			}
			rest := file
			for _, s := range tt.file {
				i := strings.Index(rest, s)
				if i < 0 {
					t.Fatalf("NuGet.Config lacks %q (in order):\n%s", s, file)
				}
				rest = rest[i+len(s):]
			}
			for _, s := range tt.notInFile {
				if strings.Contains(file, s) {
					t.Errorf("NuGet.Config holds %q:\n%s", s, file)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestNuGetConfigMerge(t *testing.T) {
	t.Parallel()
	var c nugetConfig
	for i, doc := range []string{
		`<configuration><packageSources><add key="a" value="https://a/"/><add key="b" value="https://b/"/></packageSources></configuration>`,
		`<configuration><packageSources><remove key="A"/><add key="c" value="https://c/"/></packageSources><disabledPackageSources><add key="b" value="true"/></disabledPackageSources></configuration>`,
		`<configuration><packageSources><add key="B" value="https://b2/"/></packageSources></configuration>`,
	} {
		if err := c.merge([]byte(doc), "/d"); err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
	}
	var got []string
	for _, it := range c.items("packageSources") {
		got = append(got, it.attr("key")+"="+it.attr("value"))
	}
	if want := "B=https://b2/ c=https://c/"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
	if err := c.merge([]byte(`<configuration><packageSources><clear/></packageSources></configuration>`), "/d"); err != nil {
		t.Fatal(err)
	}
	out, err := c.marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "<packageSources>\n    <clear></clear>\n  </packageSources>") {
		t.Errorf("a cleared section is not kept cleared:\n%s", out)
	}
	if err := c.merge([]byte(`<settings/>`), "/d"); err == nil {
		t.Error("got no error for a file that is no NuGet.Config")
	}
}

func TestXMLEncodeLocalName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Contoso":       "Contoso",
		"Test Source":   "Test_x0020_Source",
		"contoso-feed":  "contoso-feed",
		"1feed":         "_x0031_feed",
		"a/b":           "a_x002F_b",
		"_x0020_":       "_x005F_x0020_",
		"nuget.org":     "nuget.org",
		"feed:internal": "feed_x003A_internal",
		"ü-ñ":           "_x00FC_-_x00F1_",
		"\U0001F600":    "_x0001F600_",
	} {
		if got := xmlEncodeLocalName(in); got != want {
			t.Errorf("xmlEncodeLocalName(%q): got %q, want %q", in, got, want)
		}
	}
}

// FuzzNuGetConfigMerge: any file NuGet.Config parsing accepts merges and writes back as XML that
// parses again, with every source kept.
func FuzzNuGetConfigMerge(f *testing.F) {
	f.Add(`<configuration><packageSources><add key="a" value="https://a/"/><clear/><add key="b b" value="x"/></packageSources></configuration>`)
	f.Add(`<configuration><packageSourceCredentials><My_x0020_Feed><add key="Username" value="u"/></My_x0020_Feed></packageSourceCredentials></configuration>`)
	f.Add(`<configuration><config><add key="globalPackagesFolder" value="../gp"/></config><packageSources><remove key="A"/></packageSources></configuration>`)
	f.Fuzz(func(t *testing.T, doc string) {
		var c nugetConfig
		if err := c.merge([]byte(doc), "/d"); err != nil {
			return
		}
		out, err := c.marshal()
		if err != nil {
			return // a name encoding/xml cannot write; nugetPlan reports it
		}
		var again nugetConfig
		if err := again.merge([]byte(out), "/d"); err != nil {
			t.Fatalf("the merged config does not parse again: %v\n%s", err, out)
		}
		if len(again.items("packageSources")) != len(c.items("packageSources")) {
			t.Fatalf("sources: got %d, want %d", len(again.items("packageSources")), len(c.items("packageSources")))
		}
	})
}

func FuzzXMLEncodeLocalName(f *testing.F) {
	for _, s := range []string{"My Feed", "_x0020_", "1a", "a:b", "ü-ñ", "\U0001F600"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !utf8.ValidString(name) || name == "" {
			return
		}
		enc := xmlEncodeLocalName(name)
		if err := xml.Unmarshal([]byte("<"+enc+"/>"), new(struct{})); err != nil {
			t.Fatalf("%q encodes as %q, not an XML name: %v", name, enc, err)
		}
	})
}
