package release

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patinject/patinject/internal/testpeer"
)

// TestWorkflowsActionlint runs actionlint on the project's workflows (.github/workflows): their
// syntax, expressions, job and step keys, the inputs given to the action in this repository
// (checked against action.yml) and to well-known actions.
func TestWorkflowsActionlint(t *testing.T) {
	actionlint := testpeer.Env(t, "PATINJECT_TEST_ACTIONLINT")
	root := repoRoot(t)
	for _, f := range []string{"ci.yml", "release.yml"} {
		if _, err := os.Stat(filepath.Join(root, ".github", "workflows", f)); err != nil {
			t.Errorf("no workflow %s: %v", f, err)
		}
	}
	c := exec.Command(actionlint, "-no-color")
	c.Dir = root
	if out, err := c.CombinedOutput(); err != nil {
		t.Errorf("actionlint: %v\n%s", err, out)
	}

	// actionlint can fail here: a workflow that gives this repository's action an input it does
	// not have, and that reads an output of a step that does not exist.
	bad := t.TempDir()
	files := map[string]string{
		"action.yml": readFile(t, filepath.Join(root, "action.yml")),
		".github/workflows/bad.yml": `name: bad
on: push
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - uses: ./
        with:
          tokn: env:X
      - run: echo "${{ steps.nope.outputs.state }}"
`,
	}
	for name, content := range files {
		p := filepath.Join(bad, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// actionlint finds the project by its git repository.
	git := testpeer.Command(t, "git")
	if out, err := exec.Command(git, "init", "-q", bad).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	c = exec.Command(actionlint, "-no-color")
	c.Dir = bad
	out, err := c.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "tokn") {
		t.Errorf("actionlint accepts an input the action does not have: %v\n%s", err, out)
	}
}
