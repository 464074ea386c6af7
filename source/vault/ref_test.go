package vault

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/patinject/patinject/secret"
)

func TestParseRef(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ref string
		want      request
		wantErr   string
	}{
		{name: "kv", ref: "vault://secret/ci/ado#pat", want: request{path: "secret/ci/ado", field: "pat"}},
		{name: "no field", ref: "vault://secret/ci/ado", want: request{path: "secret/ci/ado"}},
		{name: "version", ref: "vault://secret/ci/ado?version=3#pat", want: request{path: "secret/ci/ado", field: "pat", version: 3}},
		{name: "write", ref: "vault://pki/issue/ci?common_name=build.example.com&alt_names=a,b#certificate",
			want: request{path: "pki/issue/ci", field: "certificate", params: map[string][]string{"common_name": {"build.example.com"}, "alt_names": {"a,b"}}}},
		{name: "write keeps version", ref: "vault://transit/decrypt/k?ciphertext=x&version=2",
			want: request{path: "transit/decrypt/k", params: map[string][]string{"ciphertext": {"x"}, "version": {"2"}}}},
		{name: "escaped path", ref: "vault://secret/ci/my%20app#pat", want: request{path: "secret/ci/my app", field: "pat"}},
		{name: "version zero", ref: "vault://secret/ci/ado?version=0", wantErr: "?version=0 is not a version number"},
		{name: "version twice", ref: "vault://secret/ci/ado?version=1&version=2", wantErr: "give ?version once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := secret.ParseRef(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseRef(r)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.path != tt.want.path || got.field != tt.want.field || got.version != tt.want.version || len(got.params) != len(tt.want.params) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for k, v := range tt.want.params {
				if strings.Join(got.params[k], "|") != strings.Join(v, "|") {
					t.Errorf("param %s: got %q, want %q", k, got.params[k], v)
				}
			}
		})
	}
}

func TestPick(t *testing.T) {
	t.Parallel()
	var data map[string]any
	dec := json.NewDecoder(strings.NewReader(`{"s":"a\"b\n","n":12345678901234567890,"f":0.1,"b":false,"z":null,
		"m":{"k":"<&>","l":[1,"x"]},"l":["-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----"]}`))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ field, want string }{
		{"s", "a\"b\n"},
		{"n", "12345678901234567890"},
		{"f", "0.1"},
		{"b", "false"},
		{"z", ""},
		{"m", `{"k":"<&>","l":[1,"x"]}`},
		{"l", `["-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----"]`},
	}
	for _, tt := range tests {
		v, err := pick(data, tt.field, "x")
		if err != nil {
			t.Fatalf("%s: %v", tt.field, err)
		}
		if got := v.Reveal(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.field, got, tt.want)
		}
	}
	_, err := pick(data, "nope", "secret/x")
	if err == nil || !errors.Is(err, ErrNoField) || err.Error() != `vault: secret/x has no field "nope" (fields: b, f, l, m, n, s, z): no such field` {
		t.Errorf("got %v", err)
	}
	_, err = pick(map[string]any{}, "", "secret/empty")
	if err == nil || !strings.Contains(err.Error(), "has 0 fields") {
		t.Errorf("got %v", err)
	}
}

func TestLoginValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		login Login
		want  string
	}{
		{"token", Login{}, ""},
		{"approle without ids", Login{Method: MethodAppRole}, "--vault-role-id REF and --vault-secret-id REF"},
		{"jwt without token", Login{Method: MethodJWT}, "--vault-jwt REF"},
		{"kubernetes without role", Login{Method: MethodKubernetes}, "--vault-role NAME"},
		{"unknown", Login{Method: "ldap"}, `unknown login method "ldap"`},
	}
	for _, tt := range tests {
		err := tt.login.Validate()
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}

// FuzzPick: whatever JSON a secret holds, a string field comes back byte for byte and any
// other value as valid JSON (or its literal), and an error names fields, never values.
func FuzzPick(f *testing.F) {
	f.Add(`{"pat":"x"}`, "pat")
	f.Add(`{"k":{"a":[1,2.50,"<&>"]},"n":1e400}`, "k")
	f.Add(`{"pem":"-----BEGIN X-----\nAA==\n-----END X-----\n"}`, "")
	f.Add(`{"a":"secret-value","b":"other"}`, "c")
	f.Fuzz(func(t *testing.T, doc, field string) {
		var data map[string]any
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.UseNumber()
		if dec.Decode(&data) != nil {
			return
		}
		v, err := pick(data, field, "x")
		if err != nil {
			for _, val := range data {
				if s, ok := val.(string); ok && len(s) > 3 && strings.Contains(err.Error(), s) && !strings.Contains(field, s) {
					if _, isKey := data[s]; !isKey {
						t.Fatalf("error %q carries value %q", err, s)
					}
				}
			}
			return
		}
		name := field
		if name == "" {
			for k := range data {
				name = k
			}
		}
		switch want := data[name].(type) {
		case string:
			if v.Reveal() != want {
				t.Fatalf("got %q, want %q", v.Reveal(), want)
			}
		case map[string]any, []any:
			if !json.Valid([]byte(v.Reveal())) {
				t.Fatalf("not JSON: %q", v.Reveal())
			}
		}
	})
}

func TestTokenType(t *testing.T) {
	t.Parallel()
	creds := map[string]any{"token": "x", "token_type": "pat", "authorization_id": "id"}
	tests := []struct {
		name  string
		data  map[string]any
		field string
		want  string
	}{
		{"a PAT from the Azure DevOps engine", creds, "token", "pat"},
		{"an Entra token", map[string]any{"token": "x", "token_type": "Bearer"}, "token", "bearer"},
		{"another field of the response", creds, "authorization_id", ""},
		{"an unknown kind", map[string]any{"token": "x", "token_type": "ssh"}, "token", ""},
		{"no token_type", map[string]any{"token": "x"}, "token", ""},
		{"token_type not a string", map[string]any{"token": "x", "token_type": 1}, "token", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tokenType(tc.data, tc.field); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
