package envsrc

import (
	"context"
	"strings"
	"testing"

	"github.com/patinject/patinject/secret"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CI_PAT": "value-from-env", "EMPTY": ""}
	src := &Source{Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	tests := []struct{ name, ref, want, wantErr string }{
		{name: "set", ref: "env:CI_PAT", want: "value-from-env"},
		{name: "unset", ref: "env:NOPE", wantErr: "environment variable NOPE is not set"},
		{name: "empty", ref: "env:EMPTY", wantErr: "environment variable EMPTY is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ref, err := secret.ParseRef(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			got, err := src.Resolve(context.Background(), ref)
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
