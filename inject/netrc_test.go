package inject

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patinject/patinject/secret"
)

func TestNetrcPlan(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	own := "machine mine.example login me password mine\ndefault login anonymous password x"
	if err := os.WriteFile(filepath.Join(home, ".netrc"), []byte(own), 0o600); err != nil {
		t.Fatal(err)
	}
	basic := b64("ci:" + testToken)
	const head = "# written by patinject for one run; removed when it ends\n"
	curlrc := head + `header = "Authorization: Basic ` + basic + `"` + "\n"
	tests := []struct {
		name  string
		c     Config
		token string
		want  planView
		err   string
	}{
		{
			name: "ours first, then the user's own",
			c:    Config{Values: map[string][]string{"netrc": {"dev.azure.com", "https://Pkgs.Dev.Azure.com/contoso/"}}, Lookup: envOf(map[string]string{"HOME": home})},
			want: planView{
				Env: map[string]string{"NETRC": "/priv/netrc", CurlConfigEnv: "/priv/curlrc"},
				Files: map[string]string{
					"netrc": "secret:" + head + "machine dev.azure.com login ci password " + testToken + "\n" +
						"machine pkgs.dev.azure.com login ci password " + testToken + "\n\n" + own + "\n",
					"curlrc": "secret:" + curlrc,
				},
				Masks: []string{basic, "Basic " + basic},
			},
		},
		{
			name:  "a token with a blank is quoted",
			c:     Config{Values: map[string][]string{"netrc": {"h.example"}}, Mode: ModeCI},
			token: `pa ss"word`,
			want: planView{
				Env: map[string]string{"NETRC": "/priv/netrc", CurlConfigEnv: "/priv/curlrc"},
				Files: map[string]string{
					"netrc":  "secret:" + head + `machine h.example login ci password "pa ss\"word"` + "\n",
					"curlrc": "secret:" + head + `header = "Authorization: Basic ` + b64(`ci:pa ss"word`) + `"` + "\n",
				},
				Masks: []string{b64(`ci:pa ss"word`), "Basic " + b64(`ci:pa ss"word`), `"pa ss\"word"`},
			},
		},
		{name: "not a host", c: Config{Values: map[string][]string{"netrc": {"a b"}}}, err: "want a host name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.c
			tok := testToken
			if tt.token != "" {
				tok = tt.token
			}
			c.Token, c.Username, c.Dir = secret.NewValue(tok), "ci", "/priv"
			p, err := netrcPlan(c)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkView(t, viewOf(p), tt.want)
		})
	}
}
