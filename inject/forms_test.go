package inject

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// The expected forms are written out literally (worked out by hand and with Python's base64 and
// urllib), so that a mistake in Forms cannot hide behind the same mistake in the test.
func TestForms(t *testing.T) {
	t.Parallel()
	const tok = "s3cr3t-T0ken_v4lue"
	tests := []struct {
		name      string
		value     string
		users     []string
		want      []string
		forbidden []string // must not be forms: too short to redact safely
	}{
		{
			name:  "token and its basic auth encodings",
			value: tok,
			users: []string{"patinject"},
			want: []string{
				tok,
				"czNjcjN0LVQwa2VuX3Y0bHVl",     // base64(token), 18 bytes: no padding
				"OnMzY3IzdC1UMGtlbl92NGx1ZQ==", // base64(":token")
				"OnMzY3IzdC1UMGtlbl92NGx1ZQ",   // unpadded
				"cGF0aW5qZWN0OnMzY3IzdC1UMGtlbl92NGx1ZQ==", // base64("patinject:token")
				"cGF0aW5qZWN0OnMzY3IzdC1UMGtlbl92NGx1ZQ",
			},
		},
		{
			name:  "every username",
			value: tok,
			users: []string{"patinject", "ci-bot"},
			want: []string{
				"cGF0aW5qZWN0OnMzY3IzdC1UMGtlbl92NGx1ZQ==",
				"Y2ktYm90OnMzY3IzdC1UMGtlbl92NGx1ZQ==",
				"Y2ktYm90OnMzY3IzdC1UMGtlbl92NGx1ZQ",
			},
		},
		{
			name:  "standard and url alphabets",
			value: "\xfb\xef\xbe\xfb\xef\xbe\x01\x02",
			want:  []string{"++++++++AQI=", "++++++++AQI", "--------AQI=", "--------AQI"},
		},
		{
			name:  "url and json escapes",
			value: `p@ss/w<rd>&"\ tok+en=%?~é`,
			want: []string{
				`p%40ss%2Fw%3Crd%3E%26%22%5C+tok%2Ben%3D%25%3F~%C3%A9`, // url.QueryEscape
				`p@ss%2Fw%3Crd%3E&%22%5C%20tok+en=%25%3F~%C3%A9`,       // url.PathEscape
				`p@ss/w\u003crd\u003e\u0026\"\\ tok+en=%?~é`,           // encoding/json
				`p@ss/w<rd>&\"\\ tok+en=%?~é`,                          // encoding/json, SetEscapeHTML(false)
				`OnBAc3MvdzxyZD4mIlwgdG9rK2VuPSU/fsOp`,                 // base64(":value"), std
				`OnBAc3MvdzxyZD4mIlwgdG9rK2VuPSU_fsOp`,                 // and url alphabet
				`cEBzcy93PHJkPiYiXCB0b2srZW49JT9+w6k=`,                 // base64(value)
				`cEBzcy93PHJkPiYiXCB0b2srZW49JT9-w6k`,                  // url, unpadded
				`cEBzcy93PHJkPiYiXCB0b2srZW49JT9+w6`,                   // in a stream at shift 0: the last char mixes in what follows
				`BAc3MvdzxyZD4mIlwgdG9rK2VuPSU/fsOp`,                   // at shift 1
				`BAc3MvdzxyZD4mIlwgdG9rK2VuPSU_fsOp`,                   // at shift 1, url alphabet
				`wQHNzL3c8cmQ+JiJcIHRvaytlbj0lP37Dq`,                   // at shift 2
				`wQHNzL3c8cmQ-JiJcIHRvaytlbj0lP37Dq`,                   // at shift 2, url alphabet
			},
		},
		{
			name:      "lines of a multi-line value",
			value:     "-----BEGIN KEY-----\r\nMIIBOgIBAAJBAKj34GkxFhD9\r\nab\r\n-----END KEY-----",
			want:      []string{"-----BEGIN KEY-----", "MIIBOgIBAAJBAKj34GkxFhD9", "-----END KEY-----"},
			forbidden: []string{"ab", "ab\r"},
		},
		{
			name:  "a four-byte value keeps its aligned encodings only",
			value: "abcd",
			want:  []string{"abcd", "YWJjZA==", "YWJjZA", "OmFiY2Q=", "OmFiY2Q"},
			// "YWJjZ" is the value at shift 0 inside a longer stream: 5 characters, too short.
			forbidden: []string{"YWJjZ", "YWJj"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Forms(tt.value, tt.users...)
			have := map[string]bool{}
			for _, f := range got {
				if have[string(f)] {
					t.Errorf("form %q appears twice", f)
				}
				have[string(f)] = true
				if len(f) < MinSecretLen {
					t.Errorf("got form %q of %d bytes, want at least %d", f, len(f), MinSecretLen)
				}
			}
			for _, w := range tt.want {
				if !have[w] {
					t.Errorf("got forms %q, want them to include %q", got, w)
				}
			}
			for _, f := range tt.forbidden {
				if have[f] {
					t.Errorf("got form %q, want it left out (too short to redact safely)", f)
				}
			}
		})
	}
}

// A secret inside a longer base64 stream (a Basic header in a dumped request, a config file
// encoded whole) must lose every character that depends only on its bytes, whatever bytes come
// before it. The covered range is worked out here from the bit positions, not from Forms.
func TestFormsInBase64Stream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		secret string
		before string // known text between the unknown leading bytes and the secret
	}{
		{name: "token", secret: "s3cr3t-T0ken_v4lue"},
		{name: "basic credential", secret: "s3cr3t-T0ken_v4lue", before: "patinject:"},
		{name: "empty user", secret: "s3cr3t-T0ken_v4lue", before: ":"},
		{name: "five bytes", secret: "k3y!Z"},
		{name: "bytes that encode to + and /", secret: "\xfb\xef\xbe\xfb\xef\xbe\x01\x02\xff"},
		{name: "not a multiple of three", secret: "ghp_0123456789abcdefghij"},
	}
	encs := []struct {
		name string
		enc  *base64.Encoding
	}{
		{"std", base64.StdEncoding},
		{"url", base64.URLEncoding},
		{"std unpadded", base64.RawStdEncoding},
		{"url unpadded", base64.RawURLEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := NewMatcher(Forms(tt.secret, "patinject"))
			for lead := 0; lead <= 5; lead++ {
				for trail := 0; trail <= 4; trail++ {
					for _, e := range encs {
						plain := strings.Repeat("\x9c", lead) + tt.before + tt.secret + strings.Repeat("~", trail)
						stream := e.enc.EncodeToString([]byte(plain))
						// Character c carries bits [6c, 6c+6) of plain; the secret has bits
						// [8*off, 8*(off+len)).
						off := len(plain) - len(tt.secret) - trail
						first := (8*off + 5) / 6
						end := 8 * (off + len(tt.secret)) / 6

						var out bytes.Buffer
						r := m.NewRedactor(&out)
						r.Write([]byte(stream))
						r.Flush()
						got := out.String()
						head, tail, ok := strings.Cut(got, Redaction)
						switch {
						case !ok:
							t.Errorf("lead %d, trail %d, %s: got %q, want the secret's characters %d..%d of %q redacted", lead, trail, e.name, got, first, end, stream)
						case strings.Contains(tail, Redaction):
							t.Errorf("lead %d, trail %d, %s: got %q, want one redaction", lead, trail, e.name, got)
						case !strings.HasPrefix(stream, head) || !strings.HasSuffix(stream, tail):
							t.Errorf("lead %d, trail %d, %s: got %q, want the rest of %q unchanged", lead, trail, e.name, got, stream)
						case len(head) > first || len(stream)-len(tail) < end:
							t.Errorf("lead %d, trail %d, %s: got %q, want at least characters %d..%d of %q redacted", lead, trail, e.name, got, first, end, stream)
						}
					}
				}
			}
		})
	}
}

// The secret as it appears in JSON, in URLs and, for a multi-line value, line by line: nothing of
// it survives.
func TestRedactorEscapedForms(t *testing.T) {
	t.Parallel()
	const special = `p@ss/w<rd>&"\ tok+en=%?~é`
	const pem = "-----BEGIN PRIVATE KEY-----\nMIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEA\nq7BFUpkGp3+XQmSfFkh1b2n3\n-----END PRIVATE KEY-----\n"
	jsonHTML, _ := json.Marshal(map[string]string{"password": special})
	var jsonPlain bytes.Buffer
	e := json.NewEncoder(&jsonPlain)
	e.SetEscapeHTML(false)
	e.Encode(map[string]string{"password": special})
	pemJSON, _ := json.Marshal(map[string]string{"key": pem})

	tests := []struct {
		name    string
		value   string
		output  string
		mustNot []string // independently written renderings of the secret
	}{
		{
			name:    "json with html escaping",
			value:   special,
			output:  "config: " + string(jsonHTML) + "\n",
			mustNot: []string{`p@ss/w\u003crd\u003e\u0026\"\\ tok+en=%?~é`},
		},
		{
			name:    "json without html escaping",
			value:   special,
			output:  "config: " + jsonPlain.String(),
			mustNot: []string{`p@ss/w<rd>&\"\\ tok+en=%?~é`},
		},
		{
			name:    "query string",
			value:   special,
			output:  "GET https://example.com/cb?" + url.Values{"token": {special}}.Encode() + "&x=1\n",
			mustNot: []string{`p%40ss%2Fw%3Crd%3E%26%22%5C+tok%2Ben%3D%25%3F~%C3%A9`},
		},
		{
			name:    "path segment",
			value:   special,
			output:  "GET https://example.com/u/" + url.PathEscape(special) + "/repo\n",
			mustNot: []string{`p@ss%2Fw%3Crd%3E&%22%5C%20tok+en=%25%3F~%C3%A9`},
		},
		{
			name:  "pem lines one by one",
			value: pem,
			output: "line 2 is MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEA!\n" +
				"and the third: q7BFUpkGp3+XQmSfFkh1b2n3\n" +
				"-----END PRIVATE KEY-----\n-----BEGIN PRIVATE KEY-----\n",
			mustNot: strings.Split(strings.TrimSpace(pem), "\n"),
		},
		{
			name:    "pem inside json",
			value:   pem,
			output:  string(pemJSON) + "\n",
			mustNot: append(strings.Split(strings.TrimSpace(pem), "\n"), `MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEA\nq7BFUpkGp3+XQmSfFkh1b2n3`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			r := NewRedactor(&out, Forms(tt.value, "patinject"))
			// One byte at a time: the hardest way for a form to slip through.
			for i := range len(tt.output) {
				r.Write([]byte{tt.output[i]})
			}
			r.Flush()
			got := out.String()
			for _, s := range append(tt.mustNot, tt.value) {
				if strings.Contains(got, s) {
					t.Errorf("got %q, want no %q in it", got, s)
				}
			}
			if !strings.Contains(got, Redaction) {
				t.Errorf("got %q, want %q in it", got, Redaction)
			}
		})
	}
}
