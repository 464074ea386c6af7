package cmd_test

import (
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patinject/patinject/internal/testpeer"
	"github.com/patinject/patinject/internal/testpeer/authlog"
)

// mavenRepo is a Maven repository behind Basic auth, as an Azure Artifacts Maven feed is: it
// holds one parent POM, com.example:corp-parent:1.0, with its SHA-1.
func mavenRepo(t *testing.T, token string) (url string, log *authlog.Log) {
	t.Helper()
	pom := `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>` +
		`<groupId>com.example</groupId><artifactId>corp-parent</artifactId><version>1.0</version><packaging>pom</packaging>` +
		`<properties><corp.marker>from-the-feed</corp.marker></properties></project>`
	sum := sha1.Sum([]byte(pom))
	files := map[string]string{
		"/maven/com/example/corp-parent/1.0/corp-parent-1.0.pom":      pom,
		"/maven/com/example/corp-parent/1.0/corp-parent-1.0.pom.sha1": hex.EncodeToString(sum[:]),
	}
	log = &authlog.Log{}
	srv := httptest.NewServer(log.Gate(toolUser, token, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(body))
	})))
	t.Cleanup(srv.Close)
	return srv.URL + "/maven/", log
}

// A Maven project whose parent POM lives only on the authenticated feed builds through
// patinject, and not without it: Maven resolves the parent at model building, with no plugin.
func TestMavenThroughPatinject(t *testing.T) {
	mvn := testpeer.Env(t, "PATINJECT_TEST_MVN")
	e := newToolEnv(t, map[string]string{".m2/settings.xml": "<settings><offline>false</offline></settings>\n"})
	repo, log := mavenRepo(t, e.token)
	project := filepath.Join(e.work, "app")
	if err := os.MkdirAll(project, 0o755); err != nil {
		t.Fatal(err)
	}
	pom := `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>` +
		`<parent><groupId>com.example</groupId><artifactId>corp-parent</artifactId><version>1.0</version><relativePath/></parent>` +
		`<artifactId>app</artifactId><packaging>pom</packaging></project>`
	if err := os.WriteFile(filepath.Join(project, "pom.xml"), []byte(pom), 0o644); err != nil {
		t.Fatal(err)
	}
	// A fresh local repository each time, so that a cached parent cannot pass for a download.
	build := func(local string) string {
		return `cd "$1" && exec "$0" -B -U --no-transfer-progress -Dmaven.repo.local="$2" ` + local + ` validate`
	}
	settings := `-s "$PATINJECT_MAVEN_SETTINGS"`

	// Without patinject, a settings file that names the feed but holds no credential.
	bare := filepath.Join(e.work, "bare-settings.xml")
	if err := os.WriteFile(bare, []byte(`<settings><profiles><profile><id>feed</id><repositories><repository><id>feed</id><url>`+repo+
		`</url></repository></repositories></profile></profiles><activeProfiles><activeProfile>feed</activeProfile></activeProfiles></settings>`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := e.without(project, "sh", "-c", build(`-s "$3"`), mvn, project, filepath.Join(e.work, "m2-without"), bare)
	if code == 0 || !strings.Contains(out, "Non-resolvable parent POM") {
		t.Fatalf("mvn without patinject: exit %d, want a failure to resolve the parent", code)
	}
	checkNever(t, "the feed, without patinject", log)

	for _, tt := range []struct{ name, flag string }{
		{"a URL", repo},
		{"ID=URL", "corp=" + repo},
	} {
		t.Run(tt.name, func(t *testing.T) {
			local := filepath.Join(e.work, "m2-"+strings.ReplaceAll(tt.name, " ", "-"))
			code, stdout, _ := e.patinject([]string{"--maven", tt.flag}, "sh", "-c", build(settings), mvn, project, local)
			if code != 0 || !strings.Contains(stdout, "BUILD SUCCESS") {
				t.Fatalf("mvn through patinject: exit %d\n%s", code, e.redact(stdout))
			}
			if _, err := os.Stat(filepath.Join(local, "com/example/corp-parent/1.0/corp-parent-1.0.pom")); err != nil {
				t.Errorf("the parent POM was not downloaded: %v", err)
			}
		})
	}
	if len(log.Authorized()) == 0 {
		t.Error("the feed saw no credential")
	}
	for _, r := range log.Authorized() {
		if !r.OK {
			t.Errorf("%s %s carried a wrong credential", r.Method, r.Path)
		}
	}
}
