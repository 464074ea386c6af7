package release

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/patinject/patinject/internal/testpeer"
	"github.com/patinject/patinject/source/adopat/adotest"
)

// The workflow act runs: the action mints a PAT from the fake Azure DevOps and hands it on, a
// later step prints it (masked), SWAP_STEP (if any) runs between the main and the post step.
const actReleaseWorkflow = `name: release-e2e
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    env:
      ENTRA_TOKEN: ${{ secrets.ENTRA_TOKEN }}
      PATINJECT_DOWNLOAD_URL: @DOWNLOAD_URL@
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        id: pat
        with:
          token: ado-pat://contoso?scope=vso.code&ttl=1h
          ado-url: ADO_URL
          ado-access-token: env:ENTRA_TOKEN
          token-env: ADO_PAT
      - name: print the token
        run: |
          echo "the token is $ADO_PAT"
          printf 'length %s\n' "${#ADO_PAT}"
SWAP_STEP`

// swapStep replaces, between the main and the post step, the patinject the main step ran (in
// the tool cache, where the action unpacked it) with a script that would receive cleanup's
// credentials.
const swapStep = `      - name: a later step replaces the binary
        run: |
          for f in "${RUNNER_TOOL_CACHE:-$RUNNER_TEMP/patinject-tool-cache}"/patinject/*/*/patinject; do
            printf '#!/bin/sh\necho SWAPPED-BINARY-RAN "$@"\n' > "$f"
            echo "replaced $f"
          done
`

type actRun struct {
	out     string
	err     error
	mainDur string // act's own figure for the action's main step
	ado     *adotest.Server
}

// runActWithRelease runs the workflow in act with the snapshot served over HTTP (tamper may
// change what is served), with no patinject and no go on PATH, and the action's tree pinning
// the snapshot's checksums as a release tag would.
func runActWithRelease(t *testing.T, s *snapshotBuild, tamper func(string, []byte) []byte, extraStep string) *actRun {
	t.Helper()
	act := testpeer.Env(t, "PATINJECT_TEST_ACT")
	git := testpeer.Command(t, "git")
	node := testpeer.Command(t, "node")
	root := repoRoot(t)

	rel := serveRelease(t, s, tamper)
	ado := adotest.NewServer(t)

	work := t.TempDir()
	files := map[string]string{
		".github/workflows/e2e.yml": strings.NewReplacer("ADO_URL", ado.URL, "@DOWNLOAD_URL@", rel.URL, "SWAP_STEP", extraStep).Replace(actReleaseWorkflow),
		// What scripts/release.sh prepare commits for a release: the checksums it pins.
		"action/checksums/" + filepath.Base(s.sumsFile): readFile(t, s.sumsFile),
		"tasks/patinject/launch.js":                     readFile(t, filepath.Join(root, "tasks/patinject/launch.js")),
		"action.yml":                                    readFile(t, filepath.Join(root, "action.yml")),
	}
	js, _ := filepath.Glob(filepath.Join(root, "action", "*.js"))
	for _, f := range js {
		files["action/"+filepath.Base(f)] = readFile(t, f)
	}
	for name, content := range files {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	home := t.TempDir()
	gitEnv := []string{"HOME=" + home, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH"),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid"}
	for _, args := range [][]string{{"init", "-q", "--initial-branch=main"}, {"add", "."}, {"commit", "-q", "-m", "e2e"}} {
		c := exec.Command(git, args...)
		c.Dir, c.Env = work, gitEnv
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}

	// No go and no patinject on PATH: only git, node and the system's directories.
	var dirs []string
	for _, d := range []string{filepath.Dir(git), filepath.Dir(node), "/usr/bin", "/bin"} {
		for _, tool := range []string{"go", "patinject"} {
			if _, err := os.Stat(filepath.Join(d, tool)); err == nil {
				testpeer.Missing(t, d+" holds "+tool+": cannot run the action without it on PATH")
			}
		}
		dirs = append(dirs, d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, act, "push", "-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "-s", "ENTRA_TOKEN")
	c.Dir = work
	c.Env = []string{"HOME=" + home, "PATH=" + strings.Join(dirs, string(os.PathListSeparator)), "ENTRA_TOKEN=" + ado.AccessToken,
		"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1"}
	c.WaitDelay = 10 * time.Second
	outb, err := c.CombinedOutput()
	r := &actRun{out: string(outb), err: err, ado: ado}
	if m := regexp.MustCompile(`Success - Main \./ \[([^\]]+)\]`).FindStringSubmatch(r.out); m != nil {
		r.mainDur = m[1]
	}
	t.Logf("act output:\n%s", mask(r.out, ado))
	t.Logf("release server served %v", rel.served())
	return r
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// mask keeps the PAT and the Entra token out of the test's own log.
func mask(s string, ado *adotest.Server) string {
	for _, p := range ado.PATs() {
		s = strings.ReplaceAll(s, p.Token, "<PAT>")
	}
	return strings.ReplaceAll(s, ado.AccessToken, "<ENTRA>")
}

func leaksSecrets(t *testing.T, r *actRun) {
	t.Helper()
	for _, p := range r.ado.PATs() {
		for _, form := range []string{p.Token, b64(p.Token), b64(":" + p.Token), b64("patinject:" + p.Token)} {
			if strings.Contains(r.out, form) {
				t.Errorf("act's output shows a form of the PAT")
			}
		}
	}
	if strings.Contains(r.out, r.ado.AccessToken) {
		t.Errorf("act's output shows the Entra token")
	}
}

// TestActionDownloadsRelease: with no patinject and no go on the runner, the action downloads the
// release archive for the runner from PATINJECT_DOWNLOAD_URL, checks it against the SHA-256 its
// own tree pins, unpacks it into the tool cache, says which binary it used and where it came
// from, injects; the post step runs the same binary (hash checked) and revokes.
func TestActionDownloadsRelease(t *testing.T) {
	s := snapshot(t)
	r := runActWithRelease(t, s, nil, "")
	if r.err != nil {
		t.Fatalf("act: %v", r.err)
	}
	t.Logf("main step (download, verify, unpack, inject): %s", r.mainDur)
	archive := archiveName(s.version, "linux", "amd64")
	for _, want := range []string{
		"patinject: downloading ",
		archive + " from ",
		"SHA-256 " + s.checksums[archive] + " as pinned in action/checksums",
		"patinject: using ", "(the binary the main step ran, SHA-256 ",
		"the token is ***", "length 52",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("act's output lacks %q", want)
		}
	}
	pats := r.ado.PATs()
	if r.ado.Creates() != 1 || len(pats) != 1 {
		t.Fatalf("minted %d PATs, want 1", r.ado.Creates())
	}
	if got := r.ado.Revokes(pats[0].AuthorizationID); got != 1 {
		t.Errorf("the PAT was revoked %d times, want once (by the post step)", got)
	}
	if len(r.ado.Live()) != 0 {
		t.Errorf("a PAT is still live after the job")
	}
	leaksSecrets(t, r)
}

// TestActionRefusesTamperedArchive: one byte of the archive changed on the server: the action
// refuses to run it, says why, and mints nothing.
func TestActionRefusesTamperedArchive(t *testing.T) {
	s := snapshot(t)
	archive := archiveName(s.version, "linux", "amd64")
	r := runActWithRelease(t, s, func(name string, b []byte) []byte {
		if name != archive {
			return b
		}
		c := append([]byte(nil), b...)
		c[len(c)/2] ^= 0x01
		return c
	}, "")
	if r.err == nil {
		t.Errorf("act succeeded with a tampered archive")
	}
	want := "refusing to run the downloaded patinject: the SHA-256 of " + archive + " is "
	if !strings.Contains(r.out, want) || !strings.Contains(r.out, "pins "+s.checksums[archive]) {
		t.Errorf("act's output does not say why it refused (want %q ... pins %s)", want, s.checksums[archive])
	}
	if r.ado.Creates() != 0 {
		t.Errorf("a PAT was minted with a binary that failed its check")
	}
	if strings.Contains(r.out, "length 52") {
		t.Errorf("a token was handed on to a later step")
	}
}

// TestActionPostRefusesSwappedBinary: a step between the main and the post step replaces the
// binary the main step ran; the post step refuses to run it (it would get the credentials that
// revoke), saying why.
func TestActionPostRefusesSwappedBinary(t *testing.T) {
	s := snapshot(t)
	r := runActWithRelease(t, s, nil, swapStep)
	if !strings.Contains(r.out, "replaced ") {
		t.Fatalf("the swap step replaced nothing: the test proves nothing")
	}
	if strings.Contains(r.out, "SWAPPED-BINARY-RAN") {
		t.Errorf("the post step ran the replaced binary")
	}
	if !strings.Contains(r.out, "refusing to run cleanup: ") || !strings.Contains(r.out, "was replaced after the main step ran it") {
		t.Errorf("the post step does not say why it refused")
	}
	if r.err == nil {
		t.Errorf("act succeeded although the post step refused")
	}
	if r.ado.Creates() != 1 {
		t.Errorf("minted %d PATs, want 1 (the main step ran)", r.ado.Creates())
	}
	leaksSecrets(t, r)
}
