package msgfilter

import (
	"bytes"
	"encoding/base64"
	"strings"
	"sync"
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
	if got := f.Line("abc\ndef\x1b[2K ::x"); got != `abc def\x1b[2K ::x` {
		t.Errorf("got %q", got)
	}
	var nilf *Filter
	if got := nilf.Line("a\x07b"); got != `a\ab` {
		t.Errorf("nil filter: got %q", got)
	}
}

func TestWriterFiltersEachLine(t *testing.T) {
	t.Parallel()
	f := &Filter{}
	f.Add("Hunter2-secret-value")
	var out bytes.Buffer
	w := f.Writer(&out)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Write([]byte("level=WARN msg=\"got Hunter2-secret-value\"\n"))
		}()
	}
	wg.Wait()
	w.Write([]byte("tail Hunter2-secret-value"))
	w.Flush()
	if strings.Contains(out.String(), "Hunter2") || strings.Count(out.String(), "\n") != 4 || !strings.HasSuffix(out.String(), "tail ***") {
		t.Errorf("got %q", out.String())
	}
}
