package inject

import (
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// benchOutput is what CI jobs print: log lines, JSON, hex ids and base64 blobs, with no secret in
// it unless every is non-zero, in which case a secret form goes in about every `every` bytes.
func benchOutput(rng *rand.Rand, size int, forms [][]byte, every int) []byte {
	words := []string{"INFO", "DEBUG", "building", "target", "linking", "ok", "github.com/patinject", "cache", "hit", "miss", "the", "Step", "Downloading", "npm", "warn", "deprecated", "compiling", "src/main.rs", "test", "passed"}
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	out := make([]byte, 0, size+256)
	next := every
	for len(out) < size {
		switch rng.IntN(4) {
		case 0:
			out = fmt.Appendf(out, "2024-05-01T12:%02d:%02d.%03dZ ", rng.IntN(60), rng.IntN(60), rng.IntN(1000))
			for range 3 + rng.IntN(10) {
				out = append(out, words[rng.IntN(len(words))]...)
				out = append(out, ' ')
			}
			out = append(out, '\n')
		case 1:
			out = fmt.Appendf(out, `{"id":"%016x","name":"%s","count":%d,"ok":true}`+"\n", rng.Uint64(), words[rng.IntN(len(words))], rng.IntN(1e6))
		case 2:
			for range 40 + rng.IntN(40) {
				out = append(out, b64[rng.IntN(len(b64))])
			}
			out = append(out, '\n')
		default:
			out = fmt.Appendf(out, "commit %016x%016x%08x\n", rng.Uint64(), rng.Uint64(), rng.Uint32())
		}
		if every > 0 && len(out) >= next {
			out = append(out, forms[rng.IntN(len(forms))]...)
			next += every
		}
	}
	return out[:size]
}

// benchSecret is like the bench scripts' secrets: 32 random alphanumerics.
func benchSecret(rng *rand.Rand) string {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 32)
	for i := range b {
		b[i] = alnum[rng.IntN(len(alnum))]
	}
	return string(b)
}

func BenchmarkRedactor(b *testing.B) {
	tests := []struct {
		name    string
		secrets int
		write   int  // bytes per Write; 64 KiB is what a pipe hands over at a time
		every   int  // a secret form every this many bytes; 0: none
		short   bool // add a 4-byte secret: the window shrinks to 4 bytes
	}{
		{name: "secrets=1", secrets: 1, write: 64 << 10},
		{name: "secrets=50", secrets: 50, write: 64 << 10},
		{name: "secrets=50/writes=256KiB", secrets: 50, write: 256 << 10},
		{name: "secrets=50/writes=100B", secrets: 50, write: 100},
		{name: "secrets=50/form-every-4KiB", secrets: 50, write: 64 << 10, every: 4 << 10},
		{name: "secrets=50/one-of-4-bytes", secrets: 50, write: 64 << 10, short: true},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(42, 42))
			var pats [][]byte
			var vals []string
			for range tt.secrets {
				vals = append(vals, benchSecret(rng))
				pats = append(pats, Forms(vals[len(vals)-1], DefaultUsername)...)
			}
			if tt.short {
				vals = append(vals, "Xq9z")
				pats = append(pats, Forms("Xq9z", DefaultUsername)...)
			}
			data := benchOutput(rng, 8<<20, pats, tt.every)
			r := NewSecretMatcher(vals, DefaultUsername).NewRedactor(io.Discard)
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for range b.N {
				for rest := data; len(rest) > 0; {
					n := min(len(rest), tt.write)
					r.Write(rest[:n])
					rest = rest[n:]
				}
				r.Flush()
			}
			b.ReportMetric(float64(len(pats)), "patterns")
		})
	}
}

// BenchmarkNewMatcher is what compiling the patterns adds to the start of `run`.
func BenchmarkNewMatcher(b *testing.B) {
	for _, secrets := range []int{1, 50} {
		b.Run(fmt.Sprintf("secrets=%d", secrets), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(42, 42))
			var vals []string
			for range secrets {
				vals = append(vals, benchSecret(rng))
			}
			b.ResetTimer()
			for range b.N {
				NewSecretMatcher(vals, DefaultUsername)
			}
		})
	}
}

// benchJWT is a JWT as Entra and Vault issue them: the usual RS256 header, a payload of claims,
// a 256-byte signature.
func benchJWT(rng *rand.Rand) string {
	const header = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
	payload := fmt.Sprintf(`{"aud":"api://%08x","iss":"https://sts.example.com/%08x/","iat":%d,"exp":%d,"oid":"%016x","scp":"user_impersonation","sub":"%016x%016x"}`,
		rng.Uint32(), rng.Uint32(), 1700000000+rng.IntN(1e6), 1700003600+rng.IntN(1e6), rng.Uint64(), rng.Uint64(), rng.Uint64())
	sig := make([]byte, 256)
	for i := range sig {
		sig[i] = byte(rng.Uint32())
	}
	return header + base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// jwtOutput is a log full of bearer tokens (none of them a secret unless every is set), between
// ordinary CI lines.
func jwtOutput(rng *rand.Rand, size int, secret []string, every int) []byte {
	var out []byte
	next := every
	for len(out) < size {
		switch rng.IntN(3) {
		case 0:
			out = fmt.Appendf(out, "2024-05-01T12:%02d:%02d.%03dZ GET https://api.example.com/v1/items/%d\n", rng.IntN(60), rng.IntN(60), rng.IntN(1000), rng.IntN(1e6))
		default:
			out = fmt.Appendf(out, "2024-05-01T12:%02d:%02d.%03dZ Authorization: Bearer %s\n", rng.IntN(60), rng.IntN(60), rng.IntN(1000), benchJWT(rng))
		}
		if every > 0 && len(out) >= next {
			out = fmt.Appendf(out, "token=%s\n", secret[rng.IntN(len(secret))])
			next += every
		}
	}
	return out[:size]
}

func BenchmarkRedactorJWT(b *testing.B) {
	for _, secrets := range []int{20, 1000} {
		b.Run(fmt.Sprintf("secrets=%d", secrets), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(42, 42))
			var vals []string
			for range secrets {
				vals = append(vals, benchJWT(rng))
			}
			data := jwtOutput(rng, 8<<20, vals, 0)
			r := NewSecretMatcher(vals, DefaultUsername).NewRedactor(io.Discard)
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for range b.N {
				for rest := data; len(rest) > 0; {
					n := min(len(rest), 64<<10)
					r.Write(rest[:n])
					rest = rest[n:]
				}
				r.Flush()
			}
		})
	}
}
