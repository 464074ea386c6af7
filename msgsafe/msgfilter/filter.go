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

// Line is String for a message that must stay one line: line breaks become spaces first.
func (f *Filter) Line(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	return f.String(s)
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

// Writer returns a writer that filters each line written through it (a line ends at '\n';
// what is left at Close or at the end of a Write without a break is held until the next '\n'
// or flushed by Flush). It keeps line breaks, so that a multi-line help text still reads.
func (f *Filter) Writer(w io.Writer) *LineWriter { return &LineWriter{f: f, w: w} }

// LineWriter is what Filter.Writer returns.
type LineWriter struct {
	f   *Filter
	w   io.Writer
	mu  sync.Mutex
	buf []byte
}

func (lw *LineWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.buf = append(lw.buf, p...)
	for {
		i := bytes.IndexByte(lw.buf, '\n')
		if i < 0 {
			break
		}
		line := string(lw.buf[:i])
		lw.buf = lw.buf[i+1:]
		if _, err := io.WriteString(lw.w, lw.f.String(strings.TrimSuffix(line, "\r"))+"\n"); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

// Flush writes what is held without a line break.
func (lw *LineWriter) Flush() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if len(lw.buf) == 0 {
		return nil
	}
	s := lw.f.String(string(lw.buf))
	lw.buf = nil
	_, err := io.WriteString(lw.w, s)
	return err
}
