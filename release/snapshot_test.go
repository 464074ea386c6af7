// Package release tests patinject's release build and what is built from it: the archives and
// checksums goreleaser makes (.goreleaser.yaml, scripts/release.sh), the GitHub Action that
// downloads them, the Azure DevOps extension that bundles them, the GitLab component that
// installs them, and the project's own workflows.
//
// The snapshot of every archive is built once per test run (the first test that needs it builds
// it, from a clean copy of the working tree) and shared by all the tests of this package.
package release

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patinject/patinject/internal/testpeer"
)

// targets are the release's OS/arch pairs.
var targets = []struct{ goos, goarch string }{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

func archiveName(version, goos, goarch string) string {
	ext := "tar.gz"
	if goos == "windows" {
		ext = "zip"
	}
	return fmt.Sprintf("patinject_%s_%s_%s.%s", version, goos, goarch, ext)
}

// snapshotBuild is the result of `scripts/release.sh snapshot` run on a clean copy of the tree.
type snapshotBuild struct {
	dist      string            // dist/ of the copy: the archives and the checksums file
	version   string            // the snapshot's version, as in the archive names
	commit    string            // the commit stamped in (the copy's HEAD)
	checksums map[string]string // archive name -> SHA-256 hex, from the checksums file
	sumsFile  string            // path of patinject_<version>_checksums.txt
	took      time.Duration
}

var (
	snapOnce sync.Once
	snap     *snapshotBuild
	snapErr  error
	snapRoot string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if snapRoot != "" {
		os.RemoveAll(snapRoot)
	}
	os.Exit(code)
}

// repoRoot is the module's root (this package is one level below it).
func repoRoot(t testing.TB) string {
	t.Helper()
	abs, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// snapshot builds the snapshot once per test run and returns it; a test that needs it and
// cannot have it fails (or skips outside CI when goreleaser is not installed).
func snapshot(t testing.TB) *snapshotBuild {
	t.Helper()
	gr := testpeer.Env(t, "PATINJECT_TEST_GORELEASER")
	git := testpeer.Command(t, "git")
	testpeer.Command(t, "go")
	root := repoRoot(t)
	snapOnce.Do(func() { snap, snapErr = buildSnapshot(gr, git, root) })
	if snapErr != nil {
		t.Fatalf("building the release snapshot: %v", snapErr)
	}
	return snap
}

func buildSnapshot(goreleaser, git, root string) (*snapshotBuild, error) {
	dir, err := os.MkdirTemp("", "patinject-release-")
	if err != nil {
		return nil, err
	}
	snapRoot = dir
	clone := filepath.Join(dir, "src")
	// A clean clone of the working tree as it is (tracked and new files, uncommitted edits
	// included, ignored files not): what a fresh `git clone` of this change would hold.
	ls := exec.Command(git, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = root
	list, err := ls.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimSuffix(string(list), "\x00"), "\x00") {
		src := filepath.Join(root, f)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree, or not a file
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		dst := filepath.Join(clone, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(dst, b, fi.Mode().Perm()); err != nil {
			return nil, err
		}
	}
	env := append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid", "GORELEASER="+goreleaser)
	// A clone has its remote, which goreleaser reads its commit from.
	for _, args := range [][]string{{"init", "-q", "--initial-branch=main"}, {"remote", "add", "origin", "https://github.com/patinject/patinject.git"},
		{"add", "-A"}, {"commit", "-q", "-m", "snapshot"}} {
		c := exec.Command(git, args...)
		c.Dir, c.Env = clone, env
		if out, err := c.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("git %v: %v\n%s", args, err, out)
		}
	}
	head := exec.Command(git, "rev-parse", "HEAD")
	head.Dir = clone
	commit, err := head.Output()
	if err != nil {
		return nil, err
	}
	// The documented command, as a user runs it.
	start := time.Now()
	c := exec.Command("bash", "scripts/release.sh", "snapshot")
	c.Dir, c.Env = clone, env
	out, err := c.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("scripts/release.sh snapshot: %v\n%s", err, out)
	}
	s := &snapshotBuild{dist: filepath.Join(clone, "dist"), commit: strings.TrimSpace(string(commit)), took: time.Since(start), checksums: map[string]string{}}
	sums, _ := filepath.Glob(filepath.Join(s.dist, "patinject_*_checksums.txt"))
	if len(sums) != 1 {
		return nil, fmt.Errorf("want one checksums file in dist/, found %v\n%s", sums, out)
	}
	s.sumsFile = sums[0]
	s.version = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(sums[0]), "patinject_"), "_checksums.txt")
	f, err := os.Open(sums[0])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	line := regexp.MustCompile(`^([0-9a-f]{64})  (\S+)$`)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			return nil, fmt.Errorf("checksums file line %q is not `SHA256  NAME`", sc.Text())
		}
		s.checksums[m[2]] = m[1]
	}
	return s, sc.Err()
}

func fileSHA256(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// binaryFrom returns the patinject binary inside a release archive.
func binaryFrom(t testing.TB, archive string) []byte {
	t.Helper()
	if strings.HasSuffix(archive, ".zip") {
		zr, err := zip.OpenReader(archive)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			if f.Name == "patinject.exe" {
				r, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				b, err := io.ReadAll(r)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
		}
		t.Fatalf("%s holds no patinject.exe", archive)
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "patinject" && h.Typeflag == tar.TypeReg {
			if h.Mode&0o111 == 0 {
				t.Errorf("%s: patinject is not executable (mode %o)", archive, h.Mode)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("%s holds no patinject", archive)
	return nil
}

// checkHeader checks that bin is an executable for goos/goarch by its file header, and static
// where the format says so.
func checkHeader(bin []byte, goos, goarch string) error {
	r := bytes.NewReader(bin)
	switch goos {
	case "linux":
		f, err := elf.NewFile(r)
		if err != nil {
			return fmt.Errorf("not ELF: %v", err)
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[goarch]
		if f.Machine != want || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
			return fmt.Errorf("ELF %v %v %v, want an %v executable", f.Class, f.Machine, f.Type, want)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				return fmt.Errorf("dynamically linked (has an interpreter): CGO was not off")
			}
		}
	case "darwin":
		f, err := macho.NewFile(r)
		if err != nil {
			return fmt.Errorf("not Mach-O: %v", err)
		}
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[goarch]
		if f.Cpu != want || f.Type != macho.TypeExec {
			return fmt.Errorf("Mach-O %v %v, want an %v executable", f.Cpu, f.Type, want)
		}
	case "windows":
		f, err := pe.NewFile(r)
		if err != nil {
			return fmt.Errorf("not PE: %v", err)
		}
		want := map[string]uint16{"amd64": pe.IMAGE_FILE_MACHINE_AMD64, "arm64": pe.IMAGE_FILE_MACHINE_ARM64}[goarch]
		if f.Machine != want || f.Characteristics&pe.IMAGE_FILE_EXECUTABLE_IMAGE == 0 {
			return fmt.Errorf("PE machine %#x characteristics %#x, want an executable for %#x", f.Machine, f.Characteristics, want)
		}
	default:
		return fmt.Errorf("no check for %s", goos)
	}
	return nil
}

// TestSnapshotArchives builds the release snapshot with the documented command from a clean
// copy of the tree and checks what it made: an archive per target named as the action, task and
// component expect, every one listed with its right SHA-256 in the checksums file, each holding
// a binary for its OS and architecture, and the linux/amd64 one stamped with the snapshot's
// version, commit and date.
func TestSnapshotArchives(t *testing.T) {
	s := snapshot(t)
	t.Logf("snapshot %s built in %v", s.version, s.took.Round(time.Second))
	if len(s.checksums) != len(targets) {
		t.Errorf("the checksums file lists %d files, want %d: %v", len(s.checksums), len(targets), s.checksums)
	}
	for _, tg := range targets {
		name := archiveName(s.version, tg.goos, tg.goarch)
		p := filepath.Join(s.dist, name)
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s/%s: %v", tg.goos, tg.goarch, err)
			continue
		}
		if got, want := fileSHA256(t, p), s.checksums[name]; got != want {
			t.Errorf("%s: SHA-256 %s, the checksums file says %q", name, got, want)
		}
		if err := checkHeader(binaryFrom(t, p), tg.goos, tg.goarch); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A binary of the wrong kind fails the header check (the check can fail).
	linux := binaryFrom(t, filepath.Join(s.dist, archiveName(s.version, "linux", "amd64")))
	if checkHeader(linux, "linux", "arm64") == nil || checkHeader(linux, "darwin", "amd64") == nil {
		t.Errorf("the header check accepts a linux/amd64 binary as another target")
	}

	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		testpeer.Missing(t, "running the linux/amd64 binary needs a linux/amd64 machine")
		return
	}
	bin := filepath.Join(t.TempDir(), "patinject")
	if err := os.WriteFile(bin, linux, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("patinject version: %v\n%s", err, out)
	}
	got := strings.TrimSpace(string(out))
	want := regexp.MustCompile(`^patinject ` + regexp.QuoteMeta(s.version) + ` \(commit ` + s.commit +
		`, built \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, go1\.[0-9.]+\)$`)
	if !want.MatchString(got) || strings.Contains(got, "dev") {
		t.Errorf("patinject version prints %q, want the stamped version %s, commit %s and date", got, s.version, s.commit)
	}
}

// releaseServer serves dist as GitHub serves release assets: /v<version>/<asset>. tamper, when
// set, changes what is served for one asset name.
type releaseServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
}

func serveRelease(t testing.TB, s *snapshotBuild, tamper func(name string, b []byte) []byte) *releaseServer {
	t.Helper()
	rs := &releaseServer{}
	prefix := "/v" + s.version + "/"
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.requests = append(rs.requests, r.URL.Path)
		rs.mu.Unlock()
		name := strings.TrimPrefix(r.URL.Path, prefix)
		if !strings.HasPrefix(r.URL.Path, prefix) || strings.Contains(name, "/") || name == "" {
			http.NotFound(w, r)
			return
		}
		b, err := os.ReadFile(filepath.Join(s.dist, name))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if tamper != nil {
			b = tamper(name, b)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *releaseServer) served() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]string(nil), rs.requests...)
}

// TestReleaseReproducible follows the release procedure on a clone of the snapshot's tree:
// `scripts/release.sh prepare V` builds V and pins its checksums, the pins are committed and
// tagged, and `scripts/release.sh build V` at the tag (what the release workflow runs) makes the
// same archives byte for byte, so the workflow can refuse a tag whose rebuilt archives are not
// the ones its tree pins.
func TestReleaseReproducible(t *testing.T) {
	s := snapshot(t)
	git := testpeer.Command(t, "git")
	gr := testpeer.Env(t, "PATINJECT_TEST_GORELEASER")
	dir := t.TempDir()
	env := append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid", "GORELEASER="+gr)
	cmd := func(name string, args ...string) string {
		t.Helper()
		c := exec.Command(name, args...)
		c.Dir, c.Env = dir, env
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	cmd(git, "clone", "-q", filepath.Dir(s.dist), ".")
	cmd(git, "remote", "set-url", "origin", "https://github.com/patinject/patinject.git")
	const v = "9.9.9"
	cmd("bash", "scripts/release.sh", "prepare", v)
	sums := "patinject_" + v + "_checksums.txt"
	pinned := readFile(t, filepath.Join(dir, "action", "checksums", sums))
	// The pins commit changes only the pinned files (and so does not change what is stamped).
	cmd(git, "add", "-A")
	if st := cmd(git, "status", "--porcelain"); strings.Contains(st, "dist/") {
		t.Errorf("dist/ would be committed with the pins:\n%s", st)
	}
	cmd(git, "commit", "-q", "-m", "release "+v)
	cmd(git, "tag", "v"+v)
	cmd("bash", "scripts/release.sh", "build", v)
	if rebuilt := readFile(t, filepath.Join(dir, "dist", sums)); rebuilt != pinned {
		t.Errorf("the tag's rebuilt archives differ from the ones it pins:\npinned:\n%s\nrebuilt:\n%s", pinned, rebuilt)
	}
	out, err := exec.Command("sh", "-c", "tar -xzOf "+filepath.Join(dir, "dist", archiveName(v, "linux", "amd64"))+" patinject > "+filepath.Join(dir, "p")+" && chmod +x "+filepath.Join(dir, "p")+" && "+filepath.Join(dir, "p")+" version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "patinject "+v+" (commit "+s.commit) {
		t.Errorf("the tag's binary does not stamp %s and the source commit %s: %v %s", v, s.commit, err, out)
	}
}
