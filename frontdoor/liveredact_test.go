package frontdoor

import (
	"bytes"
	"strings"
	"testing"

	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/secret"
)

// A secret learnt mid-stream is redacted from then on, also split across writes, and what a
// layer held back still comes out, in order.
func TestLiveRedactionLearns(t *testing.T) {
	var out bytes.Buffer
	l := newLiveRedaction(&out, inject.NewSecretMatcher([]string{"first-secret-value"}), nil)
	l.Write([]byte("a first-secret-value b first-sec"))
	l.learn(secret.NewValue("refreshed-token-0123456789"))
	l.Write([]byte("ret-value c refreshed-tok"))
	l.Write([]byte("en-0123456789 d"))
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, "first-secret") || strings.Contains(got, "refreshed-token") {
		t.Fatalf("a secret came through: %q", got)
	}
	if got != "a *** b *** c *** d" {
		t.Errorf("got %q", got)
	}
}
