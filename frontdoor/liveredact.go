package frontdoor

import (
	"io"
	"sync"

	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/secret"
)

// liveRedaction is one stream's redaction that learns a secret while the command runs: a token
// refreshed for the git credential helper is a value nobody knew at the start. A layer that
// redacts it goes in front, so that what the command writes from then on is read for the new
// token first, then for all the others; what was held back stays in the layer that held it.
type liveRedaction struct {
	mu     sync.Mutex
	head   io.Writer
	layers []*inject.Redactor // front first
	users  []string
}

func newLiveRedaction(w io.Writer, m *inject.Matcher, users []string) *liveRedaction {
	r := m.NewRedactor(w)
	return &liveRedaction{head: r, layers: []*inject.Redactor{r}, users: users}
}

func (l *liveRedaction) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head.Write(p)
}

// learn redacts v, in all its forms, from everything written from now on.
func (l *liveRedaction) learn(v secret.Value) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := inject.NewSecretMatcher([]string{v.Reveal()}, l.users...).NewRedactor(l.head)
	l.layers = append([]*inject.Redactor{r}, l.layers...)
	l.head = r
}

// Flush writes out what every layer holds, front first, so that each layer's rest passes
// through the layers behind it.
func (l *liveRedaction) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first error
	for _, r := range l.layers {
		if err := r.Flush(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// learner passes the secrets learnt during a run (refreshed tokens) to its live redactions,
// once each.
type learner struct {
	mu      sync.Mutex
	known   map[string]bool
	streams []*liveRedaction
}

func (l *learner) learn(v secret.Value) {
	if l == nil || v.Len() < inject.MinSecretLen {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.known[v.Reveal()] {
		return
	}
	l.known[v.Reveal()] = true
	for _, s := range l.streams {
		s.learn(v)
	}
}
