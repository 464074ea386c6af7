package inject

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// item is a byte of a reading and the stretch of the input it comes from.
type item struct {
	b          byte
	start, end int
}

// naiveBreaks takes out each maximal run of '\r' and '\n' items that holds a '\n' and is at most
// two items long.
func naiveBreaks(in []item) []item {
	var out []item
	for i := 0; i < len(in); {
		if in[i].b != '\r' && in[i].b != '\n' {
			out = append(out, in[i])
			i++
			continue
		}
		j, lf := i, false
		for j < len(in) && (in[j].b == '\r' || in[j].b == '\n') {
			lf = lf || in[j].b == '\n'
			j++
		}
		if !lf || j-i > 2 {
			out = append(out, in[i:j]...)
		}
		i = j
	}
	return out
}

func naiveHex(b []item, n int) (rune, bool) {
	if len(b) < n {
		return 0, false
	}
	var r rune
	for _, it := range b[:n] {
		var d byte
		switch c := it.b; {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// naiveDecode decodes in as kind says ('%', '+', '\\' or '&'), each output byte mapped to the
// input stretch of its escape.
func naiveDecode(kind byte, in []item) []item { return naiveBreaks(naiveUnescape(kind, in)) }

// naiveUnescape is naiveDecode without taking line breaks out.
func naiveUnescape(kind byte, in []item) []item {
	var out []item
	put := func(s []byte, from, to int) {
		for _, c := range s {
			out = append(out, item{c, in[from].start, in[to-1].end})
		}
	}
	for i := 0; i < len(in); {
		c := in[i].b
		switch {
		case kind == '+' && c == '+':
			put([]byte{' '}, i, i+1)
			i++
			continue
		case (kind == '%' || kind == '+') && c == '%':
			if v, ok := naiveHex(in[i+1:], 2); ok {
				put([]byte{byte(v)}, i, i+3)
				i += 3
				continue
			}
		case kind == '\\' && c == '\\' && i+1 < len(in):
			esc := map[byte]byte{'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'f': '\f'}
			switch x := in[i+1].b; {
			case esc[x] != 0:
				put([]byte{esc[x]}, i, i+2)
				i += 2
				continue
			case x == 'u':
				r, ok := naiveHex(in[i+2:], 4)
				if !ok {
					break
				}
				end := i + 6
				if r >= 0xd800 && r < 0xdc00 && end+1 < len(in) && in[end].b == '\\' && in[end+1].b == 'u' {
					if lo, ok := naiveHex(in[end+2:], 4); ok && lo >= 0xdc00 && lo < 0xe000 {
						r, end = 0x10000+(r-0xd800)<<10+(lo-0xdc00), end+6
					}
				}
				put(utf8.AppendRune(nil, r), i, end)
				i = end
				continue
			default:
				put([]byte{x}, i, i+2)
				i += 2
				continue
			}
		case kind == '&' && c == '&':
			var name []byte
			k := i + 1
			for k < len(in) && len(name) < 11 && (isAlnum(in[k].b) || in[k].b == '#') {
				name = append(name, in[k].b)
				k++
			}
			if k < len(in) && in[k].b == ';' {
				named := map[string]rune{"amp": '&', "lt": '<', "gt": '>', "quot": '"', "apos": '\''}
				r, ok := named[string(name)]
				if !ok && len(name) >= 2 && name[0] == '#' {
					digits, base := string(name[1:]), 10
					if digits[0] == 'x' || digits[0] == 'X' {
						digits, base = digits[1:], 16
					}
					var v int64
					_, err := fmt.Sscanf(digits, map[int]string{10: "%d", 16: "%x"}[base], &v)
					valid := err == nil && len(digits) >= 1 && len(digits) <= 8 && v <= utf8.MaxRune
					for _, d := range digits {
						valid = valid && strings.ContainsRune("0123456789abcdefABCDEF"[:map[int]int{10: 10, 16: 22}[base]], d)
					}
					r, ok = rune(v), valid
				}
				if ok {
					put(utf8.AppendRune(nil, r), i, k+1)
					i = k + 1
					continue
				}
			}
		}
		out = append(out, in[i])
		i++
	}
	return out
}

// naiveSecretRedact is the reference of NewSecretMatcher, on the whole input at once: every
// reading of the whole input (joined; percent-, backslash-, XML-decoded and the percent-decoding
// of the last two, '+' as a space too when a form holds a space; line breaks taken out of each
// at the end), every occurrence of every form
// in each found by trying each position, the union of their stretches of input replaced.
func naiveSecretRedact(in []byte, values []string, users ...string) []byte {
	var pats [][]byte
	space := false
	for _, v := range values {
		for _, f := range Forms(v, users...) {
			var its []item
			for i, c := range f {
				its = append(its, item{c, i, i + 1})
			}
			var p []byte
			for _, it := range naiveBreaks(its) {
				p = append(p, it.b)
			}
			if len(p) >= MinSecretLen {
				pats = append(pats, p)
				space = space || bytes.IndexByte(p, ' ') >= 0
			}
		}
	}
	var raw []item
	for i, c := range in {
		raw = append(raw, item{c, i, i + 1})
	}
	joined := naiveBreaks(raw)
	readings := [][]item{joined}
	kinds := []byte{'%'}
	if space {
		kinds = append(kinds, '+')
	}
	for _, k := range kinds {
		readings = append(readings, naiveDecode(k, raw),
			naiveDecode(k, naiveUnescape('\\', raw)), naiveDecode(k, naiveUnescape('&', raw)))
	}
	readings = append(readings, naiveDecode('\\', raw), naiveDecode('&', raw))

	type iv struct{ start, end int }
	var spans []iv
	for _, r := range readings {
		for _, p := range pats {
			for i := 0; i+len(p) <= len(r); i++ {
				ok := true
				for k := range p {
					if r[i+k].b != p[k] {
						ok = false
						break
					}
				}
				if ok {
					spans = append(spans, iv{r[i].start, r[i+len(p)-1].end})
				}
			}
		}
	}
	slices.SortFunc(spans, func(a, b iv) int { return a.start - b.start })
	var out []byte
	pos := 0
	for i := 0; i < len(spans); {
		start, end := spans[i].start, spans[i].end
		for i++; i < len(spans) && spans[i].start <= end; i++ {
			end = max(end, spans[i].end)
		}
		out = append(out, in[pos:start]...)
		out = append(out, Redaction...)
		pos = end
	}
	return append(out, in[pos:]...)
}

// encodeSomehow writes f the way some tool might: as it is, wrapped, percent-encoded, escaped for
// JSON or XML, or nested; sometimes only a beginning or an end of it.
func encodeSomehow(rng *rand.Rand, f string, plain bool) string {
	some := func(byte) bool { return rng.IntN(2) == 0 }
	var s string
	how := rng.IntN(9)
	if plain {
		how = []int{0, 2, 7}[rng.IntN(3)] // as it is or wrapped
	}
	switch how {
	case 0, 1:
		s = f
	case 2:
		s = wrap(f, 1+rng.IntN(max(len(f), 1)), []string{"\n", "\r\n"}[rng.IntN(2)])
	case 3:
		s = pctEncode(f, some, rng.IntN(2) == 0, rng.IntN(2) == 0)
	case 4:
		s = jsonEncode(f, func(rune) bool { return rng.IntN(3) == 0 }, rng.IntN(2) == 0, rng.IntN(2) == 0)
	case 5:
		var b strings.Builder
		for _, r := range f {
			switch rng.IntN(4) {
			case 0:
				fmt.Fprintf(&b, "&#%d;", r)
			case 1:
				fmt.Fprintf(&b, "&#x%x;", r)
			default:
				b.WriteString(strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;").Replace(string(r)))
			}
		}
		s = b.String()
	case 6:
		s = jsonEncode(pctEncode(f, some, false, false), func(rune) bool { return false }, false, true)
	case 7:
		s = base64.StdEncoding.EncodeToString([]byte(f))
		s = wrap(s, 1+rng.IntN(80), "\n")
	default:
		s = netrcToken(f)
	}
	switch rng.IntN(6) {
	case 0:
		return s[:rng.IntN(len(s)+1)]
	case 1:
		return s[rng.IntN(len(s)+1):]
	}
	return s
}

// differentialOutput is output full of encoded secrets and noise, long enough that the
// redactor's scan of the bulk of a write (not only of its tail) is used.
func differentialOutput(rng *rand.Rand, values []string, size int) []byte {
	// Half the time without escape characters, so that line breaks are not only seen through
	// the escaped readings.
	noise := "abcAB01 \n\r\n*=:-_/+%\\&;#u"
	plain := rng.IntN(2) == 0
	if plain {
		noise = "abcAB01 \n\r\n\n*=:-_/+;#u"
	}
	var out []byte
	for len(out) < size {
		v := values[rng.IntN(len(values))]
		switch rng.IntN(6) {
		case 0, 1:
			out = append(out, encodeSomehow(rng, v, plain)...)
		case 2:
			forms := Forms(v, "patinject")
			out = append(out, encodeSomehow(rng, string(forms[rng.IntN(len(forms))]), plain)...)
		case 3:
			for range rng.IntN(300) {
				out = append(out, "ordinary log text, nothing to see "[rng.IntN(34)])
			}
		default:
			for range rng.IntN(12) {
				out = append(out, noise[rng.IntN(len(noise))])
			}
		}
	}
	return out
}

// checkSecretRedaction runs chunks through a redactor of NewSecretMatcher and compares the
// result with the reference, and what was held after each write with MaxHeld.
func checkSecretRedaction(t *testing.T, values []string, chunks [][]byte) {
	t.Helper()
	m := NewSecretMatcher(values, "patinject")
	var out bytes.Buffer
	r := m.NewRedactor(&out)
	var in []byte
	for _, c := range chunks {
		if n, err := r.Write(c); err != nil || n != len(c) {
			t.Fatalf("Write: got %d, %v; want %d, nil", n, err, len(c))
		}
		in = append(in, c...)
		if len(r.hold) > m.MaxHeld() {
			t.Fatalf("holding %d bytes, want at most %d", len(r.hold), m.MaxHeld())
		}
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	got, want := out.Bytes(), naiveSecretRedact(in, values, "patinject")
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("values %q: output differs from the reference at byte %d:\n got  %q\n want %q\n(input %q, cut into %d writes)",
			values, i, got[max(i-60, 0):min(i+60, len(got))], want[max(i-60, 0):min(i+60, len(want))], in, len(chunks))
	}
}

// The differential test: random secrets, encoded at random the ways tools do, in output cut into
// random writes, small and large; the streaming redactor must agree with the reference exactly.
func TestSecretRedactorDifferential(t *testing.T) {
	t.Parallel()
	alphabets := []string{
		secretAlphabet + "é€𝄞",
		"ab+/ ",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		"%\\&#;u0",
	}
	seeds := 60
	if testing.Short() {
		seeds = 10
	}
	for ai, alphabet := range alphabets {
		for seed := range uint64(seeds) {
			rng := rand.New(rand.NewPCG(seed, uint64(ai)))
			var values []string
			for range 1 + rng.IntN(3) {
				v := randomSecret(rng, alphabet)
				if !utf8.ValidString(v) {
					v = strings.ToValidUTF8(v, "x")
				}
				values = append(values, v)
			}
			in := differentialOutput(rng, values, 200+rng.IntN(3000))
			t.Run(fmt.Sprint("alphabet ", ai, " seed ", seed), func(t *testing.T) {
				checkSecretRedaction(t, values, randomSplit(rng, in))
				checkSecretRedaction(t, values, [][]byte{in})
			})
		}
	}
}

func FuzzSecretRedactor(f *testing.F) {
	f.Add("p@ss/w<rd>&\"\\ tok+en", []byte("x=p%40ss%2Fw%3crd%3E%26%22%5C%20tok%2Ben\n{\"p\":\"p@ss\\/w\\u003crd>&\\\"\\\\ tok+en\"}\n"), uint64(1))
	f.Add("7x3kq2m4z5ab6cd7ef8gh2ij3kl4mn5op6qr7st2uv3wx4yz5ab6c", []byte("cGF0aW5qZWN0Ojd4M2txMm00ejVhYjZjZDdlZjhnaDJpajNrbDRtbjVvcDZxcjdzdDJ1djN3eDR5\r\nejVhYjZj\r\n"), uint64(2))
	f.Add("s3cr3t&amp;<x>", []byte("<pw>s3cr3t&amp;amp;&lt;x&#x3E;</pw> &#115;3cr3t"), uint64(3))
	f.Fuzz(func(t *testing.T, secret string, out []byte, seed uint64) {
		if len(secret) < MinSecretLen || len(secret) > 64 || strings.Contains(secret, "*") || len(out) > 4096 {
			return
		}
		rng := rand.New(rand.NewPCG(seed, 0))
		var in []byte
		for rest := out; len(rest) > 0; {
			n := 1 + rng.IntN(len(rest))
			in = append(in, rest[:n]...)
			rest = rest[n:]
			if rng.IntN(2) == 0 {
				in = append(in, encodeSomehow(rng, secret, rng.IntN(2) == 0)...)
			}
		}
		checkSecretRedaction(t, []string{secret}, randomSplit(rng, in))
	})
}
