// Package testpeer finds the real clients and servers that integration tests talk to (Vault, git,
// verdaccio, NuGet.exe, act, ...). scripts/test.sh installs them and exports where they are; a test
// that cannot find its peer fails under CI=true and skips, loudly, on a laptop.
package testpeer

import (
	"os"
	"os/exec"
	"testing"
)

// Env returns the value of the variable that locates a peer (set by scripts/peers/*.sh).
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		missing(t, name+" is not set (run scripts/test.sh, which installs the test peers)")
	}
	return v
}

// Command returns the path of a program that must be on PATH.
func Command(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, name+" is not on PATH (run scripts/test.sh, which installs the test peers)")
	}
	return p
}

// Missing reports a peer or a machine feature the test needs and cannot find: a failure under
// CI=true, a loud skip elsewhere.
func Missing(t testing.TB, why string) {
	t.Helper()
	missing(t, why)
}

// MissingIn is Missing for a test that is not a testing.TB (a testscript story's setup).
func MissingIn(t interface {
	Fatal(...any)
	Skip(...any)
}, why string) {
	if os.Getenv("CI") == "true" {
		t.Fatal("test peer missing under CI=true: " + why)
	}
	t.Skip("SKIPPED, test peer missing: " + why)
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("test peer missing under CI=true: %s", why)
	}
	t.Skipf("SKIPPED, test peer missing: %s", why)
}
