// Package platform answers, for a given operating system, the questions whose answers differ
// between Linux, macOS and Windows: where each tool reads the user's configuration, and how a
// command name is found on PATH. Every function takes the operating system (a GOOS value) and
// the environment as parameters and touches the file system only through what it is given, so
// the Windows answers are tested on Linux as well (Go 1.26 binaries do not run under wine).
package platform

import (
	"io/fs"
	"runtime"
	"strings"
)

// GOOS is the operating system patinject runs on.
const GOOS = runtime.GOOS

// Lookup reads an environment variable (os.LookupEnv, or a test's map).
type Lookup func(string) (string, bool)

// Stat reports on a file (os.Stat, or a test's fake file system).
type Stat func(string) (fs.FileInfo, error)

func get(env Lookup, name string) string {
	if env == nil {
		return ""
	}
	v, _ := env(name)
	return v
}

// Separator is goos's path separator.
func Separator(goos string) string {
	if goos == "windows" {
		return `\`
	}
	return "/"
}

// Join joins path elements with goos's separator (filepath.Join joins with the host's only).
func Join(goos string, dir string, elem ...string) string {
	sep := Separator(goos)
	out := dir
	for _, e := range elem {
		if e == "" {
			continue
		}
		if out == "" {
			out = e
			continue
		}
		out = strings.TrimRight(out, `/\`) + sep + strings.TrimLeft(e, `/\`)
	}
	return out
}

// IsAbs reports whether p is absolute on goos: on Windows a drive letter and a separator
// (C:\x) or a UNC path (\\server\share), elsewhere a leading slash.
func IsAbs(goos, p string) bool {
	if goos != "windows" {
		return strings.HasPrefix(p, "/")
	}
	if strings.HasPrefix(p, `\\`) || strings.HasPrefix(p, `//`) {
		return true
	}
	return len(p) >= 3 && p[1] == ':' && isLetter(p[0]) && (p[2] == '\\' || p[2] == '/')
}

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

// Home is the user's home directory as the tools on goos find it: HOME on Unix; on Windows
// USERPROFILE (what Node's os.homedir, NuGet and .NET use), else HOMEDRIVE+HOMEPATH. "" when none.
func Home(goos string, env Lookup) string {
	if goos != "windows" {
		return get(env, "HOME")
	}
	if p := get(env, "USERPROFILE"); p != "" {
		return p
	}
	if d, p := get(env, "HOMEDRIVE"), get(env, "HOMEPATH"); d != "" && p != "" {
		return d + p
	}
	return ""
}

// NetrcFiles are the user's netrc files curl and git (through libcurl) read when NETRC does not
// name one, in the order they try them: ~/.netrc; on Windows, where ~ is HOME if set (Git for
// Windows sets it) else USERPROFILE, also ~\_netrc when there is no .netrc.
func NetrcFiles(goos string, env Lookup) []string {
	if goos != "windows" {
		if h := get(env, "HOME"); h != "" {
			return []string{Join(goos, h, ".netrc")}
		}
		return nil
	}
	h := get(env, "HOME")
	if h == "" {
		h = Home(goos, env)
	}
	if h == "" {
		return nil
	}
	return []string{Join(goos, h, ".netrc"), Join(goos, h, "_netrc")}
}

// NpmUserConfig is npm's default user configuration file, ~/.npmrc, with ~ as Node's
// os.homedir() has it (USERPROFILE on Windows).
func NpmUserConfig(goos string, env Lookup) string {
	h := Home(goos, env)
	if h == "" {
		return ""
	}
	return Join(goos, h, ".npmrc")
}

// NuGetUserConfigs are the user-wide NuGet.Config files NuGet reads, in the order it reads
// them: on Windows %APPDATA%\NuGet\NuGet.Config; elsewhere ~/.nuget/NuGet/NuGet.Config (the
// dotnet CLI) and $XDG_CONFIG_HOME/NuGet/NuGet.Config, ~/.config by default (NuGet on Mono).
func NuGetUserConfigs(goos string, env Lookup) []string {
	if goos == "windows" {
		if a := get(env, "APPDATA"); a != "" {
			return []string{Join(goos, a, "NuGet", "NuGet.Config")}
		}
		if h := Home(goos, env); h != "" {
			return []string{Join(goos, h, "AppData", "Roaming", "NuGet", "NuGet.Config")}
		}
		return nil
	}
	h := get(env, "HOME")
	if h == "" {
		return nil
	}
	xdg := get(env, "XDG_CONFIG_HOME")
	if xdg == "" {
		xdg = Join(goos, h, ".config")
	}
	return []string{Join(goos, h, ".nuget", "NuGet", "NuGet.Config"), Join(goos, xdg, "NuGet", "NuGet.Config")}
}

// defaultPathExt is what Windows uses when PATHEXT is not set.
const defaultPathExt = ".COM;.EXE;.BAT;.CMD"

// LookPath finds the command name in the directories of PATH as goos would: on Unix the first
// regular file with an execute bit; on Windows the first file named name plus one of the
// extensions of PATHEXT (az is az.cmd), or name itself when it already has one of them. It
// returns "" when there is none. The current directory is never searched unless PATH lists it.
func LookPath(goos, name string, env Lookup, stat Stat) string {
	pathList := get(env, "PATH")
	if goos == "windows" && pathList == "" {
		pathList = get(env, "Path") // Windows' own spelling; a test's map may keep it
	}
	listSep := ":"
	if goos == "windows" {
		listSep = ";"
	}
	for _, dir := range strings.Split(pathList, listSep) {
		if dir == "" {
			if goos == "windows" {
				continue
			}
			dir = "."
		}
		if goos == "windows" {
			dir = strings.Trim(dir, `"`)
		}
		for _, cand := range candidates(goos, name, env) {
			p := Join(goos, dir, cand)
			st, err := stat(p)
			if err != nil || !st.Mode().IsRegular() {
				continue
			}
			if goos != "windows" && st.Mode().Perm()&0o111 == 0 {
				continue
			}
			return p
		}
	}
	return ""
}

// candidates are the file names that run as name on goos.
func candidates(goos, name string, env Lookup) []string {
	if goos != "windows" {
		return []string{name}
	}
	pathExt := get(env, "PATHEXT")
	if pathExt == "" {
		pathExt = defaultPathExt
	}
	var exts []string
	for _, e := range strings.Split(pathExt, ";") {
		if e = strings.TrimSpace(e); e != "" {
			if !strings.HasPrefix(e, ".") {
				e = "." + e
			}
			exts = append(exts, strings.ToLower(e))
		}
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		for _, e := range exts {
			if strings.EqualFold(name[i:], e) {
				return []string{name}
			}
		}
	}
	out := make([]string, 0, len(exts))
	for _, e := range exts {
		out = append(out, name+e)
	}
	return out
}

// StateDir is patinject's directory for local use (outside CI): its state file, its keys and
// its journal. On Windows %LOCALAPPDATA%\patinject; elsewhere $XDG_STATE_HOME/patinject, else
// ~/.local/state/patinject. "" when the environment names no absolute place.
func StateDir(goos string, env Lookup) string {
	if goos == "windows" {
		if d := get(env, "LOCALAPPDATA"); IsAbs(goos, d) {
			return Join(goos, d, "patinject")
		}
		if h := Home(goos, env); IsAbs(goos, h) {
			return Join(goos, h, "AppData", "Local", "patinject")
		}
		return ""
	}
	if d := get(env, "XDG_STATE_HOME"); IsAbs(goos, d) {
		return Join(goos, d, "patinject")
	}
	if h := get(env, "HOME"); IsAbs(goos, h) {
		return Join(goos, h, ".local", "state", "patinject")
	}
	return ""
}

// StateFile is the state file in StateDir; "" when there is no StateDir.
func StateFile(goos string, env Lookup) string {
	if d := StateDir(goos, env); d != "" {
		return Join(goos, d, "state.json")
	}
	return ""
}

// MavenUserSettings is Maven's user settings file, ${user.home}/.m2/settings.xml, with
// user.home as Java has it (USERPROFILE on Windows).
func MavenUserSettings(goos string, env Lookup) string {
	h := Home(goos, env)
	if h == "" {
		return ""
	}
	return Join(goos, h, ".m2", "settings.xml")
}
