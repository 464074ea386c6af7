package msgsafe

import (
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://user:Hunter2@dev.azure.com/org/_apis?api-version=7.1&token=Hunter2#frag": "https://dev.azure.com/org/_apis",
		"http://127.0.0.1:8200/":          "http://127.0.0.1:8200/",
		"https://ci:Hunter2@git.example/": "https://git.example/",
		"not a url Hunter2":               "(a URL that does not parse)",
		"https://%zzHunter2":              "(a URL that does not parse)",
		"mailto:Hunter2@example.com":      "(a URL that does not parse)",
		"https://x/a%20b?Hunter2":         "https://x/a%20b",
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestControls(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain text, tabs\tkept": "plain text, tabs\tkept",
		"\x1b]0;title\x07":       `\x1b]0;title\a`,
		"a\x1b[2Kb\rc\nd":        `a\x1b[2Kb\rc\nd`,
		"bidi \u202egnp.exe":     `bidi \u202egnp.exe`,
		"bad \xff byte":          `bad \xff byte`,
		"c1 \u009b31m":           `c1 \u009b31m`,
	} {
		if got := Controls(in); got != want {
			t.Errorf("Controls(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestServerTextHidesReflectedCredentials(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"invalid request: Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJIdW50ZXIyIn0.c2lnSHVudGVyMg rejected",
		"got token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJIdW50ZXIyIn0.c2lnSHVudGVyMg",
		"basic Y2k6SHVudGVyMi1zZWNyZXQtdmFsdWU= refused",
		"redirect to https://u:Hunter2@evil.example/?code=Hunter2 failed",
		"line\nbreak \x1b[31mred",
	} {
		got := ServerText(in, 300)
		for _, bad := range []string{"Hunter2", "eyJzdWIi", "Y2k6SHVudGVy", "\x1b", "\n"} {
			if strings.Contains(got, bad) {
				t.Errorf("ServerText(%q) = %q: holds %q", in, got, bad)
			}
		}
	}
	if got := ServerText(strings.Repeat("é", 300), 11); got != "ééééé..." {
		t.Errorf("cut: got %q", got)
	}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"::set-env name=A::b", "  ::error::x", "x ##vso[task.setvariable variable=A]b", "##[error]x",
		"\u00a0::add-mask::x", "\u3000\u2003::stop-commands::y"} { // the runner trims every Unicode space
		got := Commands(in)
		if strings.HasPrefix(strings.TrimSpace(got), "::") || strings.Contains(got, "##vso[") || strings.Contains(got, "##[") {
			t.Errorf("Commands(%q) = %q: still a command", in, got)
		}
	}
}
