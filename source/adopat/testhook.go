//go:build patinject_testhooks

package adopat

import "os"

// Built only into the binaries of the lifecycle tests (go build -tags patinject_testhooks):
// PATINJECT_TEST_KILL_AFTER_CREATE=1 kills the process right after a PAT is minted.
func init() { CrashHook = KillAfterCreateIfAsked }

// KillAfterCreateIfAsked kills this process when PATINJECT_TEST_KILL_AFTER_CREATE=1.
func KillAfterCreateIfAsked() {
	if os.Getenv("PATINJECT_TEST_KILL_AFTER_CREATE") == "1" {
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			_ = p.Kill()
			select {}
		}
	}
}
