package frontdoor

import (
	"testing"

	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/secret"
)

// The kind a source answers with (the Vault engine's creds carry token_type) decides how the
// tools send the --token: a bearer token as a bearer, a PAT in Basic auth.
func TestTokenKindFromTheSourcesAnswer(t *testing.T) {
	p := &Process{Lookup: func(string) (string, bool) { return "", false }}
	s := p.newSession(t.Context(), &Options{}, nil)
	for _, tt := range []struct {
		tokenType string
		want      inject.Kind
	}{{"bearer", inject.Bearer}, {"pat", inject.PAT}, {"", inject.PAT}} {
		var cfg inject.Config
		s.tokenKind(&cfg, resolved{token: &secret.Secret{Value: secret.NewValue("t0ken-value"), Origin: "vault://azuredevops/creds/ci#token", TokenType: tt.tokenType}})
		if cfg.TokenKind != tt.want {
			t.Errorf("token_type %q: kind %v, want %v", tt.tokenType, cfg.TokenKind, tt.want)
		}
	}
}
