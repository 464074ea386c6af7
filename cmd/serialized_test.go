package cmd

import (
	"bytes"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// overlapWriter records how many Writes ran at once.
type overlapWriter struct {
	in, most atomic.Int32
	buf      bytes.Buffer
	mu       sync.Mutex
}

func (w *overlapWriter) Write(p []byte) (int, error) {
	n := w.in.Add(1)
	defer w.in.Add(-1)
	for {
		m := w.most.Load()
		if n <= m || w.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond) // long enough for a concurrent Write to arrive
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// Sources resolve concurrently and each writes its progress and warnings to the command's
// streams (a race the detector once caught on a test's buffer): Main's streams take one Write
// at a time, across stdout and stderr, unless they are files, which are safe already and stay
// themselves.
func TestStreamsTakeOneWriteAtATime(t *testing.T) {
	w := &overlapWriter{}
	out, errw := serialized(w, w)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			if i%2 == 0 {
				out.Write([]byte("stdout line\n"))
			} else {
				errw.Write([]byte("stderr line\n"))
			}
		})
	}
	wg.Wait()
	if m := w.most.Load(); m != 1 {
		t.Errorf("%d writes ran at once, want 1", m)
	}
	if o, e := serialized(os.Stdout, os.Stderr); o != os.Stdout || e != os.Stderr {
		t.Errorf("files were wrapped: %T %T", o, e)
	}
}
