package inject

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patinject/patinject/secret"
)

func TestMavenPlan(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	own := `<settings><localRepository>/cache/m2</localRepository><servers><server><id>theirs</id><username>u</username><password>p</password></server></servers>` +
		`<mirrors><mirror><id>m</id><mirrorOf>central</mirrorOf><url>https://mirror.example/</url></mirror></mirrors></settings>`
	if err := os.MkdirAll(filepath.Join(home, ".m2"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".m2", "settings.xml"), []byte(own), 0o600); err != nil {
		t.Fatal(err)
	}
	const feed = "https://pkgs.dev.azure.com/contoso/_packaging/feed/maven/v1"
	token := testToken + "<&>"
	for _, tt := range []struct {
		name, id, password string
		mode               Mode
	}{
		{"run: the file refers to a variable", "patinject-pkgs-dev-azure-com-contoso-packaging-feed-maven-v1", "${env." + MavenPasswordEnv + "}", ModeRun},
		{"inject: the password in the file, escaped", "feed", testToken + "&lt;&amp;&gt;", ModeCI},
	} {
		t.Run(tt.name, func(t *testing.T) {
			value := feed
			if tt.mode == ModeCI {
				value = "feed=" + feed
			}
			c := Config{Token: secret.NewValue(token), Username: "ci", Dir: "/priv", Mode: tt.mode,
				Values: map[string][]string{"maven": {value}}, Lookup: envOf(map[string]string{"HOME": home})}
			p, err := Build(c)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Files) != 1 || p.Files[0].Path != "/priv/maven-settings.xml" || p.Files[0].Secret != (tt.mode == ModeCI) {
				t.Fatalf("files: %+v", p.Files)
			}
			content := p.Files[0].Content.Reveal()
			var s struct {
				LocalRepository string `xml:"localRepository"`
				Servers         []struct {
					ID       string `xml:"id"`
					Username string `xml:"username"`
				} `xml:"servers>server"`
				Mirrors []string `xml:"mirrors>mirror>id"`
				Repos   []string `xml:"profiles>profile>repositories>repository>url"`
				Active  []string `xml:"activeProfiles>activeProfile"`
			}
			if err := xml.Unmarshal([]byte(content), &s); err != nil {
				t.Fatalf("not XML: %v\n%s", err, content)
			}
			if len(s.Servers) != 2 || s.Servers[0].ID != tt.id || s.Servers[0].Username != "ci" || s.Servers[1].ID != "theirs" {
				t.Errorf("servers %+v: want ours (%s) and the user's", s.Servers, tt.id)
			}
			if s.LocalRepository != "/cache/m2" || len(s.Mirrors) != 1 || len(s.Repos) != 1 || s.Repos[0] != feed || len(s.Active) != 1 {
				t.Errorf("the user's settings or the repository were not carried: %+v", s)
			}
			if !strings.Contains(content, "<password>"+tt.password+"</password>") {
				t.Errorf("password: want %q in\n%s", tt.password, content)
			}
			if tt.mode == ModeRun && strings.Contains(content, testToken) {
				t.Errorf("run: the file holds the token")
			}
			env := map[string]string{}
			for _, e := range p.Env {
				env[e.Name] = e.Value.Reveal()
			}
			if env[MavenSettingsEnv] != "/priv/maven-settings.xml" || env["MAVEN_ARGS"] != "-s /priv/maven-settings.xml" {
				t.Errorf("env: %v", env)
			}
			if (env[MavenPasswordEnv] == token) != (tt.mode == ModeRun) {
				t.Errorf("%s in %v", MavenPasswordEnv, tt.mode)
			}
		})
	}
}

func TestMavenCheck(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"ftp://x.example/", "bad id=https://x.example/", "https://u:p@x.example/", "https://x.example/?q=1"} {
		if err := Maven.Check(v); err == nil {
			t.Errorf("--maven %q accepted", v)
		} else if strings.Contains(err.Error(), "u:p") {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
	if err := Maven.Check("corp.releases=https://x.example/maven/"); err != nil {
		t.Error(err)
	}
}
