package release

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patinject/patinject/internal/testpeer"
)

// TestActionToolCache runs the action's main.js with node, as the runner does, against the
// snapshot on a local server, several times over one tool cache (a self-hosted runner's cache
// outlives its jobs): the first run downloads; the next use the cached archive, hashed again
// against the pin each time; a binary or an archive changed in the cache between jobs is never
// run; a version the action's tree does not pin is refused.
func TestActionToolCache(t *testing.T) {
	s := snapshot(t)
	node := testpeer.Command(t, "node")
	root := repoRoot(t)
	archive := archiveName(s.version, "linux", "amd64")

	// The action's tree as a release tag holds it.
	action := t.TempDir()
	files := map[string]string{
		"action/checksums/" + filepath.Base(s.sumsFile): readFile(t, s.sumsFile),
		"tasks/patinject/launch.js":                     readFile(t, filepath.Join(root, "tasks/patinject/launch.js")),
	}
	js, _ := filepath.Glob(filepath.Join(root, "action", "*.js"))
	for _, f := range js {
		files["action/"+filepath.Base(f)] = readFile(t, f)
	}
	for name, content := range files {
		p := filepath.Join(action, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rel := serveRelease(t, s, nil)
	cache := t.TempDir()
	cacheDir := filepath.Join(cache, "patinject", s.version, "x64")

	main := func(t *testing.T, extra ...string) (string, map[string]string, error) {
		t.Helper()
		state := filepath.Join(t.TempDir(), "state")
		os.WriteFile(state, nil, 0o600)
		c := exec.Command(node, filepath.Join(action, "action", "main.js"))
		c.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "RUNNER_TEMP=" + t.TempDir(), "RUNNER_TOOL_CACHE=" + cache,
			"GITHUB_STATE=" + state, "GITHUB_ENV=" + filepath.Join(t.TempDir(), "env"), "GITHUB_ACTIONS=true",
			"PATINJECT_DOWNLOAD_URL=" + rel.URL, "INPUT_SECRETS=DEMO=env:DEMO_SOURCE", "DEMO_SOURCE=tool-cache-demo-0123456789"}, extra...)
		out, err := c.CombinedOutput()
		saved := map[string]string{}
		b, _ := os.ReadFile(state)
		lines := strings.Split(string(b), "\n")
		for i := 0; i+1 < len(lines); i++ {
			if name, _, ok := strings.Cut(lines[i], "<<"); ok {
				saved[name] = lines[i+1]
			}
		}
		return string(out), saved, err
	}
	downloads := func() int {
		n := 0
		for _, p := range rel.served() {
			if strings.HasSuffix(p, "/"+archive) {
				n++
			}
		}
		return n
	}

	out, saved, err := main(t)
	if err != nil || downloads() != 1 || !strings.Contains(out, archive+" from http://") {
		t.Fatalf("first run: %v, %d downloads\n%s", err, downloads(), out)
	}
	if !strings.Contains(out, "::add-mask::tool-cache-demo-0123456789") {
		t.Errorf("the downloaded patinject did not inject:\n%s", out)
	}
	bin := filepath.Join(cacheDir, "patinject")
	if saved["bin"] != bin || saved["binsha256"] != fileSHA256(t, bin) {
		t.Errorf("the main step saved bin=%q binsha256=%q, want %s and its SHA-256", saved["bin"], saved["binsha256"], bin)
	}

	out, _, err = main(t)
	if err != nil || downloads() != 1 || !strings.Contains(out, archive+" from the tool cache") {
		t.Errorf("second run: %v, %d downloads (want the cached archive)\n%s", err, downloads(), out)
	}

	// A binary replaced in the cache between jobs: unpacked again from the verified archive.
	os.WriteFile(bin, []byte("#!/bin/sh\necho CACHE-SWAP-RAN\n"), 0o755)
	out, _, err = main(t)
	if err != nil || strings.Contains(out, "CACHE-SWAP-RAN") || !strings.Contains(out, "::add-mask::") {
		t.Errorf("with the cached binary replaced: %v\n%s", err, out)
	}

	// An archive changed in the cache: not the pinned one, downloaded again.
	cached := filepath.Join(cacheDir, archive)
	b, _ := os.ReadFile(cached)
	b[len(b)/2] ^= 1
	os.WriteFile(cached, b, 0o644)
	out, _, err = main(t)
	if err != nil || downloads() != 2 || !strings.Contains(out, "is not the pinned one; downloading it again") {
		t.Errorf("with the cached archive changed: %v, %d downloads\n%s", err, downloads(), out)
	}

	// A version this tree does not pin: refused, never downloaded.
	out, _, err = main(t, "INPUT_VERSION=v9.8.7")
	if err == nil || !strings.Contains(out, "pins no checksums for patinject 9.8.7") || downloads() != 2 {
		t.Errorf("an unpinned version: %v\n%s", err, out)
	}
}

// TestActionPostStep runs the action's post.js with node as the runner does, with the state the
// main step saved: it runs the recorded binary only while its SHA-256 is the recorded one, runs
// cleanup without --state when the main step's patinject died before writing its state (cleanup
// then takes back what its journal holds), and runs nothing when the main step ran nothing.
func TestActionPostStep(t *testing.T) {
	node := testpeer.Command(t, "node")
	root := repoRoot(t)
	dir := t.TempDir()
	dump := filepath.Join(dir, "argv")
	bin := filepath.Join(dir, "patinject")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+dump+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sum := fileSHA256(t, bin)
	post := func(t *testing.T, state map[string]string) (string, []string, error) {
		t.Helper()
		os.Remove(dump)
		c := exec.Command(node, filepath.Join(root, "action", "post.js"))
		c.Env = []string{"PATH=/usr/bin:/bin", "RUNNER_TEMP=" + t.TempDir()}
		for k, v := range state {
			c.Env = append(c.Env, "STATE_"+k+"="+v)
		}
		out, err := c.CombinedOutput()
		var argv []string
		if b, rerr := os.ReadFile(dump); rerr == nil {
			argv = strings.Fields(string(b))
		}
		return string(out), argv, err
	}

	out, argv, err := post(t, map[string]string{"state": "/job/tmp/patinject-state.json", "bin": bin, "binsha256": sum})
	if err != nil || strings.Join(argv, " ") != "cleanup --platform github --state /job/tmp/patinject-state.json" {
		t.Errorf("with state: %v, argv %q\n%s", err, argv, out)
	}
	out, argv, err = post(t, map[string]string{"bin": bin, "binsha256": sum})
	if err != nil || strings.Join(argv, " ") != "cleanup --platform github" || !strings.Contains(out, "recorded no state") {
		t.Errorf("binary recorded, no state: %v, argv %q\n%s", err, argv, out)
	}
	out, argv, err = post(t, nil)
	if err != nil || argv != nil || !strings.Contains(out, "nothing to clean up") {
		t.Errorf("nothing recorded: %v, argv %q\n%s", err, argv, out)
	}
	for name, state := range map[string]map[string]string{
		"no hash recorded": {"state": "/s", "bin": bin},
		"hash differs":     {"state": "/s", "bin": bin, "binsha256": strings.Repeat("0", 64)},
		"binary gone":      {"state": "/s", "bin": bin + ".gone", "binsha256": sum},
	} {
		out, argv, _ := post(t, state)
		if argv != nil || !strings.Contains(out, "refusing to run cleanup: ") {
			t.Errorf("%s: ran %q, or did not say why not\n%s", name, argv, out)
		}
	}
}
