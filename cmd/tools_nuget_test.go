package cmd_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/patinject/patinject/internal/testpeer"
	"github.com/patinject/patinject/internal/testpeer/nugetfeed"
)

// TestNuGetThroughPatinject restores packages with the real NuGet.exe 5.8 on mono
// (scripts/peers/nuget.sh) from v3 feeds behind Basic auth: a source of the user's NuGet.Config
// through NuGetPackageSourceCredentials_<name> alone, and a bare URL and a source whose name has
// a space through the NuGet.Config patinject writes, which keeps the user's sources.
func TestNuGetThroughPatinject(t *testing.T) {
	mono := testpeer.Command(t, "mono")
	exe := testpeer.Env(t, "PATINJECT_TEST_NUGET")
	e := newToolEnv(t, nil)
	feed := nugetfeed.Start(t, toolUser, e.token, nugetfeed.Package{ID: "Patinject.Demo", Version: "1.0.0"})
	spaced := nugetfeed.Start(t, toolUser, e.token, nugetfeed.Package{ID: "Spaced.Pkg", Version: "1.0.0"})
	bare := nugetfeed.Start(t, toolUser, e.token, nugetfeed.Package{ID: "Third.Pkg", Version: "2.0.0"})
	public := nugetfeed.Start(t, "", "", nugetfeed.Package{ID: "Other.Pkg", Version: "1.0.0"})

	userConfig := `<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="contoso-feed" value="` + feed.URL + `" />
    <add key="My Feed" value="` + spaced.URL + `" />
    <add key="public" value="` + public.URL + `" />
  </packageSources>
</configuration>
`
	const configName = ".config/NuGet/NuGet.Config" // where NuGet.exe on mono looks
	e.own[configName] = userConfig
	if err := os.WriteFile(filepath.Join(e.home, filepath.FromSlash(configName)), []byte(userConfig), 0o600); err != nil {
		t.Fatal(err)
	}

	project := filepath.Join(e.work, "project")
	if err := os.MkdirAll(project, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, ids := range map[string][][2]string{
		"packages.config":        {{"Patinject.Demo", "1.0.0"}, {"Other.Pkg", "1.0.0"}},
		"packages.second.config": {{"Third.Pkg", "2.0.0"}, {"Spaced.Pkg", "1.0.0"}, {"Other.Pkg", "1.0.0"}},
	} {
		content := `<?xml version="1.0" encoding="utf-8"?>` + "\n<packages>\n"
		for _, p := range ids {
			content += `  <package id="` + p[0] + `" version="` + p[1] + `" targetFramework="net48" />` + "\n"
		}
		content += "</packages>\n"
		if err := os.WriteFile(filepath.Join(project, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(project) // NuGet reads NuGet.Config files from here upward, and so does patinject
	restore := func(config, out string, more ...string) []string {
		return append([]string{mono, exe, "restore", config, "-PackagesDirectory", out, "-NoCache", "-NonInteractive"}, more...)
	}
	installed := func(out string, pkgs ...string) {
		t.Helper()
		for _, p := range pkgs {
			if _, err := os.Stat(filepath.Join(project, out, p, p+".nupkg")); err != nil {
				t.Errorf("%s was not restored: %v", p, err)
			}
		}
	}

	// A source of the user's, by name: the credential variable alone.
	if code, _ := e.without(project, restore("packages.config", "without")...); code == 0 {
		t.Fatal("nuget restore without patinject succeeded")
	}
	if code, _, _ := e.patinject([]string{"--nuget", "contoso-feed=" + feed.URL}, restore("packages.config", "out")...); code != 0 {
		t.Fatalf("nuget restore through patinject: exit %d", code)
	}
	installed("out", "Patinject.Demo.1.0.0", "Other.Pkg.1.0.0")

	// A bare URL the user's config lacks, and a source named with a space: patinject's
	// NuGet.Config, which also keeps the user's public source.
	if code, _ := e.without(project, restore("packages.second.config", "without2", "-Source", bare.URL, "-Source", spaced.URL, "-Source", public.URL)...); code == 0 {
		t.Fatal("nuget restore of the second set without patinject succeeded")
	}
	code, _, _ := e.patinject([]string{"--nuget", bare.URL, "--nuget", spaced.URL},
		append([]string{"sh", "-c", `exec "$@" -ConfigFile "$PATINJECT_NUGET_CONFIG"`, "sh"}, restore("packages.second.config", "out2")...)...)
	if code != 0 {
		t.Fatalf("nuget restore -ConfigFile $PATINJECT_NUGET_CONFIG through patinject: exit %d", code)
	}
	installed("out2", "Third.Pkg.2.0.0", "Spaced.Pkg.1.0.0", "Other.Pkg.1.0.0")

	for name, f := range map[string]*nugetfeed.Feed{"contoso-feed": feed, "My Feed": spaced, "bare": bare} {
		ok := 0
		for _, r := range f.Log.Authorized() {
			if r.OK {
				ok++
			}
		}
		if ok == 0 {
			t.Errorf("feed %s saw no request with the token", name)
		}
	}
	checkNever(t, "the public feed", public.Log)
}
