package credsock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/patinject/patinject/secret"
)

func TestAskServe(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s")
	n := 0
	s, err := Listen(path, func(context.Context) (secret.Value, time.Time, error) {
		n++
		if n == 2 {
			return secret.Value{}, time.Time{}, errors.New("exchange failed:\nAADSTS700213")
		}
		return secret.NewValue("tok-" + string(rune('0'+n))), time.Unix(2000000000, 0), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi.Mode(), err)
	}
	v, exp, err := Ask(context.Background(), path)
	if err != nil || v.Reveal() != "tok-1" || exp.Unix() != 2000000000 {
		t.Fatalf("%q %v %v", v.Reveal(), exp, err)
	}
	if _, _, err := Ask(context.Background(), path); err == nil || err.Error() != "exchange failed: AADSTS700213" {
		t.Fatalf("error: %v", err)
	}
	s.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
	if _, _, err := Ask(context.Background(), path); err == nil {
		t.Fatal("asked a closed server")
	}
}
