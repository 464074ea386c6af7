package platform

import (
	"io/fs"
	"reflect"
	"testing"
	"testing/fstest"
	"time"
)

func env(kv ...string) Lookup {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestHome(t *testing.T) {
	tests := []struct {
		goos string
		env  Lookup
		want string
	}{
		{"linux", env("HOME", "/home/ci", "USERPROFILE", `C:\Users\ci`), "/home/ci"},
		{"darwin", env("HOME", "/Users/ci"), "/Users/ci"},
		{"linux", env(), ""},
		{"windows", env("USERPROFILE", `C:\Users\ci`, "HOME", "/c/Users/other"), `C:\Users\ci`},
		{"windows", env("HOMEDRIVE", "D:", "HOMEPATH", `\Users\ci`), `D:\Users\ci`},
		{"windows", env("HOME", `C:\Users\ci`), ""},
	}
	for _, tt := range tests {
		if got := Home(tt.goos, tt.env); got != tt.want {
			t.Errorf("Home(%s): got %q, want %q", tt.goos, got, tt.want)
		}
	}
}

func TestUserConfigFiles(t *testing.T) {
	win := env("USERPROFILE", `C:\Users\ci`, "APPDATA", `C:\Users\ci\AppData\Roaming`)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"netrc linux", NetrcFiles("linux", env("HOME", "/home/ci")), []string{"/home/ci/.netrc"}},
		{"netrc darwin", NetrcFiles("darwin", env("HOME", "/Users/ci")), []string{"/Users/ci/.netrc"}},
		{"netrc linux no home", NetrcFiles("linux", env()), []string(nil)},
		{"netrc windows", NetrcFiles("windows", win), []string{`C:\Users\ci\.netrc`, `C:\Users\ci\_netrc`}},
		{"netrc windows HOME first", NetrcFiles("windows", env("HOME", `D:\h`, "USERPROFILE", `C:\Users\ci`)), []string{`D:\h\.netrc`, `D:\h\_netrc`}},
		{"npmrc linux", NpmUserConfig("linux", env("HOME", "/home/ci")), "/home/ci/.npmrc"},
		{"npmrc windows", NpmUserConfig("windows", win), `C:\Users\ci\.npmrc`},
		{"npmrc none", NpmUserConfig("windows", env("HOME", "/x")), ""},
		{"nuget linux", NuGetUserConfigs("linux", env("HOME", "/home/ci")), []string{"/home/ci/.nuget/NuGet/NuGet.Config", "/home/ci/.config/NuGet/NuGet.Config"}},
		{"nuget linux xdg", NuGetUserConfigs("linux", env("HOME", "/home/ci", "XDG_CONFIG_HOME", "/xdg")), []string{"/home/ci/.nuget/NuGet/NuGet.Config", "/xdg/NuGet/NuGet.Config"}},
		{"nuget darwin", NuGetUserConfigs("darwin", env("HOME", "/Users/ci")), []string{"/Users/ci/.nuget/NuGet/NuGet.Config", "/Users/ci/.config/NuGet/NuGet.Config"}},
		{"nuget windows", NuGetUserConfigs("windows", win), []string{`C:\Users\ci\AppData\Roaming\NuGet\NuGet.Config`}},
		{"nuget windows no APPDATA", NuGetUserConfigs("windows", env("USERPROFILE", `C:\Users\ci`)), []string{`C:\Users\ci\AppData\Roaming\NuGet\NuGet.Config`}},
		{"nuget windows nothing", NuGetUserConfigs("windows", env()), []string(nil)},
		{"maven linux", MavenUserSettings("linux", env("HOME", "/home/ci")), "/home/ci/.m2/settings.xml"},
		{"maven windows", MavenUserSettings("windows", win), `C:\Users\ci\.m2\settings.xml`},
		{"maven none", MavenUserSettings("darwin", env()), ""},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestJoinAndIsAbs(t *testing.T) {
	if got := Join("windows", `C:\`, "a", "b.txt"); got != `C:\a\b.txt` {
		t.Errorf("got %q", got)
	}
	if got := Join("linux", "/tmp/", "a"); got != "/tmp/a" {
		t.Errorf("got %q", got)
	}
	for p, want := range map[string]bool{`C:\x`: true, `c:/x`: true, `\\srv\share`: true, `C:x`: false, `\x`: false, "x": false} {
		if IsAbs("windows", p) != want {
			t.Errorf("IsAbs(windows, %q) = %v", p, !want)
		}
	}
	if !IsAbs("darwin", "/x") || IsAbs("linux", `C:\x`) {
		t.Error("IsAbs on Unix")
	}
}

// fakeStat serves a file system of absolute paths (either separator) from a map of modes.
func fakeStat(files map[string]fs.FileMode) Stat {
	m := fstest.MapFS{}
	for p, mode := range files {
		m[p] = &fstest.MapFile{Mode: mode, ModTime: time.Time{}}
	}
	return func(p string) (fs.FileInfo, error) {
		f, ok := m[p]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return fileInfo{f}, nil
	}
}

type fileInfo struct{ f *fstest.MapFile }

func (i fileInfo) Name() string       { return "" }
func (i fileInfo) Size() int64        { return 0 }
func (i fileInfo) Mode() fs.FileMode  { return i.f.Mode }
func (i fileInfo) ModTime() time.Time { return i.f.ModTime }
func (i fileInfo) IsDir() bool        { return i.f.Mode.IsDir() }
func (i fileInfo) Sys() any           { return nil }

func TestLookPath(t *testing.T) {
	stat := fakeStat(map[string]fs.FileMode{
		`C:\Program Files\Microsoft SDKs\Azure\CLI2\wbin\az.cmd`: 0o644, // Windows has no execute bit
		`C:\tools\git.exe`:    0o644,
		`C:\tools\az`:         0o644, // the POSIX shell script the CLI ships beside az.cmd
		"/usr/bin/az":         0o755,
		"/opt/az/bin/az":      0o644, // not executable
		"/opt/dir/az":         fs.ModeDir | 0o755,
		"/home/ci/bin/mytool": 0o700,
	})
	tests := []struct {
		goos, name string
		env        Lookup
		want       string
	}{
		{"windows", "az", env("PATH", `C:\tools;C:\Program Files\Microsoft SDKs\Azure\CLI2\wbin`), `C:\Program Files\Microsoft SDKs\Azure\CLI2\wbin\az.cmd`},
		{"windows", "az", env("Path", `"C:\Program Files\Microsoft SDKs\Azure\CLI2\wbin"`), `C:\Program Files\Microsoft SDKs\Azure\CLI2\wbin\az.cmd`},
		{"windows", "az", env("PATH", `C:\tools`, "PATHEXT", ".EXE"), ""},
		{"windows", "git", env("PATH", `;C:\tools`), `C:\tools\git.exe`},
		{"windows", "git.exe", env("PATH", `C:\tools`), `C:\tools\git.exe`},
		{"linux", "az", env("PATH", "/opt/dir:/opt/az/bin:/usr/bin"), "/usr/bin/az"},
		{"darwin", "az", env("PATH", "/opt/az/bin"), ""},
		{"linux", "mytool", env("PATH", "/home/ci/bin"), "/home/ci/bin/mytool"},
		{"linux", "az", env(), ""},
	}
	for _, tt := range tests {
		if got := LookPath(tt.goos, tt.name, tt.env, stat); got != tt.want {
			t.Errorf("LookPath(%s, %s): got %q, want %q", tt.goos, tt.name, got, tt.want)
		}
	}
}

func TestStateFile(t *testing.T) {
	tests := []struct {
		goos string
		env  Lookup
		want string
	}{
		{"linux", env("HOME", "/home/ci"), "/home/ci/.local/state/patinject/state.json"},
		{"linux", env("HOME", "/home/ci", "XDG_STATE_HOME", "/state"), "/state/patinject/state.json"},
		{"darwin", env("HOME", "/Users/ci", "XDG_STATE_HOME", "relative"), "/Users/ci/.local/state/patinject/state.json"},
		{"linux", env("HOME", "relative"), ""},
		{"windows", env("LOCALAPPDATA", `C:\Users\ci\AppData\Local`, "HOME", "/home/x"), `C:\Users\ci\AppData\Local\patinject\state.json`},
		{"windows", env("USERPROFILE", `C:\Users\ci`), `C:\Users\ci\AppData\Local\patinject\state.json`},
		{"windows", env("HOME", `C:\Users\ci`), ""},
	}
	for _, tt := range tests {
		if got := StateFile(tt.goos, tt.env); got != tt.want {
			t.Errorf("StateFile(%s): got %q, want %q", tt.goos, got, tt.want)
		}
	}
}

// The keys and the journal live where the state file does: on Windows too (where there is no
// XDG_STATE_HOME and HOME is usually unset).
func TestStateDir(t *testing.T) {
	env := func(kv ...string) Lookup {
		return func(k string) (string, bool) {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1], true
				}
			}
			return "", false
		}
	}
	for _, tc := range []struct {
		goos string
		env  Lookup
		want string
	}{
		{"windows", env("LOCALAPPDATA", `C:\Users\ci\AppData\Local`), `C:\Users\ci\AppData\Local\patinject`},
		{"linux", env("XDG_STATE_HOME", "/s", "HOME", "/h"), "/s/patinject"},
		{"linux", env("HOME", "/h"), "/h/.local/state/patinject"},
		{"linux", env("HOME", "relative"), ""},
	} {
		if got := StateDir(tc.goos, tc.env); got != tc.want {
			t.Errorf("%s: StateDir = %q, want %q", tc.goos, got, tc.want)
		}
	}
}
