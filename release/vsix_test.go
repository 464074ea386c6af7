package release

import (
	"archive/zip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/patinject/patinject/internal/testpeer"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// specsDir holds the platforms' own schemas, beside the repository.
const specsDir = "../../shared/specs"

func specPath(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(specsDir, name)
	if _, err := os.Stat(p); err != nil {
		testpeer.Missing(t, p+" not found (the shared specs lie beside the repository)")
	}
	return p
}

// compileSchema compiles the JSON schema at path (any draft the file names).
func compileSchema(t testing.TB, path string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	url := "file:///" + filepath.Base(path)
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compiling %s: %v", path, err)
	}
	return s
}

// nodeArch is Node's name for a Go architecture, as the task's bin/ folders are named.
func nodeDir(goos, goarch string) string {
	p := map[string]string{"linux": "linux", "darwin": "darwin", "windows": "win32"}[goos]
	a := map[string]string{"amd64": "x64", "arm64": "arm64"}[goarch]
	return p + "-" + a
}

// unzipPlain unpacks a zip as the agent unpacks an extension's task: files with no mode bits
// from the archive (so no execute bit).
func unzipPlain(t testing.TB, archive, dir string) []string {
	t.Helper()
	zr, err := zip.OpenReader(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(dst, filepath.Clean(dir)+string(os.PathSeparator)) {
			t.Fatalf("zip entry %q leaves the directory", f.Name)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// TestVSIX packs the Azure DevOps extension with the documented command from the snapshot,
// unpacks it as the agent would, and checks it: task.json valid against the task schema with a
// Node24 handler and a fallback, a binary per agent platform of the right kind, and the task's
// JavaScript, run from the unpacked extension with no go and no patinject on PATH and the
// agent's variables set, finds its own binary and injects, and its post-job handler cleans up.
func TestVSIX(t *testing.T) {
	s := snapshot(t)
	tfx := testpeer.Env(t, "PATINJECT_TEST_TFX")
	node := testpeer.Command(t, "node")
	root := repoRoot(t)

	out := t.TempDir()
	c := exec.Command("bash", filepath.Join(root, "scripts/vsix.sh"), s.dist, out)
	c.Dir = root
	c.Env = append(os.Environ(), "TFX="+tfx)
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("scripts/vsix.sh: %v\n%s", err, b)
	}
	vsix, _ := filepath.Glob(filepath.Join(out, "*.vsix"))
	if len(vsix) != 1 {
		t.Fatalf("want one .vsix in %s, found %v", out, vsix)
	}
	ext := t.TempDir()
	names := unzipPlain(t, vsix[0], ext)
	for _, want := range []string{"extension.vsixmanifest", "extension.vsomanifest", "tasks/patinject/task.json"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("the .vsix lacks %s (holds %v)", want, names)
		}
	}
	manifest := readFile(t, filepath.Join(ext, "extension.vsomanifest"))
	if !strings.Contains(manifest, `"ms.vss-distributed-task.task"`) || !strings.Contains(manifest, `"tasks/patinject"`) {
		t.Errorf("the extension contributes no task from tasks/patinject:\n%s", manifest)
	}

	task := filepath.Join(ext, "tasks", "patinject")
	schema := compileSchema(t, specPath(t, "azure-pipelines-tasks.schema.json"))
	f, err := os.Open(filepath.Join(task, "task.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Errorf("task.json in the .vsix is not valid against the task schema: %v", err)
	}
	// The schema checker can fail: an unknown handler is refused.
	var bad map[string]any
	json.Unmarshal([]byte(readFile(t, filepath.Join(task, "task.json"))), &bad)
	bad["execution"].(map[string]any)["Node99"] = map[string]any{"target": "index.js"}
	if schema.Validate(bad) == nil {
		t.Errorf("the task schema accepts an unknown handler: the check proves nothing")
	}
	for _, stage := range []string{"execution", "postjobexecution"} {
		h, _ := doc.(map[string]any)[stage].(map[string]any)
		for _, handler := range []string{"Node24", "Node20_1"} {
			if _, ok := h[handler]; !ok {
				t.Errorf("task.json %s has no %s handler (newest first, then the fallback)", stage, handler)
			}
		}
	}

	for _, tg := range targets {
		exe := "patinject"
		if tg.goos == "windows" {
			exe = "patinject.exe"
		}
		p := filepath.Join(task, "bin", nodeDir(tg.goos, tg.goarch), exe)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("no binary for %s/%s: %v", tg.goos, tg.goarch, err)
			continue
		}
		if err := checkHeader(b, tg.goos, tg.goarch); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}

	// The task's JavaScript, from the unpacked extension, on an agent with no go and no patinject.
	for _, d := range []string{"/usr/bin", "/bin"} {
		for _, tool := range []string{"go", "patinject"} {
			if _, err := os.Stat(filepath.Join(d, tool)); err == nil {
				testpeer.Missing(t, d+" holds "+tool)
			}
		}
	}
	temp := t.TempDir()
	env := []string{
		"PATH=/usr/bin:/bin", "TF_BUILD=True", "AGENT_TEMPDIRECTORY=" + temp, "HOME=" + t.TempDir(),
		"SYSTEM_TEAMFOUNDATIONCOLLECTIONURI=https://dev.azure.example/org/", "BUILD_BUILDID=7",
		"INPUT_SECRETS=DEPLOY_KEY=env:SOURCE_KEY", "INPUT_NETRC=feeds.example.com", "INPUT_TOKEN=env:SOURCE_TOKEN",
		"SOURCE_KEY=vsix-deploy-key-0123456789", "SOURCE_TOKEN=vsix-token-abcdefghijklmnop",
		"SECRET_LEAK=leak-me",
	}
	run := func(script string) string {
		t.Helper()
		c := exec.Command(node, filepath.Join(task, script))
		c.Env = env
		b, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", script, err, b)
		}
		return string(b)
	}
	got := run("index.js")
	t.Logf("index.js:\n%s", got)
	self := filepath.Join(task, "bin", nodeDir("linux", "amd64"), "patinject")
	for _, want := range []string{
		"patinject: using " + self + " (bundled with the task for linux-x64)",
		"##vso[task.setsecret]vsix-deploy-key-0123456789",
		"##vso[task.setvariable variable=DEPLOY_KEY;issecret=true;]vsix-deploy-key-0123456789",
		"##vso[task.setsecret]vsix-token-abcdefghijklmnop",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("index.js output lacks %q", want)
		}
	}
	if strings.Contains(got, "leak-me") {
		t.Errorf("an agent secret reached the output")
	}
	// What the agent does with a task variable set by the execution handler: the post-job
	// handler gets it as VSTS_TASKVARIABLE_<NAME> (the key that authenticates the state).
	for _, m := range regexp.MustCompile(`(?m)^##vso\[task\.settaskvariable variable=([A-Za-z0-9_]+);[^\]]*\](.*)$`).FindAllStringSubmatch(got, -1) {
		env = append(env, "VSTS_TASKVARIABLE_"+strings.ToUpper(m[1])+"="+m[2])
	}
	state := filepath.Join(temp, "patinject-state.json")
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("inject recorded no state: %v", err)
	}
	got = run("post.js")
	t.Logf("post.js:\n%s", got)
	if !strings.Contains(got, "patinject: using "+self+" (the binary the execution handler ran, its SHA-256 checked)") {
		t.Errorf("post.js did not run the binary the execution handler ran")
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("the state file is still there after the post-job handler: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(temp, "patinject*"))
	if len(left) > 0 {
		t.Errorf("left behind in Agent.TempDirectory: %v", left)
	}
}
