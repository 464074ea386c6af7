// Package msgfilter is the filter every message patinject prints about itself passes: the
// redactor of CMD's output, loaded with every known secret and source credential, then
// msgsafe's neutralising of control characters and CI logging commands.
package msgfilter

import (
	"bytes"
	"io"
	"strings"
	"sync"

	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/msgsafe"
)

// Filter is the last step of every message patinject prints about itself. It knows the
// secrets of the run as they become known (each resolved value, each credential a source read
// or logged in with) and replaces every form of them the redactor of CMD's output replaces, then
// neutralises control characters and CI logging commands. Safe for concurrent use; the zero
// value filters nothing but control characters and commands.
type Filter struct {
	mu      sync.Mutex
	values  map[string]bool
	matcher *inject.Matcher
	dirty   bool
}

// Add makes f redact v (and its forms) from now on. Values shorter than inject.MinSecretLen
// are ignored: redacting them would shred every message.
func (f *Filter) Add(values ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range values {
		if len(v) < inject.MinSecretLen {
			continue
		}
		if f.values == nil {
			f.values = map[string]bool{}
		}
		if !f.values[v] {
			f.values[v] = true
			f.dirty = true
		}
	}
}

// String filters one message: secrets redacted, then control characters and commands
// neutralised.
func (f *Filter) String(s string) string {
	if f != nil {
		s = f.redact(s)
	}
	return msgsafe.Commands(msgsafe.Controls(s))
}

// Line is String for a message that must stay one line: line breaks become spaces, after the
// redaction (which reads a value split across lines only while the breaks are there).
func (f *Filter) Line(s string) string {
	if f != nil {
		s = f.redact(s)
	}
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	return msgsafe.Commands(msgsafe.Controls(s))
}

func (f *Filter) redact(s string) string {
	f.mu.Lock()
	if f.dirty {
		var vals []string
		for v := range f.values {
			vals = append(vals, v)
		}
		// The same forms and readings as the redactor of CMD's output.
		f.matcher = inject.NewSecretMatcher(vals, inject.DefaultUsername)
		f.dirty = false
	}
	m := f.matcher
	f.mu.Unlock()
	if m == nil {
		return s
	}
	var b bytes.Buffer
	r := m.NewRedactor(&b)
	io.WriteString(r, s)
	r.Flush()
	return b.String()
}
