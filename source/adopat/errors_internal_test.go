package adopat

import (
	"strings"
	"testing"
)

// TestServerMessageHidesReflectedToken is issue 9, item 5: a server that reflects the request
// in its error body must not get the access token printed.
func TestServerMessageHidesReflectedToken(t *testing.T) {
	t.Parallel()
	const tok = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJIdW50ZXIyIn0.SHVudGVyMnNpZw"
	for _, body := range []string{
		`{"message":"TF400813: The user is not authorized. Request header Authorization: Bearer ` + tok + `"}`,
		"bad token " + tok + "\n\x1b]0;owned\x07",
		`{"message":"see https://user:Hunter2@vssps.example/_apis?access_token=Hunter2"}`,
	} {
		got := serverMessage([]byte(body))
		if strings.Contains(got, "eyJhdWQi") || strings.Contains(got, "Hunter2") || strings.ContainsAny(got, "\x1b\x07\n") {
			t.Errorf("serverMessage(%q) = %q", body, got)
		}
	}
}

// The journal's name finds a PAT only when it ends in patinject's random tag.
func TestHasTag(t *testing.T) {
	for name, want := range map[string]bool{
		"patinject contoso/app run 7 " + tag(): true, "x 0123abcd": true,
		"release pipeline PAT": false, "x 0123ABCD": false, "x 0123abc": false, "0123abcd": false, "x 0123abcg": false,
	} {
		if got := hasTag(name); got != want {
			t.Errorf("hasTag(%q) = %v, want %v", name, got, want)
		}
	}
}
