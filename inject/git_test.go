package inject

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patinject/patinject/secret"
)

func TestGitPlan(t *testing.T) {
	t.Parallel()
	basic := b64("ci:" + testToken)
	header := "AUTHORIZATION: basic " + basic
	masks := []string{basic, "basic " + basic}
	expiry := time.Unix(1900000000, 0)
	helper := func(prefix, from string) string {
		return `!'/usr/bin/patinject' 'git-credential' '--prefix' '` + prefix + `' '--username' 'ci' ` + from
	}
	tests := []struct {
		name string
		c    Config
		want planView
		err  string
	}{
		{
			name: "run: the header in the environment, nothing on disk",
			c:    Config{Values: map[string][]string{"git": {"https://dev.azure.com/contoso/"}}},
			want: planView{Env: map[string]string{
				"GIT_CONFIG_COUNT":   "2",
				"GIT_CONFIG_KEY_0":   "http.https://dev.azure.com/contoso/.extraheader",
				"GIT_CONFIG_VALUE_0": "secret:" + header,
				"GIT_CONFIG_KEY_1":   "http.https://dev.azure.com/contoso/.followRedirects",
				"GIT_CONFIG_VALUE_1": "false",
			}, Masks: masks},
		},
		{
			name: "run: appended after the pairs the job has",
			c: Config{Values: map[string][]string{"git": {"https://a.example/x", "HTTPS://B.example:443"}},
				Lookup: envOf(map[string]string{"GIT_CONFIG_COUNT": "2"})},
			want: planView{Env: map[string]string{
				"GIT_CONFIG_COUNT":   "6",
				"GIT_CONFIG_KEY_2":   "http.https://a.example/x.extraheader",
				"GIT_CONFIG_VALUE_2": "secret:" + header,
				"GIT_CONFIG_KEY_3":   "http.https://a.example/x.followRedirects",
				"GIT_CONFIG_VALUE_3": "false",
				"GIT_CONFIG_KEY_4":   "http.https://b.example/.extraheader",
				"GIT_CONFIG_VALUE_4": "secret:" + header,
				"GIT_CONFIG_KEY_5":   "http.https://b.example/.followRedirects",
				"GIT_CONFIG_VALUE_5": "false",
			}},
		},
		{
			name: "run: an empty count is zero",
			c:    Config{Values: map[string][]string{"git": {"http://127.0.0.1:8080/git/"}}, Lookup: envOf(map[string]string{"GIT_CONFIG_COUNT": ""})},
			want: planView{Env: map[string]string{
				"GIT_CONFIG_COUNT":   "2",
				"GIT_CONFIG_KEY_0":   "http.http://127.0.0.1:8080/git/.extraheader",
				"GIT_CONFIG_VALUE_0": "secret:" + header,
				"GIT_CONFIG_KEY_1":   "http.http://127.0.0.1:8080/git/.followRedirects",
				"GIT_CONFIG_VALUE_1": "false",
			}},
		},
		{
			name: "ci: an include file holds the header, the variables only point at it",
			c:    Config{Values: map[string][]string{"git": {"https://dev.azure.com/contoso/"}}, Mode: ModeCI},
			want: planView{
				Env: map[string]string{
					"GIT_CONFIG_COUNT":   "1",
					"GIT_CONFIG_KEY_0":   "include.path",
					"GIT_CONFIG_VALUE_0": "/priv/gitconfig",
				},
				Files: map[string]string{"gitconfig": "secret:# written by patinject for one run; removed when it ends\n" +
					"[http \"https://dev.azure.com/contoso/\"]\n\textraheader = \"" + header + "\"\n\tfollowRedirects = \"false\"\n"},
				Masks: masks,
			},
		},
		{
			name: "git before 2.31: an include file through GIT_CONFIG_PARAMETERS",
			c:    Config{Values: map[string][]string{"git": {"https://dev.azure.com/contoso/"}}, GitVersion: "2.30.2"},
			want: planView{
				Env: map[string]string{"GIT_CONFIG_PARAMETERS": "append( ):'include.path=/priv/gitconfig'"},
				Files: map[string]string{"gitconfig": "secret:# written by patinject for one run; removed when it ends\n" +
					"[http \"https://dev.azure.com/contoso/\"]\n\textraheader = \"" + header + "\"\n\tfollowRedirects = \"false\"\n"},
			},
		},
		{
			name: "run: credential helper, token in a variable",
			c: Config{Values: map[string][]string{"git": {"https://dev.azure.com/contoso/"}, "git-credential-helper": {"true"}}, Self: "/usr/bin/patinject",
				TokenExpiry: expiry},
			want: planView{Env: map[string]string{
				"PATINJECT_GIT_PASSWORD": "secret:" + testToken,
				"GIT_CONFIG_COUNT":       "3",
				"GIT_CONFIG_KEY_0":       "credential.https://dev.azure.com/contoso/.helper",
				"GIT_CONFIG_VALUE_0":     "",
				"GIT_CONFIG_KEY_1":       "credential.https://dev.azure.com/contoso/.helper",
				"GIT_CONFIG_VALUE_1":     helper("https://dev.azure.com/contoso/", `'--password-env' 'PATINJECT_GIT_PASSWORD' '--expiry' '1900000000'`),
				"GIT_CONFIG_KEY_2":       "credential.https://dev.azure.com/contoso/.useHttpPath",
				"GIT_CONFIG_VALUE_2":     "true",
			}, Masks: []string{}},
		},
		{
			name: "ci: credential helper, token in a file",
			c:    Config{Values: map[string][]string{"git": {"https://dev.azure.com/contoso/"}, "git-credential-helper": {"true"}}, Self: "/usr/bin/patinject", Mode: ModeCI},
			want: planView{
				Env: map[string]string{
					"GIT_CONFIG_COUNT":   "1",
					"GIT_CONFIG_KEY_0":   "include.path",
					"GIT_CONFIG_VALUE_0": "/priv/gitconfig",
				},
				Files: map[string]string{
					"git-credential-token": "secret:" + testToken,
					"gitconfig": "# written by patinject for one run; removed when it ends\n" +
						"[credential \"https://dev.azure.com/contoso/\"]\n" +
						"\thelper = \"\"\n" +
						"\thelper = \"" + strings.ReplaceAll(helper("https://dev.azure.com/contoso/", `'--password-file' '/priv/git-credential-token'`), `"`, `\"`) + "\"\n" +
						"\tuseHttpPath = \"true\"\n",
				},
			},
		},
		{name: "helper needs its own path", c: Config{Values: map[string][]string{"git": {"https://x.example/"}, "git-credential-helper": {"true"}}}, err: "absolute path"},
		{name: "bogus count", c: Config{Values: map[string][]string{"git": {"https://x.example/"}}, Lookup: envOf(map[string]string{"GIT_CONFIG_COUNT": "two"})}, err: "GIT_CONFIG_COUNT"},
		{name: "password in the URL", c: Config{Values: map[string][]string{"git": {"https://u:hunter2@x.example/"}}}, err: "must not hold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.c
			c.Token, c.Username, c.Dir = secret.NewValue(testToken), "ci", "/priv"
			p, err := gitPlan(c)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "hunter2") {
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

func TestGitAtLeast(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{"2.39.5": true, "2.31.0": true, "2.30.9": false, "1.9": false, "3.0": true, "": true, "2.45.1.windows.1": true, "junk": true} {
		if got := gitAtLeast(v, 2, 31); got != want {
			t.Errorf("gitAtLeast(%q): got %v, want %v", v, got, want)
		}
	}
}

func TestGitCredential(t *testing.T) {
	t.Parallel()
	g := GitCredential{
		Prefixes: []string{"https://dev.azure.com/contoso/", "http://127.0.0.1:8080"},
		Username: "ci",
		Password: func() (secret.Value, error) { return secret.NewValue(testToken), nil },
		Expiry:   time.Unix(1900000000, 0),
	}
	answer := "username=ci\npassword=" + testToken + "\npassword_expiry_utc=1900000000\n"
	tests := []struct {
		name, action, in, want string
	}{
		{"host only", "get", "protocol=https\nhost=dev.azure.com\n\n", answer},
		{"path under the prefix", "get", "protocol=https\nhost=dev.azure.com\npath=contoso/app/_git/app\n\n", answer},
		{"path outside the prefix", "get", "protocol=https\nhost=dev.azure.com\npath=fabrikam/app\n", ""},
		{"path sharing a stem", "get", "protocol=https\nhost=dev.azure.com\npath=contosox/app\n", ""},
		{"dot segments out of the prefix", "get", "protocol=https\nhost=dev.azure.com\npath=contoso/../fabrikam/app\n", ""},
		{"encoded dot segments", "get", "protocol=https\nhost=dev.azure.com\npath=contoso/%2e%2e/fabrikam/app\n", ""},
		{"the prefix itself", "get", "protocol=https\nhost=dev.azure.com\npath=contoso/\n", answer},
		{"dot segments staying inside", "get", "protocol=https\nhost=dev.azure.com\npath=contoso/x/../app\n", answer},
		{"other host", "get", "protocol=https\nhost=evil.example\n", ""},
		{"other scheme", "get", "protocol=http\nhost=dev.azure.com\n", ""},
		{"port", "get", "protocol=http\nhost=127.0.0.1:8080\npath=repo.git\n", answer},
		{"other port", "get", "protocol=http\nhost=127.0.0.1:8081\n", ""},
		{"url form", "get", "url=https://dev.azure.com/contoso/x\n", answer},
		{"user in the URL kept", "get", "protocol=https\nhost=dev.azure.com\nusername=contoso\n",
			"username=contoso\npassword=" + testToken + "\npassword_expiry_utc=1900000000\n"},
		{"store ignored", "store", "protocol=https\nhost=dev.azure.com\nusername=ci\npassword=x\n", ""},
		{"erase ignored", "erase", "protocol=https\nhost=dev.azure.com\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			if err := g.Serve(tt.action, strings.NewReader(tt.in), &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("got %q, want %q", out.String(), tt.want)
			}
		})
	}
}

// FuzzGitCredential: whatever git writes on stdin, the helper answers only for its own host and
// never fails.
func FuzzGitCredential(f *testing.F) {
	f.Add("get", "protocol=https\nhost=dev.azure.com\npath=contoso/app\n\n")
	f.Add("get", "url=https://dev.azure.com/contoso/x\n")
	f.Add("get", "protocol=https\nhost=dev.azure.com:443\npath=../contoso\n")
	f.Add("store", "protocol=https\nhost=dev.azure.com\npassword=x\n")
	f.Add("get", "protocol=https\nhost=evil.example/dev.azure.com\n")
	g := GitCredential{
		Prefixes: []string{"https://dev.azure.com/contoso/"},
		Username: "ci",
		Password: func() (secret.Value, error) { return secret.NewValue(testToken), nil },
	}
	f.Fuzz(func(t *testing.T, action, in string) {
		var out bytes.Buffer
		if err := g.Serve(action, strings.NewReader(in), &out); err != nil {
			t.Fatal(err)
		}
		if out.Len() == 0 {
			return
		}
		attrs, _ := readCredentialAttrs(strings.NewReader(in))
		host := attrs["host"]
		if host == "" {
			if u, err := url.Parse(attrs["url"]); err == nil {
				host = u.Host
			}
		}
		u, err := url.Parse("https://" + host)
		if err != nil || strings.ToLower(u.Hostname()) != "dev.azure.com" || (u.Port() != "" && u.Port() != "443") {
			t.Fatalf("answered for host %q", host)
		}
	})
}
