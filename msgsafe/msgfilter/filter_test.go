package msgfilter

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestFilter(t *testing.T) {
	t.Parallel()
	const secret = "pat-Hunter2-0123456789"
	f := &Filter{}
	if got := f.Line("before: " + secret); !strings.Contains(got, secret) {
		t.Fatalf("redacted before the secret was known: %q", got)
	}
	f.Add(secret, "abc") // too short to redact: ignored
	for _, in := range []string{
		"error: " + secret,
		"basic " + base64.StdEncoding.EncodeToString([]byte("patinject:"+secret)),
		"json \"" + secret + "\"",
	} {
		got := f.Line(in)
		if strings.Contains(got, "Hunter2") || strings.Contains(got, base64.StdEncoding.EncodeToString([]byte("patinject:" + secret))[:20]) {
			t.Errorf("Line(%q) = %q: holds the secret", in, got)
		}
	}
	// A value split across lines (a base64 form wrapped, a token cut by \r\n) is redacted
	// before the lines are joined.
	wrapped := base64.StdEncoding.EncodeToString([]byte("x:" + secret))
	for _, in := range []string{wrapped[:12] + "\n" + wrapped[12:], secret[:9] + "\r\n" + secret[9:]} {
		if got := f.Line("said: " + in); strings.Contains(got, strings.ReplaceAll(strings.ReplaceAll(in, "\r", ""), "\n", " ")) {
			t.Errorf("Line(%q) = %q: the split value came through", in, got)
		}
	}
	if got := f.Line("abc\ndef\x1b[2K ::x"); got != `abc def\x1b[2K ::x` {
		t.Errorf("got %q", got)
	}
	var nilf *Filter
	if got := nilf.Line("a\x07b"); got != `a\ab` {
		t.Errorf("nil filter: got %q", got)
	}
}
