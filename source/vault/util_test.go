package vault

import (
	"encoding/json"
	"net/http"
	"os"
	"time"
)

// eventually polls cond for up to 15 s: for what a server does in the background.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func writeFile0600(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
