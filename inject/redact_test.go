package inject

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// reference redacts in the simplest way there is, on the whole input at once: every occurrence of
// every pattern is an interval, overlapping or touching intervals are joined, each union becomes
// "***". The streaming redactor must agree with it however the input is cut into writes.
func reference(in []byte, pats [][]byte) []byte {
	type span struct{ start, end int }
	var spans []span
	for _, p := range pats {
		if len(p) == 0 {
			continue
		}
		for i := 0; i+len(p) <= len(in); i++ {
			if bytes.Equal(in[i:i+len(p)], p) {
				spans = append(spans, span{i, i + len(p)})
			}
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var out []byte
	pos := 0
	for i := 0; i < len(spans); {
		start, end := spans[i].start, spans[i].end
		for i++; i < len(spans) && spans[i].start <= end; i++ {
			end = max(end, spans[i].end)
		}
		out = append(out, in[pos:start]...)
		out = append(out, "***"...)
		pos = end
	}
	return append(out, in[pos:]...)
}

// longestHold is the held-back tail the contract allows after seeing in: the longest suffix of in
// that is a proper prefix of some pattern.
func longestHold(in []byte, pats [][]byte) int {
	longest := 0
	for _, p := range pats {
		longest = max(longest, len(p))
	}
	// A proper prefix is shorter than the longest pattern: no need to look further back.
	for h := max(0, len(in)-longest+1); h < len(in); h++ {
		for _, p := range pats {
			if len(p) > len(in)-h && bytes.HasPrefix(p, in[h:]) {
				return len(in) - h
			}
		}
	}
	return 0
}

// redactAll writes each chunk, then flushes, and returns what came out.
func redactAll(t testing.TB, m *Matcher, chunks [][]byte) []byte {
	t.Helper()
	var out bytes.Buffer
	r := m.NewRedactor(&out)
	for _, c := range chunks {
		n, err := r.Write(c)
		if err != nil || n != len(c) {
			t.Fatalf("Write of %d bytes: got %d, %v; want %d, nil", len(c), n, err, len(c))
		}
	}
	if err := r.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	return out.Bytes()
}

func chunksOf(s ...string) [][]byte {
	var c [][]byte
	for _, x := range s {
		c = append(c, []byte(x))
	}
	return c
}

func patternsOf(s ...string) [][]byte { return chunksOf(s...) }

func TestRedactor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		pats   []string
		writes []string
		want   string
	}{
		{name: "no patterns", writes: []string{"hello ", "world"}, want: "hello world"},
		{name: "nothing to redact", pats: []string{"hunter2!"}, writes: []string{"hello world\n"}, want: "hello world\n"},
		{name: "one occurrence", pats: []string{"hunter2!"}, writes: []string{"pw=hunter2! ok\n"}, want: "pw=*** ok\n"},
		{name: "whole input", pats: []string{"hunter2!"}, writes: []string{"hunter2!"}, want: "***"},
		{name: "at start and end", pats: []string{"hunter2!"}, writes: []string{"hunter2! and hunter2!"}, want: "*** and ***"},
		{name: "touching occurrences are one", pats: []string{"hunter2!"}, writes: []string{"[hunter2!hunter2!]"}, want: "[***]"},
		{name: "overlapping occurrences are one", pats: []string{"abab"}, writes: []string{"xabababx"}, want: "x***x"},
		{name: "overlapping patterns are one", pats: []string{"SECRET", "ETabcdef"}, writes: []string{"xxSECRETabcdefyy"}, want: "xx***yy"},
		{name: "short inside long: long wins", pats: []string{"line", "BEGINlineEND"}, writes: []string{"a BEGINlineEND b line c"}, want: "a *** b *** c"},
		{name: "prefix of a longer one", pats: []string{"tokn", "tokn-and-more"}, writes: []string{"tokn-and-more tokn-and tokn"}, want: "*** ***-and ***"},
		{name: "split across writes", pats: []string{"hunter2!"}, writes: []string{"pw=hun", "ter", "2! ok"}, want: "pw=*** ok"},
		{name: "one byte at a time", pats: []string{"hunter2!"}, writes: strings.Split("pw=hunter2!!", ""), want: "pw=***!"},
		{name: "beginning left at the end is not a secret", pats: []string{"hunter2!"}, writes: []string{"pw=hunte"}, want: "pw=hunte"},
		{name: "whole short one inside a held long beginning", pats: []string{"ABCD", "ABCDEFGH"}, writes: []string{"x ABCDEF"}, want: "x ***EF"},
		{name: "held beginning completed", pats: []string{"ABCD", "ABCDEFGH"}, writes: []string{"x ABCDEF", "GH y"}, want: "x *** y"},
		{name: "redaction touching a held beginning", pats: []string{"SECRET"}, writes: []string{"SECRETSEC", "RET."}, want: "***."},
		{name: "patterns shorter than a block", pats: []string{"ab", "xyz"}, writes: []string{"zabcxyzab", "a"}, want: "z***c***a"},
		{name: "empty pattern ignored", pats: []string{"", "hunter2!"}, writes: []string{"a hunter2! b"}, want: "a *** b"},
		{name: "duplicates count once", pats: []string{"hunter2!", "hunter2!"}, writes: []string{"hunter2!"}, want: "***"},
		{name: "binary bytes", pats: []string{"\x00\xff\x00\xff"}, writes: []string{"\x00\x00\xff\x00", "\xff\x00"}, want: "\x00***\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := redactAll(t, NewMatcher(patternsOf(tt.pats...)), chunksOf(tt.writes...))
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if ref := reference([]byte(strings.Join(tt.writes, "")), patternsOf(tt.pats...)); string(ref) != tt.want {
				t.Errorf("reference: got %q, want %q", ref, tt.want)
			}
		})
	}
}

// A secret (and each of its forms) split into 2..n writes at every split point is redacted.
func TestRedactorSplits(t *testing.T) {
	t.Parallel()
	const tok = "s3cr3t-T0ken_v4lue"
	forms := Forms(tok, "patinject")
	m := NewMatcher(forms)
	tests := []struct {
		name string
		in   string
	}{
		{name: "value", in: "token=" + tok + "\n"},
		{name: "basic header", in: "Authorization: Basic cGF0aW5qZWN0OnMzY3IzdC1UMGtlbl92NGx1ZQ==\r\n"},
		{name: "two forms touching", in: tok + "czNjcjN0LVQwa2VuX3Y0bHVl"},
		{name: "beginnings around it", in: "s3cr s3cr3t-T0ken_v4lu " + tok + " s3cr3t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := []byte(tt.in)
			want := reference(in, forms)
			if bytes.Equal(want, in) {
				t.Fatalf("reference: got %q unchanged, want a redaction", in)
			}
			// Two and three writes at every pair of split points.
			for i := 0; i <= len(in); i++ {
				for j := i; j <= len(in); j++ {
					got := redactAll(t, m, [][]byte{in[:i], in[i:j], in[j:]})
					if !bytes.Equal(got, want) {
						t.Fatalf("split at %d and %d: got %q, want %q", i, j, got, want)
					}
				}
			}
			// Every byte its own write.
			var bytewise [][]byte
			for i := range in {
				bytewise = append(bytewise, in[i:i+1])
			}
			if got := redactAll(t, m, bytewise); !bytes.Equal(got, want) {
				t.Errorf("byte by byte: got %q, want %q", got, want)
			}
		})
	}
}

// recorder keeps each Write it receives.
type recorder struct{ writes []string }

func (r *recorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func (r *recorder) String() string { return strings.Join(r.writes, "") }

// After each Write, everything has gone through except a tail that may still begin a pattern.
func TestRedactorHoldsOnlyBeginnings(t *testing.T) {
	t.Parallel()
	type step struct {
		write string
		shown string // everything written through so far
	}
	tests := []struct {
		name  string
		pats  []string
		steps []step
	}{
		{
			name: "prompt without a newline",
			pats: []string{"hunter2!"},
			steps: []step{
				{"Password: ", "Password: "},
				{"hunter2!", "Password: ***"},
				{"\n", "Password: ***\n"},
			},
		},
		{
			name: "beginning released when it stops being one",
			pats: []string{"hunter2!"},
			steps: []step{
				{"user hun", "user "},
				{"te", "user "},
				{"x", "user huntex"},
			},
		},
		{
			name: "a second beginning inside the first",
			pats: []string{"aab!"},
			steps: []step{
				{"xaa", "x"},
				{"a", "xa"},
				{"b", "xa"},
				{"!", "xa***"},
			},
		},
		{
			name: "progress bar",
			pats: []string{"s3cr3t-T0ken_v4lue"},
			steps: []step{
				{"\r[##   ] 40%", "\r[##   ] 40%"},
				{"\r[#### ] 80%", "\r[##   ] 40%\r[#### ] 80%"},
			},
		},
		{
			name: "a whole pattern waits while a longer one may still match there",
			pats: []string{"ABCD", "ABCDEFGH"},
			steps: []step{
				{"x ABCDEF", "x "},
				{"G", "x "},
				{"H y", "x *** y"},
			},
		},
		{
			name: "pattern waits however long the pause",
			pats: []string{"hunter2!"},
			steps: []step{
				{"hunter", ""},
				{"", ""},
				{"2", ""},
				{"!", "***"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rec recorder
			r := NewRedactor(&rec, patternsOf(tt.pats...))
			for i, s := range tt.steps {
				if _, err := r.Write([]byte(s.write)); err != nil {
					t.Fatal(err)
				}
				if got := rec.String(); got != s.shown {
					t.Errorf("after write %d (%q): got %q, want %q", i, s.write, got, s.shown)
				}
			}
		})
	}
}

type failWriter struct{ after int }

var errBroken = errors.New("broken pipe")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errBroken
	}
	f.after--
	return len(p), nil
}

func TestRedactorWriteError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		after int
	}{
		{name: "first write fails", after: 0},
		{name: "second write fails", after: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewRedactor(&failWriter{after: tt.after}, patternsOf("hunter2!"))
			var err error
			for i := 0; i < 3 && err == nil; i++ {
				_, err = r.Write([]byte("line\n"))
			}
			if !errors.Is(err, errBroken) {
				t.Errorf("Write: got %v, want %v", err, errBroken)
			}
			if _, err := r.Write([]byte("more\n")); !errors.Is(err, errBroken) {
				t.Errorf("Write after failure: got %v, want %v", err, errBroken)
			}
			if err := r.Flush(); !errors.Is(err, errBroken) {
				t.Errorf("Flush after failure: got %v, want %v", err, errBroken)
			}
		})
	}
}

// secretAlphabet has no '*', so that a redaction can never be part of a form.
const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_.:%\\\"<>& \n"

func randomSecret(rng *rand.Rand, alphabet string) string {
	n := 4 + rng.IntN(61)
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// randomOutput mixes noise, whole forms, and beginnings and ends of forms (which make the
// redactor hold back and let go), so that matches overlap, touch and straddle writes.
func randomOutput(rng *rand.Rand, forms [][]byte, size int) []byte {
	const noise = "abcAB01 \n*=:-_/+"
	var out []byte
	for len(out) < size {
		f := forms[rng.IntN(len(forms))]
		switch rng.IntN(5) {
		case 0, 1:
			out = append(out, f...)
		case 2:
			out = append(out, f[:rng.IntN(len(f))]...)
		case 3:
			out = append(out, f[rng.IntN(len(f)):]...)
		default:
			for range rng.IntN(12) {
				out = append(out, noise[rng.IntN(len(noise))])
			}
		}
	}
	return out
}

// randomSplit cuts in into pieces at random points, empty pieces included.
func randomSplit(rng *rand.Rand, in []byte) [][]byte {
	var chunks [][]byte
	for len(in) > 0 {
		n := rng.IntN(min(len(in), 1+rng.IntN(80)) + 1)
		chunks = append(chunks, in[:n])
		in = in[n:]
	}
	return chunks
}

// checkRedaction runs in through a redactor in the given chunks and compares the result with the
// reference; it also checks after every write that exactly the allowed tail is held back.
func checkRedaction(t *testing.T, pats [][]byte, chunks [][]byte) {
	t.Helper()
	m := NewMatcher(pats)
	var out bytes.Buffer
	r := m.NewRedactor(&out)
	var in []byte
	for _, c := range chunks {
		if n, err := r.Write(c); err != nil || n != len(c) {
			t.Fatalf("Write: got %d, %v; want %d, nil", n, err, len(c))
		}
		in = append(in, c...)
		if want := longestHold(in, m.pats); len(r.hold) != want {
			t.Fatalf("after %d bytes: holding %d bytes, want %d", len(in), len(r.hold), want)
		}
		if len(r.hold) > m.MaxHeld() {
			t.Fatalf("holding %d bytes, want at most %d", len(r.hold), m.MaxHeld())
		}
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	got, want := out.Bytes(), reference(in, pats)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q (input %q, cut into %d writes)", got, want, in, len(chunks))
	}
	for _, p := range pats {
		if len(p) > 0 && bytes.Contains(got, p) {
			t.Fatalf("got %q, want no %q in it", got, p)
		}
	}
}

// Random secrets, random output full of their forms, random cuts: the stream comes out as the
// reference says, with no form left in it.
func TestRedactorProperty(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		secrets  int
		alphabet string
	}{
		{name: "one secret", secrets: 1, alphabet: secretAlphabet},
		{name: "five secrets", secrets: 5, alphabet: secretAlphabet},
		// A small alphabet makes forms share beginnings and overlap each other.
		{name: "small alphabet", secrets: 3, alphabet: "ab"},
		{name: "binary secrets", secrets: 2, alphabet: "\x00\x01\xfe\xff\n\r\\\"%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for seed := uint64(0); seed < 200; seed++ {
				rng := rand.New(rand.NewPCG(seed, 7))
				var pats [][]byte
				for range tt.secrets {
					pats = append(pats, Forms(randomSecret(rng, tt.alphabet), "patinject")...)
				}
				in := randomOutput(rng, pats, 50+rng.IntN(1500))
				t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
					checkRedaction(t, pats, randomSplit(rng, in))
				})
			}
		})
	}
}

// Writes larger than the longest pattern take the path that scans the caller's buffer in place
// and only copies the seam; this checks it with big writes and long patterns.
func TestRedactorLargeWrites(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var pats [][]byte
	for range 50 {
		pats = append(pats, Forms(randomSecret(rng, secretAlphabet), "patinject")...)
	}
	in := randomOutput(rng, pats, 1<<20)
	want := reference(in, pats)
	m := NewMatcher(pats)
	for _, size := range []int{m.maxLen - 1, m.maxLen, m.maxLen + 1, 4096, 64 << 10} {
		var chunks [][]byte
		for rest := in; len(rest) > 0; {
			n := min(len(rest), size+rng.IntN(3))
			chunks, rest = append(chunks, rest[:n]), rest[n:]
		}
		if got := redactAll(t, m, chunks); !bytes.Equal(got, want) {
			t.Errorf("writes of %d bytes: output differs from the reference (%d bytes, want %d)", size, len(got), len(want))
		}
	}
}

func FuzzRedactor(f *testing.F) {
	f.Add("s3cr3t-T0ken_v4lue", []byte("token=s3cr3t-T0ken_v4lue\nAuthorization: Basic cGF0aW5qZWN0OnMzY3IzdC1UMGtlbl92NGx1ZQ==\n"), uint64(1))
	f.Add("abab", []byte("abababababa"), uint64(2))
	f.Add("line-one\nline-two", []byte("line-one\nline-two line-one line-tw"), uint64(3))
	f.Fuzz(func(t *testing.T, secret string, out []byte, seed uint64) {
		if len(secret) < 4 || len(secret) > 64 || strings.Contains(secret, "*") || len(out) > 1024 {
			return
		}
		pats := Forms(secret, "patinject")
		// Fuzzed output rarely contains a form by chance; put some in.
		rng := rand.New(rand.NewPCG(seed, 0))
		var in []byte
		for rest := out; len(rest) > 0; {
			n := 1 + rng.IntN(len(rest))
			in = append(in, rest[:n]...)
			rest = rest[n:]
			if rng.IntN(2) == 0 {
				p := pats[rng.IntN(len(pats))]
				in = append(in, p[:1+rng.IntN(len(p))]...)
			}
		}
		checkRedaction(t, pats, randomSplit(rng, in))
	})
}

// Flush ends the stream: what comes after it is a new stream, and a secret right at its start is
// not taken for the continuation of the last redaction.
func TestRedactorFlushStartsNewStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		streams []string
		want    string
	}{
		{name: "secret at the end then at the start", streams: []string{"a hunter2!", "hunter2! b"}, want: "a ****** b"},
		{name: "beginning flushed as it is", streams: []string{"hunt", "er2!"}, want: "hunter2!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			r := NewRedactor(&out, patternsOf("hunter2!"))
			for _, s := range tt.streams {
				r.Write([]byte(s))
				if err := r.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			if got := out.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMatcherBeginsPattern(t *testing.T) {
	t.Parallel()
	m := NewMatcher(patternsOf("ABCD", "ABCDEFGH", "xyz!", "ABD0"))
	tests := []struct {
		name string
		b    string
		want bool
	}{
		{name: "one byte", b: "A", want: true},
		{name: "two bytes", b: "AB", want: true},
		{name: "a pattern that begins a longer one", b: "ABCD", want: true},
		{name: "beginning of the longest", b: "ABCDEFG", want: true},
		{name: "whole longest pattern", b: "ABCDEFGH", want: false},
		{name: "a pattern that begins no other", b: "xyz!", want: false},
		{name: "between two patterns", b: "ABC0", want: false},
		{name: "not a first byte", b: "B", want: false},
		{name: "empty", b: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := m.beginsPattern([]byte(tt.b)); got != tt.want {
				t.Errorf("beginsPattern(%q): got %v, want %v", tt.b, got, tt.want)
			}
		})
	}
}
