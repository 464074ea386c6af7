package cleanup

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/patinject/patinject/internal/privdir"
	"github.com/patinject/patinject/msgsafe"
)

// Places says what `cleanup` may remove: only what patinject itself made, checked on disk, never
// on a path alone.
//
//   - A private directory ("dir"): directly in one of TempDirs (the platform's temp directories,
//     from the environment, never from the state), named as patinject names them (patinject-
//     and digits or hex), a real directory (not a link), owned by this user, mode 0700.
//   - A file ("file"): inside such a directory; or directly in one of TempDirs, named
//     patinject-*-summary.md; or, for a file the user chose the path of (--dotenv), a regular
//     file owned by this user whose SHA-256 is the one recorded when patinject wrote it.
//
// Anything else is refused with an error that says why.
type Places struct {
	TempDirs []string
	// Unverified says the actions come from a record whose seal was not checked
	// (--trust-unverified-state): a SHA-256 in it proves nothing (whoever wrote it could read
	// the file), so a file is removed only inside a directory of patinject's own.
	Unverified bool
}

// privateDirName reports whether name is patinject-HEX (4 to 64 lower-case hex digits), the name
// of a private directory; summaryName, patinject-HEX-summary.md. Written out rather than as
// regular expressions: compiling {4,64} cost every start of patinject 0.2 ms.
func privateDirName(name string) bool {
	rest, ok := strings.CutPrefix(name, "patinject-")
	return ok && isHexID(rest)
}

func summaryName(name string) bool {
	rest, ok := strings.CutPrefix(name, "patinject-")
	if !ok {
		return false
	}
	id, ok := strings.CutSuffix(rest, "-summary.md")
	return ok && isHexID(id)
}

func isHexID(s string) bool {
	if len(s) < 4 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ParamSHA256 is the Params key of a file's recorded SHA-256 (hex).
const ParamSHA256 = "sha256"

// Remove removes what act names if it is patinject's own; what is already gone is no error.
func (p Places) Remove(act Action) error {
	path := act.ID
	if !filepath.IsAbs(path) || filepath.Clean(path) != path {
		return fmt.Errorf("refused to remove %q: not a clean absolute path", path)
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	switch act.Kind {
	case "dir":
		if err := p.ownDir(path, fi); err != nil {
			return fmt.Errorf("refused to remove %s: %w", path, err)
		}
		return os.RemoveAll(path)
	case "file":
		if err := p.ownFile(path, fi, act.Params[ParamSHA256]); err != nil {
			return fmt.Errorf("refused to remove %s: %w", path, err)
		}
		return os.Remove(path)
	}
	return fmt.Errorf("cannot remove a %q", act.Kind)
}

func (p Places) inTempDir(path string) bool {
	parent := filepath.Dir(path)
	for _, d := range p.TempDirs {
		if d != "" && filepath.IsAbs(d) && filepath.Clean(d) == parent {
			return true
		}
	}
	return false
}

func (p Places) ownDir(path string, fi fs.FileInfo) error {
	if !p.inTempDir(path) || !privateDirName(filepath.Base(path)) {
		return errors.New("not a private directory of patinject's (those are patinject-* directly in the platform's temp directory)")
	}
	if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
		return errors.New("not a directory (a link?)")
	}
	if !privdir.OwnedByMe(path, fi) {
		return errors.New("owned by another user")
	}
	return checkDirMode(fi)
}

func (p Places) ownFile(path string, fi fs.FileInfo, sum string) error {
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file (a link?)")
	}
	if !privdir.OwnedByMe(path, fi) {
		return errors.New("owned by another user")
	}
	if sum != "" && !p.Unverified {
		got, err := fileSHA256(path)
		if err != nil {
			return err
		}
		if got != strings.ToLower(sum) {
			return errors.New("its content is not what patinject wrote (changed since; left in place)")
		}
		return nil
	}
	parent := filepath.Dir(path)
	if pfi, err := os.Lstat(parent); err == nil && p.ownDir(parent, pfi) == nil {
		return nil
	}
	if p.inTempDir(path) && summaryName(filepath.Base(path)) {
		return nil
	}
	return errors.New("not a file patinject made (those are in its private directories, or recorded with their SHA-256)")
}

// FileSHA256 is the hex SHA-256 of the content of path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SHA256 is the hex SHA-256 of b, for ParamSHA256.
func SHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// CheckEndpoint refuses to send credentials to where a state record says unless it is where
// cleanup was told to send them (its flags, environment or defaults). what names the setting
// ("--ado-url", "VAULT_ADDR"); recorded "" agrees with anything.
func CheckEndpoint(what, recorded, given string) error {
	if recorded == "" || sameEndpoint(recorded, given) {
		return nil
	}
	return fmt.Errorf("the state says this was made at %s, but this cleanup's %s is %s: refused, since cleanup sends credentials only where its own flags, environment or defaults say; if %s is right, give it as %s",
		msgsafe.URL(recorded), what, msgsafe.URL(given), msgsafe.URL(recorded), what)
}

func sameEndpoint(a, b string) bool {
	ua, err1 := url.Parse(strings.TrimSpace(a))
	ub, err2 := url.Parse(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || ua.User != nil || ub.User != nil {
		return false
	}
	norm := func(u *url.URL) string {
		host := strings.ToLower(u.Hostname())
		port := u.Port()
		scheme := strings.ToLower(u.Scheme)
		if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
			port = ""
		}
		return scheme + "://" + host + ":" + port + strings.TrimRight(u.EscapedPath(), "/")
	}
	return norm(ua) == norm(ub)
}
