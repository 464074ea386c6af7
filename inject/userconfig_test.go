package inject

import (
	"os"
	"strings"
	"testing"
)

// The user's own configuration is read where each tool reads it on each system. Windows paths
// are built with backslashes, which on Linux are plain characters of a file name: the test
// writes the file under exactly the name the Windows code asks for, so a wrong separator, name
// or variable finds nothing.
func TestUsersConfigOnEachSystem(t *testing.T) {
	t.Parallel()
	win := func(dir string, elem ...string) string { return dir + `\` + strings.Join(elem, `\`) }
	write := func(t *testing.T, path, content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("netrc: windows falls back to _netrc", func(t *testing.T) {
		t.Parallel()
		profile := t.TempDir()
		write(t, win(profile, "_netrc"), "machine mine.example login me password underscore")
		c := Config{GOOS: "windows", Lookup: envOf(map[string]string{"USERPROFILE": profile, "HOME": ""})}
		got, err := c.usersNetrc()
		if err != nil || !strings.Contains(got, "underscore") {
			t.Fatalf("got %q, %v; want the user's _netrc", got, err)
		}
		write(t, win(profile, ".netrc"), "machine mine.example login me password dot")
		if got, _ := c.usersNetrc(); !strings.Contains(got, "dot") {
			t.Fatalf("got %q; want .netrc before _netrc", got)
		}
		// A Unix build reads neither: its ~ is HOME.
		if got, _ := (Config{GOOS: "linux", Lookup: c.Lookup}).usersNetrc(); got != "" {
			t.Fatalf("linux read %q without HOME", got)
		}
	})

	t.Run("npmrc: windows reads USERPROFILE, not HOME", func(t *testing.T) {
		t.Parallel()
		profile, home := t.TempDir(), t.TempDir()
		write(t, win(profile, ".npmrc"), "color=false\n")
		write(t, home+"/.npmrc", "from-home=true\n")
		env := envOf(map[string]string{"USERPROFILE": profile, "HOME": home})
		if got, err := (Config{GOOS: "windows", Lookup: env}).usersNpmrc(); err != nil || got != "color=false\n" {
			t.Fatalf("windows: got %q, %v", got, err)
		}
		if got, err := (Config{GOOS: "darwin", Lookup: env}).usersNpmrc(); err != nil || got != "from-home=true\n" {
			t.Fatalf("darwin: got %q, %v", got, err)
		}
	})

	t.Run("NuGet.Config: windows reads APPDATA", func(t *testing.T) {
		t.Parallel()
		appdata := t.TempDir()
		write(t, win(appdata, "NuGet", "NuGet.Config"), `<configuration><packageSources><add key="appdata-feed" value="https://a.example/v3/index.json" /></packageSources></configuration>`)
		cfg, err := (Config{GOOS: "windows", Lookup: envOf(map[string]string{"APPDATA": appdata})}).usersNuGetConfig()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, s := range cfg.sections {
			for _, it := range s.items {
				for _, a := range it.Attrs {
					if a.Value == "appdata-feed" {
						found = true
					}
				}
			}
		}
		if !found {
			t.Fatal("the source in %APPDATA%\\NuGet\\NuGet.Config was not read")
		}
	})
}
