package inject

import (
	"bytes"
	"io"
)

// PLACEHOLDER: buffers everything until Flush. To be replaced by the streaming redactor.

// MinSecretLen is the shortest value that can be redacted without shredding the output.
const MinSecretLen = 4

// Forms returns every form of value that must not appear in output.
func Forms(value string, usernames ...string) [][]byte {
	return [][]byte{[]byte(value)}
}

// Redactor replaces every occurrence of its patterns in what is written with "***".
type Redactor struct {
	w    io.Writer
	pats [][]byte
	buf  bytes.Buffer
}

// NewRedactor returns a Redactor writing to w.
func NewRedactor(w io.Writer, patterns [][]byte) *Redactor {
	return &Redactor{w: w, pats: patterns}
}

func (r *Redactor) Write(p []byte) (int, error) { return r.buf.Write(p) }

// Flush writes what is held back; call it at end of stream.
func (r *Redactor) Flush() error {
	b := r.buf.Bytes()
	for _, p := range r.pats {
		b = bytes.ReplaceAll(b, p, []byte("***"))
	}
	_, err := r.w.Write(b)
	r.buf.Reset()
	return err
}
