package release

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/patinject/patinject/internal/testpeer"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

const (
	gitlabComponent = "templates/patinject.yml"
	gitlabTemplate  = "tasks/gitlab/patinject.gitlab-ci.yml"
)

// yamlToJSON turns a YAML document into the value a JSON schema validates.
func yamlToJSON(t testing.TB, doc string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("YAML: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("YAML to JSON: %v", err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// componentDocs splits a CI/CD component into its spec header and its configuration.
func componentDocs(t testing.TB, text string) (header, body string) {
	t.Helper()
	parts := regexp.MustCompile(`(?m)^---\s*$`).Split(text, -1)
	if len(parts) != 2 {
		t.Fatalf("a component is a spec header, ---, and the configuration; found %d documents", len(parts))
	}
	return parts[0], parts[1]
}

var inputRef = regexp.MustCompile(`\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]`)

// interpolate does what GitLab does with a component's inputs: every $[[ inputs.NAME ]] becomes
// the value given, else the input's default; an input the header does not declare is an error.
func interpolate(t testing.TB, header, body string, given map[string]string) string {
	t.Helper()
	var h struct {
		Spec struct {
			Inputs map[string]struct {
				Default     *string
				Description string
			}
		}
	}
	if err := yaml.Unmarshal([]byte(header), &h); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	out := inputRef.ReplaceAllStringFunc(body, func(m string) string {
		name := inputRef.FindStringSubmatch(m)[1]
		in, ok := h.Spec.Inputs[name]
		if !ok {
			t.Errorf("the component uses input %q, which its spec does not declare", name)
			return m
		}
		used[name] = true
		if v, ok := given[name]; ok {
			return v
		}
		if in.Default == nil {
			t.Errorf("input %q has no default and none was given", name)
			return ""
		}
		return *in.Default
	})
	for name, in := range h.Spec.Inputs {
		if !used[name] {
			t.Errorf("input %q is declared but never used", name)
		}
		if in.Description == "" {
			t.Errorf("input %q has no description (the catalog shows it)", name)
		}
	}
	return out
}

// TestGitLabSchema validates the component (its header and its configuration) and the
// include-able template against GitLab's own CI configuration schema.
func TestGitLabSchema(t *testing.T) {
	schema := compileSchema(t, testpeer.Env(t, "PATINJECT_TEST_GITLAB_CI_SCHEMA"))
	root := repoRoot(t)
	header, body := componentDocs(t, readFile(t, filepath.Join(root, gitlabComponent)))
	docs := map[string]string{
		gitlabComponent + " (spec header)":   header,
		gitlabComponent + " (configuration)": interpolate(t, header, body, nil),
		gitlabTemplate:                       readFile(t, filepath.Join(root, gitlabTemplate)),
	}
	for name, doc := range docs {
		v := yamlToJSON(t, doc)
		if err := schema.Validate(v); err != nil {
			t.Errorf("%s is not valid against GitLab's CI schema: %v", name, err)
		}
		// The schema takes anything under a hidden key (.patinject): validate the hidden job
		// again as the job that extends it is, a visible one with a script.
		if m, ok := v.(map[string]any); ok && m[".patinject"] != nil {
			job := m[".patinject"].(map[string]any)
			job["script"] = []any{"patinject run -- ./build.sh"}
			if err := schema.Validate(map[string]any{"build": job}); err != nil {
				t.Errorf("%s: .patinject is not a valid job against GitLab's CI schema: %v", name, err)
			}
		}
	}
	// The check can fail: a job with an unknown keyword, and an input of an unknown type.
	for name, doc := range map[string]string{
		"unknown job keyword": "build:\n  script: [true]\n  before_scripts: [echo]\n",
		"bad input type":      "spec:\n  inputs:\n    version:\n      type: text\n",
	} {
		if schema.Validate(yamlToJSON(t, doc)) == nil {
			t.Errorf("GitLab's schema accepts a configuration with %s: the check proves nothing", name)
		}
	}
}

// installScript returns the before_script of the hidden job .patinject in a configuration.
func installScript(t testing.TB, doc string) (string, map[string]string) {
	t.Helper()
	var cfg map[string]struct {
		Variables    map[string]string
		BeforeScript []string `yaml:"before_script"`
	}
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	job, ok := cfg[".patinject"]
	if !ok || len(job.BeforeScript) == 0 {
		t.Fatalf("no hidden job .patinject with a before_script")
	}
	return strings.Join(job.BeforeScript, "\n"), job.Variables
}

// TestGitLabInstall runs the component's install script as far as a local shell can: against
// the local release server holding the snapshot, with the pins a release would set. It
// downloads, checks the checksums file against its pin and the archive against the checksums
// file, puts patinject on PATH, and a job's `patinject run` redacts a secret; with the archive
// changed or the wrong pin it refuses, saying why; with patinject on PATH it uses that one.
func TestGitLabInstall(t *testing.T) {
	s := snapshot(t)
	sh := testpeer.Command(t, "sh")
	for _, tool := range []string{"curl", "sha256sum", "tar"} {
		testpeer.Command(t, tool)
	}
	root := repoRoot(t)
	header, body := componentDocs(t, readFile(t, filepath.Join(root, gitlabComponent)))
	compScript, _ := installScript(t, body)
	tplScript, tplVars := installScript(t, readFile(t, filepath.Join(root, gitlabTemplate)))
	if compScript != tplScript {
		t.Errorf("the template's install script differs from the component's")
	}
	for _, v := range []string{"PATINJECT_RELEASE_VERSION", "PATINJECT_RELEASE_CHECKSUMS_SHA256", "PATINJECT_RELEASE_URL", "PATINJECT_INSTALL_DIR"} {
		if _, ok := tplVars[v]; !ok {
			t.Errorf("the template does not set %s", v)
		}
	}
	pin := fileSHA256(t, s.sumsFile)
	archive := archiveName(s.version, "linux", "amd64")

	run := func(t *testing.T, tamper func(string, []byte) []byte, pinned, path, jobScript string) (string, error) {
		t.Helper()
		rel := serveRelease(t, s, tamper)
		dir := t.TempDir()
		doc := interpolate(t, header, body, map[string]string{
			"version": s.version, "checksums_sha256": pinned, "download_url": rel.URL, "install_dir": filepath.Join(dir, "bin"),
		})
		script, vars := installScript(t, doc)
		c := exec.Command(sh, "-ec", script+"\n"+jobScript)
		c.Env = []string{"PATH=" + path, "CI_PROJECT_DIR=" + dir, "HOME=" + dir, "SOURCE_VALUE=gitlab-secret-value-0123456789"}
		for k, v := range vars {
			c.Env = append(c.Env, k+"="+v)
		}
		out, err := c.CombinedOutput()
		t.Logf("served %v:\n%s", rel.served(), out)
		return string(out), err
	}

	t.Run("downloads, verifies, runs", func(t *testing.T) {
		out, err := run(t, nil, pin, "/usr/bin:/bin",
			`patinject run --secret DEPLOY=env:SOURCE_VALUE -- sh -c 'echo "deploy is $DEPLOY"'`)
		if err != nil {
			t.Fatalf("install and run: %v", err)
		}
		for _, want := range []string{"patinject: downloading ", "(release " + s.version + ", " + archive, "SHA-256 " + s.checksums[archive],
			"patinject " + s.version + " (commit " + s.commit, "deploy is "} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
		if strings.Contains(out, "gitlab-secret-value-0123456789") {
			t.Errorf("the secret is in the job's output")
		}
	})
	t.Run("archive changed", func(t *testing.T) {
		out, err := run(t, func(name string, b []byte) []byte {
			if name != archive {
				return b
			}
			c := append([]byte(nil), b...)
			c[len(c)/3] ^= 0x80
			return c
		}, pin, "/usr/bin:/bin", "patinject version")
		if err == nil || !strings.Contains(out, "refusing to run the download: the SHA-256 of "+archive+" is ") || strings.Contains(out, "patinject "+s.version) {
			t.Errorf("a changed archive was not refused, or not said why: %v", err)
		}
	})
	t.Run("checksums file not the pinned one", func(t *testing.T) {
		out, err := run(t, nil, strings.Repeat("0", 64), "/usr/bin:/bin", "patinject version")
		if err == nil || !strings.Contains(out, "refusing the download: the SHA-256 of patinject_"+s.version+"_checksums.txt is "+pin) {
			t.Errorf("a checksums file that is not the pinned one was not refused: %v", err)
		}
	})
	t.Run("patinject on PATH", func(t *testing.T) {
		bin := t.TempDir()
		fake := "#!/bin/sh\necho 'patinject fake (commit x)'\n"
		if err := os.WriteFile(filepath.Join(bin, "patinject"), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := run(t, nil, pin, bin+":/usr/bin:/bin", "")
		if err != nil || !strings.Contains(out, "patinject: using "+filepath.Join(bin, "patinject")+" (found on PATH") || strings.Contains(out, "downloading") {
			t.Errorf("patinject on PATH was not used as it is: %v", err)
		}
	})
}

// TestReleasePins runs `scripts/release.sh pin` on the snapshot's clone, as `prepare` does for a
// release, and checks what it pinned: the action's tree holds the checksums file as released,
// and the component's and the template's defaults are the version and the checksums file's
// SHA-256; the component then installs the release with its defaults alone.
func TestReleasePins(t *testing.T) {
	s := snapshot(t)
	sh := testpeer.Command(t, "sh")
	clone := filepath.Dir(s.dist)
	c := exec.Command("bash", "scripts/release.sh", "pin", s.version)
	c.Dir = clone
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release.sh pin: %v\n%s", err, out)
	}
	if got := readFile(t, filepath.Join(clone, "action", "checksums", filepath.Base(s.sumsFile))); got != readFile(t, s.sumsFile) {
		t.Errorf("action/checksums does not hold the release's checksums file as released")
	}
	pin := fileSHA256(t, s.sumsFile)
	// The task and the extension carry the release's version (an agent updates a task only when
	// its version changes).
	core, _, _ := strings.Cut(s.version, "-")
	var task struct {
		Version struct{ Major, Minor, Patch int }
	}
	var ext struct{ Version string }
	json.Unmarshal([]byte(readFile(t, filepath.Join(clone, "tasks/patinject/task.json"))), &task)
	json.Unmarshal([]byte(readFile(t, filepath.Join(clone, "vss-extension.json"))), &ext)
	if got := fmt.Sprintf("%d.%d.%d", task.Version.Major, task.Version.Minor, task.Version.Patch); got != core || ext.Version != core {
		t.Errorf("after pin, task.json is version %s and vss-extension.json %s, want %s", got, ext.Version, core)
	}
	header, body := componentDocs(t, readFile(t, filepath.Join(clone, gitlabComponent)))
	rel := serveRelease(t, s, nil)
	dir := t.TempDir()
	doc := interpolate(t, header, body, map[string]string{"download_url": rel.URL, "install_dir": filepath.Join(dir, "bin")})
	script, vars := installScript(t, doc)
	if vars["PATINJECT_RELEASE_VERSION"] != s.version || vars["PATINJECT_RELEASE_CHECKSUMS_SHA256"] != pin {
		t.Errorf("the component's defaults after pin: %v", vars)
	}
	_, tplVars := installScript(t, readFile(t, filepath.Join(clone, gitlabTemplate)))
	if tplVars["PATINJECT_RELEASE_VERSION"] != s.version || tplVars["PATINJECT_RELEASE_CHECKSUMS_SHA256"] != pin {
		t.Errorf("the template's variables after pin: %v", tplVars)
	}
	run := exec.Command(sh, "-ec", script+"\npatinject version")
	run.Env = []string{"PATH=/usr/bin:/bin", "CI_PROJECT_DIR=" + dir, "HOME=" + dir}
	for k, v := range vars {
		run.Env = append(run.Env, k+"="+v)
	}
	out, err := run.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "patinject "+s.version+" (commit ") {
		t.Errorf("the component with its pinned defaults does not install the release: %v\n%s", err, out)
	}
}
