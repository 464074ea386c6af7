package inject

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/patinject/patinject/internal/platform"
	"github.com/patinject/patinject/secret"
)

// Maven: the token goes into a settings.xml, as Azure Artifacts documents for Maven feeds: a
// <server> whose <id> is the repository's id carries <username> and <password>, and Maven sends
// them to the repository of that id (Basic auth, after the server's 401 challenge). patinject's
// settings also declare the repository in an active profile, so that a project that does not
// name it resolves from it too; the user's own ~/.m2/settings.xml (servers, mirrors, proxies,
// profiles, local repository) is carried over, since Maven reads one user settings file.
//
//   - run: the password in the file is ${env.PATINJECT_MAVEN_PASSWORD}, which Maven interpolates
//     from the environment, so the file holds no secret.
//   - inject: the password is in the 0600 file.
//
// Maven reads the file through `mvn -s "$PATINJECT_MAVEN_SETTINGS"`, or by itself through
// MAVEN_ARGS (Maven 3.9 and later), to which patinject appends `-s FILE`.

// MavenSettingsEnv names patinject's settings.xml.
const MavenSettingsEnv = "PATINJECT_MAVEN_SETTINGS"

// MavenPasswordEnv holds the token in run mode.
const MavenPasswordEnv = "PATINJECT_MAVEN_PASSWORD"

// Maven is the --maven tool.
var Maven = Tool{
	Flag:    "maven",
	Usage:   "Maven repository (`URL`, or ID=URL where ID is the repository id your pom.xml uses)",
	Summary: "Maven repository",
	Scopes:  []string{"vso.packaging"},
	Check: func(v string) error {
		_, err := mavenRepo(v)
		return err
	},
	Plan: mavenPlan,
}

type mavenRepository struct{ id, url string }

var (
	mavenIDRe    = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	mavenIDShape = regexp.MustCompile(`[^A-Za-z0-9]+`)
)

// mavenRepo reads one --maven value. Without an id, one is made from the host and path, as
// stable as the URL.
func mavenRepo(raw string) (mavenRepository, error) {
	id, rawURL := "", raw
	if n, u, ok := strings.Cut(raw, "="); ok && !strings.Contains(n, "/") {
		id, rawURL = n, u
		if !mavenIDRe.MatchString(id) {
			return mavenRepository{}, fmt.Errorf("--maven: the repository id must be letters, digits, '.', '_' or '-' (ID=URL)")
		}
	}
	u, err := httpURL("--maven", rawURL)
	if err != nil {
		return mavenRepository{}, err
	}
	if id == "" {
		id = "patinject-" + strings.Trim(mavenIDShape.ReplaceAllString(u.Host+u.Path, "-"), "-")
	}
	return mavenRepository{id: id, url: u.String()}, nil
}

func mavenPlan(c Config) (Plan, error) {
	var repos []mavenRepository
	for _, raw := range c.values("maven") {
		r, err := mavenRepo(raw)
		if err != nil {
			return Plan{}, err
		}
		repos = append(repos, r)
	}
	user, err := c.usersMavenSettings()
	if err != nil {
		return Plan{}, err
	}
	var p Plan
	password := xmlText(c.Token.Reveal())
	if c.Mode == ModeRun {
		password = "${env." + MavenPasswordEnv + "}"
		p.Env = append(p.Env, EnvVar{Name: MavenPasswordEnv, Value: c.Token, Secret: true})
	}
	file := filepath.Join(c.Dir, "maven-settings.xml")
	content := mavenSettings(user, repos, xmlText(c.username()), password)
	p.Files = append(p.Files, File{Path: file, Content: secret.NewValue(content), Secret: c.Mode != ModeRun})
	p.Env = append(p.Env,
		EnvVar{Name: MavenSettingsEnv, Value: secret.NewValue(file)},
		EnvVar{Name: "MAVEN_ARGS", Value: secret.NewValue("-s " + file), Append: " "},
	)
	return p, nil
}

// mavenUserSettings are the parts of the user's settings.xml carried into patinject's, each as
// the XML it was written in.
type mavenUserSettings struct {
	LocalRepository string   `xml:"localRepository"`
	Offline         string   `xml:"offline"`
	Servers         innerXML `xml:"servers"`
	Mirrors         innerXML `xml:"mirrors"`
	Proxies         innerXML `xml:"proxies"`
	Profiles        innerXML `xml:"profiles"`
	ActiveProfiles  innerXML `xml:"activeProfiles"`
	PluginGroups    innerXML `xml:"pluginGroups"`
}

type innerXML struct {
	Inner string `xml:",innerxml"`
}

// usersMavenSettings reads ~/.m2/settings.xml, the file Maven reads when not given -s.
func (c Config) usersMavenSettings() (mavenUserSettings, error) {
	var s mavenUserSettings
	content, err := c.userFile([]string{platform.MavenUserSettings(c.goos(), c.Lookup)})
	if err != nil || content == "" {
		return s, err
	}
	if err := xml.Unmarshal([]byte(content), &s); err != nil {
		return s, fmt.Errorf("--maven: your ~/.m2/settings.xml is not valid XML, so its settings cannot be kept: %v", err)
	}
	return s, nil
}

func mavenSettings(user mavenUserSettings, repos []mavenRepository, username, password string) string {
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	b.WriteString("<!-- written by patinject for one run; removed when it ends -->\n")
	b.WriteString(`<settings xmlns="http://maven.apache.org/SETTINGS/1.0.0">` + "\n")
	if user.LocalRepository != "" {
		b.WriteString("  <localRepository>" + xmlText(user.LocalRepository) + "</localRepository>\n")
	}
	if user.Offline != "" {
		b.WriteString("  <offline>" + xmlText(user.Offline) + "</offline>\n")
	}
	b.WriteString("  <servers>\n")
	for _, r := range repos {
		fmt.Fprintf(&b, "    <server>\n      <id>%s</id>\n      <username>%s</username>\n      <password>%s</password>\n    </server>\n", r.id, username, password)
	}
	b.WriteString(user.Servers.Inner)
	b.WriteString("\n  </servers>\n")
	for _, part := range []struct {
		name string
		x    innerXML
	}{{"mirrors", user.Mirrors}, {"proxies", user.Proxies}, {"pluginGroups", user.PluginGroups}} {
		if strings.TrimSpace(part.x.Inner) != "" {
			b.WriteString("  <" + part.name + ">" + part.x.Inner + "</" + part.name + ">\n")
		}
	}
	b.WriteString("  <profiles>\n    <profile>\n      <id>patinject</id>\n      <repositories>\n")
	for _, r := range repos {
		fmt.Fprintf(&b, "        <repository><id>%s</id><url>%s</url></repository>\n", r.id, xmlText(r.url))
	}
	b.WriteString("      </repositories>\n      <pluginRepositories>\n")
	for _, r := range repos {
		fmt.Fprintf(&b, "        <pluginRepository><id>%s</id><url>%s</url></pluginRepository>\n", r.id, xmlText(r.url))
	}
	b.WriteString("      </pluginRepositories>\n    </profile>\n")
	b.WriteString(user.Profiles.Inner)
	b.WriteString("\n  </profiles>\n  <activeProfiles>\n    <activeProfile>patinject</activeProfile>\n")
	b.WriteString(user.ActiveProfiles.Inner)
	b.WriteString("\n  </activeProfiles>\n</settings>\n")
	return b.String()
}

// xmlText escapes s for XML character data.
func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
