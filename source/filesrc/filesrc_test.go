package filesrc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patinject/patinject/secret"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path, want, wantErr string
	}{
		{name: "one trailing newline removed", path: write("a", "tok\nen\n\n", 0o600), want: "tok\nen\n"},
		{name: "CRLF removed", path: write("b", "token\r\n", 0o600), want: "token"},
		{name: "no newline", path: write("c", "token", 0o600), want: "token"},
		{name: "missing", path: filepath.Join(dir, "nope"), wantErr: "does not exist"},
		{name: "empty", path: write("d", "\n", 0o600), wantErr: "is empty"},
		{name: "a directory", path: dir, wantErr: "is a directory"},
	}
	if os.Geteuid() != 0 { // root reads everything
		tests = append(tests, struct{ name, path, want, wantErr string }{
			name: "unreadable", path: write("e", "x", 0o000), wantErr: "not readable"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ref, err := secret.ParseRef("file:" + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Source{}.Resolve(context.Background(), ref)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Value.Reveal() != tt.want {
				t.Fatalf("got %q, %v; want %q", got.Value.Reveal(), err, tt.want)
			}
		})
	}
}
