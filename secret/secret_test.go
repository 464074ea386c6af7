package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestValueNeverPrints(t *testing.T) {
	t.Parallel()
	v := NewValue("hunter2-very-secret")
	type wrapper struct{ Token Value }
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "token", v, "w", wrapper{v})
	js, err := json.Marshal(wrapper{v})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, got string }{
		{"%v", fmt.Sprintf("%v", v)},
		{"%s", fmt.Sprintf("%s", v)},
		{"%q", fmt.Sprintf("%q", v)},
		{"%x", fmt.Sprintf("%x", v)},
		{"%+v struct", fmt.Sprintf("%+v", wrapper{v})},
		{"%#v struct", fmt.Sprintf("%#v", wrapper{v})},
		{"error wrap", fmt.Errorf("failed with %v", v).Error()},
		{"json", string(js)},
		{"slog", logged.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.got, "hunter2") {
				t.Errorf("got %q, which holds the secret", tt.got)
			}
			if !strings.Contains(tt.got, "***") && !strings.Contains(tt.got, "%!") {
				t.Errorf("got %q, want *** in it", tt.got)
			}
		})
	}
	if v.Reveal() != "hunter2-very-secret" {
		t.Errorf("Reveal: got %q", v.Reveal())
	}
}

func TestParseRef(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in                          string
		scheme, opaque, host, path, field string
		query                             map[string]string
		wantErr                           string
	}{
		{name: "env", in: "env:CI_PAT", scheme: "env", opaque: "CI_PAT"},
		{name: "file", in: "file:/run/secrets/pat", scheme: "file", opaque: "/run/secrets/pat"},
		{name: "file relative with colon", in: "file:a:b", scheme: "file", opaque: "a:b"},
		{name: "vault kv", in: "vault://secret/ci/ado#pat", scheme: "vault", host: "secret", path: "secret/ci/ado", field: "pat"},
		{name: "vault version", in: "vault://secret/ci/ado?version=3#pat", scheme: "vault", host: "secret", path: "secret/ci/ado", field: "pat", query: map[string]string{"version": "3"}},
		{name: "vault write", in: "vault://pki/issue/ci?common_name=build.example.com#certificate", scheme: "vault", host: "pki", path: "pki/issue/ci", field: "certificate", query: map[string]string{"common_name": "build.example.com"}},
		{name: "ado pat", in: "ado-pat://contoso?scope=vso.code+vso.packaging&ttl=10m", scheme: "ado-pat", host: "contoso", path: "contoso", query: map[string]string{"scope": "vso.code vso.packaging", "ttl": "10m"}},
		{name: "no field", in: "vault://secret/one", scheme: "vault", host: "secret", path: "secret/one"},
		{name: "literal", in: "hunter2", wantErr: "not a reference"},
		{name: "empty env", in: "env:", wantErr: "reference is empty"},
		{name: "empty path", in: "vault://#x", wantErr: "no path"},
		{name: "upper scheme", in: "ENV:X", wantErr: "not a reference"},
		{name: "bad query", in: "vault://a?x=%zz", wantErr: "bad parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := ParseRef(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				if tt.in == "hunter2" && strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error %q repeats the input", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{r.Scheme, r.Opaque, r.Host, r.Path, r.Fragment}
			want := []string{tt.scheme, tt.opaque, tt.host, tt.path, tt.field}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("part %d: got %q, want %q", i, got[i], want[i])
				}
			}
			for k, v := range tt.query {
				if r.Query.Get(k) != v {
					t.Errorf("query %s: got %q, want %q", k, r.Query.Get(k), v)
				}
			}
			if r.String() != tt.in {
				t.Errorf("String: got %q, want %q", r.String(), tt.in)
			}
		})
	}
}

// FuzzParseRef: parsing never panics, and the error for a string that has no reference form
// never repeats it (it may be a secret typed where a reference belongs). A string with a scheme
// is a locator, and naming it in an error is what helps the user.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"env:X", "file:/a", "vault://secret/a?version=2#f", "ado-pat://o?scope=vso.code", "hunter2", "a:", "://", "x://#%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			if _, isRef := Scheme(s); !isRef && err != ErrNotRef {
				t.Fatalf("error %q for a non-reference is not the fixed ErrNotRef", err)
			}
			return
		}
		if r.Raw != s || r.Scheme == "" {
			t.Fatalf("ParseRef(%q) = %+v", s, r)
		}
	})
}

// TestRefMessagesNeverRepeatTheValue is issue 9, item 5: what was typed where a reference
// belongs may be the secret itself; no error repeats it, and a reference shows without the
// user information a mistyped URL could carry.
func TestRefMessagesNeverRepeatTheValue(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"vault://kv/app#%zzHunter2", "vault://kv/app?version=%zzHunter2", "vault://#Hunter2", "Hunter2:",
		"deploybot:Hunter2-SuperSecret", "HUNTER2-SuperSecret",
	} {
		_, err := ParseRef(in)
		if err != nil && (strings.Contains(err.Error(), "Hunter2") || strings.Contains(err.Error(), "HUNTER2")) {
			t.Errorf("ParseRef(%q): the error repeats the value: %v", in, err)
		}
	}
	for in, want := range map[string]string{
		"vault://admin:Hunter2@db/kv/app#pw": "vault://***@db/kv/app#pw",
		"vault://kv/app#pw":                  "vault://kv/app#pw",
		"env:CI_PAT":                         "env:CI_PAT",
		"ado-pat://contoso?scope=vso.code":   "ado-pat://contoso?scope=vso.code",
	} {
		r, err := ParseRef(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.String(); got != want {
			t.Errorf("Ref(%q).String() = %q, want %q", in, got, want)
		}
	}
}
