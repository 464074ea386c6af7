package inject

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// The tests in this file encode secrets the way other tools do (coreutils base64, openssl,
// encodeURIComponent, Python's quote and json, PHP's json_encode, XML writers, the files patinject
// writes) and check that nothing of the secret can be read back from what the redactor lets through.
// The encoders and the decoders of the oracle below are written out here, independently of the
// redactor.

// secretMatcher is the matcher run builds for a set of secret values.
func secretMatcher(values []string, users ...string) *Matcher {
	return NewSecretMatcher(values, users...)
}

// redactString runs s through a fresh redactor of m, cut into writes of the given size (0: one
// write), and returns what came out.
func redactString(t testing.TB, m *Matcher, s string, size int) string {
	t.Helper()
	in := []byte(s)
	var chunks [][]byte
	if size <= 0 {
		size = len(in) + 1
	}
	for len(in) > 0 {
		n := min(size, len(in))
		chunks, in = append(chunks, in[:n]), in[n:]
	}
	return string(redactAll(t, m, chunks))
}

// readable is every way the oracle reads text back: the text itself, without its line breaks,
// percent-decoded ('+' as a space and as itself), backslash-unescaped (JSON, netrc, .npmrc, git
// config), XML-unescaped, the percent-decoding of each of the unescapings (a URL inside JSON or
// XML), and the base64 and hex decoding of each of those at every alignment.
func readable(out string) []string {
	flat := strings.NewReplacer("\r", "", "\n", "").Replace(out)
	texts := []string{out, flat}
	for _, s := range []string{out, flat} {
		bs, x := unBackslash(s), unXML(s)
		texts = append(texts, unPercent(s, true), unPercent(s, false), bs, x,
			unPercent(bs, false), unPercent(x, false))
	}
	var all []string
	for _, s := range texts {
		all = append(all, s)
		all = append(all, unBase64Runs(strings.NewReplacer("\r", "", "\n", "").Replace(s))...)
		all = append(all, unHexRuns(s)...)
	}
	return all
}

// leak reports the first piece of secret (min(len, 10) bytes or more) found in any reading of out.
func leak(out, secret string) (string, bool) {
	w := min(len(secret), 10)
	for _, r := range readable(out) {
		for i := 0; i+w <= len(secret); i++ {
			if strings.Contains(r, secret[i:i+w]) {
				return fmt.Sprintf("%q (in the reading %.200q)", secret[i:i+w], r), true
			}
		}
	}
	return "", false
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unPercent(s string, plus bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '%' && i+2 < len(s)+0 && i+2 <= len(s)-1 && isHex(s[i+1]) && isHex(s[i+2]):
			v, _ := hex.DecodeString(s[i+1 : i+3])
			b.Write(v)
			i += 2
		case s[i] == '+' && plus:
			b.WriteByte(' ')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var v rune
	for i := range 4 {
		if !isHex(s[i]) {
			return 0, false
		}
		d, _ := hex.DecodeString("0" + s[i:i+1])
		v = v<<4 | rune(d[0])
	}
	return v, true
}

func unBackslash(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r, ok := hex4(s[i+1:])
			if !ok {
				b.WriteByte('u')
				continue
			}
			i += 4
			if 0xd800 <= r && r < 0xdc00 && strings.HasPrefix(s[i+1:], `\u`) {
				if lo, ok := hex4(s[i+3:]); ok && 0xdc00 <= lo && lo < 0xe000 {
					r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
					i += 6
				}
			}
			b.WriteRune(r)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func unXML(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '&' {
			b.WriteByte(s[i])
			continue
		}
		end := strings.IndexByte(s[i:], ';')
		if end < 0 || end > 12 {
			b.WriteByte('&')
			continue
		}
		ent := s[i+1 : i+end]
		named := map[string]string{"amp": "&", "lt": "<", "gt": ">", "quot": `"`, "apos": "'"}
		var r rune
		var err error
		switch {
		case named[ent] != "":
			b.WriteString(named[ent])
			i += end
			continue
		case strings.HasPrefix(ent, "#x") || strings.HasPrefix(ent, "#X"):
			_, err = fmt.Sscanf(ent[2:], "%x", &r)
		case strings.HasPrefix(ent, "#"):
			_, err = fmt.Sscanf(ent[1:], "%d", &r)
		default:
			err = fmt.Errorf("unknown")
		}
		if err != nil {
			b.WriteByte('&')
			continue
		}
		b.WriteRune(r)
		i += end
	}
	return b.String()
}

// unBase64Runs decodes every run of base64 characters (either alphabet) at each of the four
// alignments, ignoring what does not decode.
func unBase64Runs(s string) []string {
	isB64 := func(c byte) bool {
		return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("+/-_", c) >= 0
	}
	var out []string
	for i := 0; i < len(s); {
		if !isB64(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isB64(s[j]) {
			j++
		}
		run := strings.NewReplacer("-", "+", "_", "/").Replace(s[i:j])
		for off := 0; off < 4 && off < len(run); off++ {
			r := run[off:]
			r = r[:len(r)/4*4]
			if v, err := base64.StdEncoding.DecodeString(r); err == nil {
				out = append(out, string(v))
			}
		}
		i = j
	}
	return out
}

func unHexRuns(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		if !isHex(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isHex(s[j]) {
			j++
		}
		for off := 0; off < 2 && off < j-i; off++ {
			r := s[i+off : j]
			if v, err := hex.DecodeString(r[:len(r)/2*2]); err == nil {
				out = append(out, string(v))
			}
		}
		i = j
	}
	return out
}

// wrap breaks s into lines of col characters, as base64 -w and openssl base64 do.
func wrap(s string, col int, eol string) string {
	var b strings.Builder
	for len(s) > col {
		b.WriteString(s[:col] + eol)
		s = s[col:]
	}
	return b.String() + s + eol
}

// pctEncode percent-encodes every byte of s for which keep is false, with upper- or lower-case
// hex; a space becomes '+' when plus is set.
func pctEncode(s string, keep func(byte) bool, upper, plus bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case plus && c == ' ':
			b.WriteByte('+')
		case keep(c):
			b.WriteByte(c)
		case upper:
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

func alnum(c byte) bool { return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// jsonEncode escapes s for a JSON string: '"' and '\\' always, control characters as \u00XX,
// and each other character as \uXXXX when esc says so (lower- or upper-case hex), '/' as \/ when
// slash is set.
func jsonEncode(s string, esc func(rune) bool, upper, slash bool) string {
	var b strings.Builder
	u := func(r rune) {
		if upper {
			fmt.Fprintf(&b, `\u%04X`, r)
		} else {
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	for _, r := range s {
		switch {
		case esc(r):
			if r >= 0x10000 {
				r -= 0x10000
				u(0xd800 + r>>10)
				u(0xdc00 + r&0x3ff)
			} else {
				u(r)
			}
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r == '\n':
			b.WriteString(`\n`)
		case r == '/' && slash:
			b.WriteString(`\/`)
		case r < 0x20:
			u(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// The secrets of these tests: a PAT as Azure DevOps mints them (52 characters of base32), and a
// password with every character that some encoder escapes, non-ASCII included.
const (
	testPAT      = "7x3kq2m4z5ab6cd7ef8gh2ij3kl4mn5op6qr7st2uv3wx4yz5ab6c"
	testPassword = `p@ss/w<rd>&"\ tok+en=%?~é;#'€𝄞 end`
)

// Wrapped base64 of the value, of ":value" and of "user:value", in both alphabets, padded or
// not, at every alignment and column, with LF or CRLF line ends, as `base64 -w N`, `openssl
// base64` and MIME write it.
func TestRedactWrappedBase64(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{testPAT, testPassword} {
		m := secretMatcher([]string{secret}, "patinject")
		for _, plain := range []string{secret, ":" + secret, "patinject:" + secret, "x" + secret + "y", "xy" + secret + "QQQ"} {
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
				b64 := enc.EncodeToString([]byte(plain))
				for col := 1; col <= len(b64)+1; col++ {
					for _, eol := range []string{"\n", "\r\n"} {
						in := "data:\n" + wrap(b64, col, eol) + "end\n"
						for _, size := range []int{0, 7} {
							out := redactString(t, m, in, size)
							if l, ok := leak(out, secret); ok {
								t.Fatalf("base64 of %q wrapped at %d (%q), writes of %d: %s leaks from %q", plain, col, eol, size, l, out)
							}
							if !strings.HasPrefix(out, "data:\n") || !strings.HasSuffix(out, "end\n") {
								t.Fatalf("base64 of %q wrapped at %d: got %q, want the text around it kept", plain, col, out)
							}
						}
					}
				}
			}
		}
	}
}

// Percent-encoding as every encoder writes it: which characters are left alone differs, so does
// the case of the hex digits and the encoding of a space.
func TestRedactPercentEncoded(t *testing.T) {
	t.Parallel()
	uriComponent := func(c byte) bool { return alnum(c) || strings.IndexByte("-_.!~*'()", c) >= 0 }
	pyQuote := func(c byte) bool { return alnum(c) || strings.IndexByte("_.-~/", c) >= 0 }
	pyQuotePlus := func(c byte) bool { return alnum(c) || strings.IndexByte("_.-~", c) >= 0 }
	none := func(byte) bool { return false }
	for _, secret := range []string{testPassword, "ab/cd+ef gh%ij&kl=mn?op#qr"} {
		m := secretMatcher([]string{secret})
		cases := map[string]string{
			"encodeURIComponent":   pctEncode(secret, uriComponent, true, false),
			"python quote":         pctEncode(secret, pyQuote, true, false),
			"python quote_plus":    pctEncode(secret, pyQuotePlus, true, true),
			"lower-case hex":       pctEncode(secret, uriComponent, false, false),
			"every byte":           pctEncode(secret, none, true, false),
			"every byte, lower":    pctEncode(secret, none, false, true),
			"in a query":           "GET /cb?a=1&token=" + pctEncode(secret, pyQuotePlus, false, true) + "&b=2 HTTP/1.1\r\n",
			"in a url, json-ised":  `{"url":"https:\/\/h\/x?t=` + strings.ReplaceAll(pctEncode(secret, pyQuote, true, false), "/", `\/`) + `"}`,
			"basic in a query":     "?auth=" + pctEncode(base64.StdEncoding.EncodeToString([]byte(":"+secret)), alnum, true, false),
			"url alphabet, quoted": "?auth=" + pctEncode(base64.URLEncoding.EncodeToString([]byte(secret)), alnum, false, false),
		}
		rng := rand.New(rand.NewPCG(3, 4))
		for i := range 50 {
			// Any subset of the characters encoded, each with either case.
			var b strings.Builder
			for j := 0; j < len(secret); j++ {
				if rng.IntN(2) == 0 {
					b.WriteByte(secret[j])
				} else {
					b.WriteString(pctEncode(secret[j:j+1], none, rng.IntN(2) == 0, false))
				}
			}
			cases[fmt.Sprint("random subset ", i)] = b.String()
		}
		for name, enc := range cases {
			for _, size := range []int{0, 1, 5} {
				out := redactString(t, m, "x="+enc+"\n", size)
				if l, ok := leak(out, secret); ok {
					t.Errorf("%s of %q (%q), writes of %d: %s leaks from %q", name, secret, enc, size, l, out)
				}
			}
		}
	}
}

// JSON escaping as every encoder writes it: PHP's \/, Python's ensure_ascii \u00e9, upper-case
// \u00E9, surrogate pairs, and any character as \uXXXX.
func TestRedactJSONEscaped(t *testing.T) {
	t.Parallel()
	ascii := func(r rune) bool { return r >= 0x80 }
	never := func(rune) bool { return false }
	always := func(rune) bool { return true }
	m := secretMatcher([]string{testPassword, testPAT})
	for _, secret := range []string{testPassword, testPAT} {
		cases := map[string]string{
			"php":            jsonEncode(secret, ascii, false, true),
			"python":         jsonEncode(secret, ascii, false, false),
			"upper-case hex": jsonEncode(secret, ascii, true, false),
			"utf-8 as is":    jsonEncode(secret, never, false, false),
			"every char":     jsonEncode(secret, always, false, false),
			"every char, uc": jsonEncode(secret, always, true, true),
		}
		rng := rand.New(rand.NewPCG(5, 6))
		for i := range 50 {
			cases[fmt.Sprint("random subset ", i)] = jsonEncode(secret, func(rune) bool { return rng.IntN(3) == 0 }, rng.IntN(2) == 0, rng.IntN(2) == 0)
		}
		for name, enc := range cases {
			for _, size := range []int{0, 1, 6} {
				out := redactString(t, m, `{"password":"`+enc+`"}`+"\n", size)
				if l, ok := leak(out, secret); ok {
					t.Errorf("%s of %q (%q), writes of %d: %s leaks from %q", name, secret, enc, size, l, out)
				}
			}
		}
	}
}

// Hex, and the escaping of every file patinject writes: XML (NuGet.Config, Maven settings), .npmrc,
// netrc, git config.
func TestRedactHexAndFileFormats(t *testing.T) {
	t.Parallel()
	var goXML strings.Builder
	_ = xml.EscapeText(&goXML, []byte(testPassword+"\n\t"))
	namedXML := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(testPassword)
	var numXML, hexXML strings.Builder
	for _, r := range testPassword {
		if alnum(byte(r)) && r < 0x80 {
			numXML.WriteRune(r)
			fmt.Fprintf(&hexXML, "&#x%X;", r)
		} else {
			fmt.Fprintf(&numXML, "&#%d;", r)
			hexXML.WriteRune(r)
		}
	}
	cases := map[string]string{
		"hex":              hex.EncodeToString([]byte(testPassword)),
		"HEX":              strings.ToUpper(hex.EncodeToString([]byte(testPassword))),
		"go xml":           `<add key="ClearTextPassword" value="` + goXML.String() + `" />`,
		"named entities":   "<password>" + namedXML + "</password>",
		"decimal entities": "<password>" + numXML.String() + "</password>",
		"hex entities":     "<password>" + hexXML.String() + "</password>",
		"npmrc":            "//registry/:_authToken=" + npmrcEscape(testPassword),
		"netrc":            "machine h login u password " + netrcToken(testPassword+"\n\t"),
		"git config":       "\textraheader = " + gitQuote("AUTHORIZATION: bearer "+testPassword),
	}
	m := secretMatcher([]string{testPassword})
	for name, enc := range cases {
		for _, size := range []int{0, 1, 4} {
			out := redactString(t, m, enc+"\n", size)
			if l, ok := leak(out, testPassword); ok {
				t.Errorf("%s (%q), writes of %d: %s leaks from %q", name, enc, size, l, out)
			}
		}
	}
}

// The oracle itself: each encoding above, unredacted, is read back by it. A test whose oracle sees
// nothing could never fail.
func TestLeakOracle(t *testing.T) {
	t.Parallel()
	for _, enc := range []string{
		wrap(base64.StdEncoding.EncodeToString([]byte("patinject:"+testPAT)), 7, "\r\n"),
		pctEncode(testPassword, func(byte) bool { return false }, false, true),
		jsonEncode(testPassword, func(rune) bool { return true }, true, true),
		hex.EncodeToString([]byte(testPassword)),
		"&#112;&#x40;" + testPassword[2:],
		npmrcEscape(testPassword),
	} {
		if _, ok := leak(enc, testPassword[:len(testPassword)/2]+testPAT); !ok {
			if _, ok := leak(enc, testPAT); !ok {
				if _, ok := leak(enc, testPassword); !ok {
					t.Errorf("the oracle reads nothing of the secret back from %q", enc)
				}
			}
		}
	}
	if !utf8.ValidString(testPassword) {
		t.Fatal("testPassword must be UTF-8")
	}
}

// Once its buffers have grown, a redactor of a secret matcher allocates nothing, however many
// redactions it makes, wrapped, escaped or split across writes.
func TestSecretRedactorAllocs(t *testing.T) {
	m := secretMatcher([]string{testPassword, testPAT}, "patinject")
	b64 := wrap(base64.StdEncoding.EncodeToString([]byte("patinject:"+testPAT)), 76, "\r\n")
	chunk := []byte(strings.Repeat("ordinary line of output\n", 200) + "pw=" + jsonEncode(testPassword, func(rune) bool { return true }, false, true) +
		"\n" + b64 + pctEncode(testPassword, alnum, false, true) + "\n" + testPAT[:20])
	r := m.NewRedactor(io.Discard)
	rest := []byte(testPAT[20:])
	write := func() {
		r.Write(chunk)
		r.Write(rest)
		r.Write(chunk[:100])
		r.Flush()
	}
	write()
	if n := testing.AllocsPerRun(20, write); n != 0 {
		t.Errorf("got %v allocations a run, want 0", n)
	}
}

// A prompt or progress line without a newline is shown at once: only what could still begin a
// form is held.
func TestSecretRedactorShowsPrompts(t *testing.T) {
	t.Parallel()
	m := secretMatcher([]string{testPassword, testPAT}, "patinject")
	tests := []struct{ write, shown string }{
		{"Password: ", "Password: "},
		{"progress 50 [=====     ]", "progress 50 [=====     ]"},
		{"token " + testPAT[:10], "token "},
		{"x=%7", "x="},                    // may be the beginning of %70 ("p")
		{"x=\\u00", "x="},                 // may be the beginning of \u0070
		{"x=&#x7", "x="},                  // may be the beginning of &#x70;
		{"x " + testPAT[:5] + "\r", "x "}, // may be the first half of a CRLF in wrapped base64
		{"done\n", "done\n"},              // a line break on its own is not held
	}
	for _, tt := range tests {
		var out recorder
		r := m.NewRedactor(&out)
		r.Write([]byte(tt.write))
		if got := out.String(); got != tt.shown {
			t.Errorf("after writing %q: shown %q, want %q", tt.write, got, tt.shown)
		}
	}
}
