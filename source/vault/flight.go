package vault

import (
	"context"
	"sync"
)

// flights runs one call per key at a time and shares its result with every caller of the same
// key, then and later: the mounts of a session and its responses are each asked of Vault once.
// A failure can be forgotten, for the next caller to try again.
type flights[T any] struct {
	mu    sync.Mutex
	calls map[string]*call[T]
}

type call[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// do returns the result of key's call, making it with fn if none was made; leader reports
// whether this caller made it. A caller that waits gives up when ctx ends.
func (f *flights[T]) do(ctx context.Context, key string, fn func() (T, error)) (val T, leader bool, err error) {
	f.mu.Lock()
	if c, ok := f.calls[key]; ok {
		f.mu.Unlock()
		select {
		case <-c.done:
			return c.val, false, c.err
		case <-ctx.Done():
			var zero T
			return zero, false, ctx.Err()
		}
	}
	if f.calls == nil {
		f.calls = map[string]*call[T]{}
	}
	c := &call[T]{done: make(chan struct{})}
	f.calls[key] = c
	f.mu.Unlock()
	c.val, c.err = fn()
	close(c.done)
	return c.val, true, c.err
}

// forget drops key's result, so that the next caller makes the call again.
func (f *flights[T]) forget(key string) {
	f.mu.Lock()
	delete(f.calls, key)
	f.mu.Unlock()
}
