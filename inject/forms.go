package inject

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
)

// MinSecretLen is the shortest value that can be redacted without shredding the output: shorter
// values match by chance in ordinary text and would turn it into a field of "***".
const MinSecretLen = 4

// MinShiftedLen is the shortest shifted base64 form (see Forms) that is kept.
//
// A shifted form is the part of a longer base64 stream that depends only on the secret's bytes, so
// it is about 4/3 of the secret's length minus up to three characters lost at its edges. For a
// 4-byte secret that leaves 4 or 5 characters carrying 24 to 30 bits: such a run turns up by chance
// about once per 16 million characters of base64, so a large base64 blob (a container layer, an
// encoded archive) would come out peppered with "***". Six characters (36 bits) make a chance match
// a once-per-70-GB event. Secrets of 5 bytes or more have all their shifted forms at 6 characters
// or longer; a 4-byte secret keeps only its aligned encodings (base64 of the value itself, 6 and 8
// characters), which is one more reason to prefer longer credentials.
const MinShiftedLen = 6

// Forms returns every form of value that must not appear in output, deduplicated, none shorter
// than MinSecretLen:
//
//   - the value itself, and each line of a multi-line value ("\r\n" or "\n"; lines shorter than
//     MinSecretLen are skipped: a PEM block's short last line is harmless alone);
//   - base64 of the value, of ":value" and of "user:value" for each of usernames (what a Basic
//     authorization header carries), in the standard and URL alphabets, padded and unpadded;
//   - the value inside a longer base64 stream, at each of the three alignments: for the value
//     preceded by 0, 1 or 2 unknown bytes, the run of base64 characters that depends only on the
//     value's bytes, in both alphabets (at least MinShiftedLen characters, see there);
//   - the value in hexadecimal, lower and upper case;
//   - url.QueryEscape and url.PathEscape of the value;
//   - the value as encoding/json escapes it inside a string (without the quotes), with and without
//     HTML escaping.
func Forms(value string, usernames ...string) [][]byte {
	var f formSet
	f.add(value, MinSecretLen)
	if strings.ContainsAny(value, "\r\n") {
		for _, line := range strings.Split(value, "\n") {
			f.add(strings.TrimSuffix(line, "\r"), MinSecretLen)
		}
	}

	plain := []string{value, ":" + value}
	for _, u := range usernames {
		plain = append(plain, u+":"+value)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for _, s := range plain {
			f.add(enc.EncodeToString([]byte(s)), MinSecretLen)
			f.add(enc.WithPadding(base64.NoPadding).EncodeToString([]byte(s)), MinSecretLen)
		}
		for shift := 0; shift < 3; shift++ {
			f.add(shifted(enc, value, shift), MinShiftedLen)
		}
	}

	f.add(hex.EncodeToString([]byte(value)), MinSecretLen)
	f.add(strings.ToUpper(hex.EncodeToString([]byte(value))), MinSecretLen)
	f.add(url.QueryEscape(value), MinSecretLen)
	f.add(url.PathEscape(value), MinSecretLen)
	f.add(jsonEscape(value, true), MinSecretLen)
	f.add(jsonEscape(value, false), MinSecretLen)
	return f.forms
}

// shifted returns the base64 characters that encode only bits of value when value is preceded in
// the encoded stream by shift (0, 1 or 2) bytes and followed by more. Character i of an encoding
// carries bits [6i, 6i+6); value occupies bits [8*shift, 8*(shift+len)), so the characters that
// depend on value alone are those from ceil(8*shift/6) up to, not including, floor(8*(shift+len)/6).
func shifted(enc *base64.Encoding, value string, shift int) string {
	n := len(value)
	first := (8*shift + 5) / 6
	end := 8 * (shift + n) / 6
	if end <= first {
		return ""
	}
	// The zero bytes stand in for the unknown neighbours; the characters they touch are cut off.
	buf := make([]byte, shift+n+2)
	copy(buf[shift:], value)
	return enc.EncodeToString(buf)[first:end]
}

// jsonEscape returns value as encoding/json writes it between the quotes of a string.
func jsonEscape(value string, escapeHTML bool) string {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(escapeHTML)
	if err := e.Encode(value); err != nil {
		return "" // a string always encodes; nothing to add if it ever does not
	}
	s := strings.TrimSuffix(b.String(), "\n")
	return s[1 : len(s)-1]
}

// formSet collects forms in order of first appearance, without repeats.
type formSet struct {
	seen  map[string]bool
	forms [][]byte
}

func (f *formSet) add(s string, minLen int) {
	if len(s) < minLen || f.seen[s] {
		return
	}
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	f.seen[s] = true
	f.forms = append(f.forms, []byte(s))
}
