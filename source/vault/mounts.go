package vault

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/vault/api"
)

// mountOf finds the mount under path as `vault kv get` does, through sys/internal/ui/mounts.
// What it learns is cached, and concurrent lookups are shared: the references of one mount cost
// one lookup between them. Mounts never nest in Vault, so a mount found for one path is the mount
// of every path under it; references are grouped by their first segment, the likeliest mount.
func (s *session) mountOf(ctx context.Context, path string) (mount, error) {
	if m, ok := s.cached(path); ok {
		return m, nil
	}
	first, _, _ := strings.Cut(path, "/")
	m, err := s.share(ctx, "first:"+first, path)
	if err == nil && (m.covers(path) || m.path == "") {
		return m, nil
	}
	// The group's lookup was for another path, under another mount or denied: look up this one.
	if m, ok := s.cached(path); ok {
		return m, nil
	}
	return s.share(ctx, "path:"+path, path)
}

func (s *session) cached(path string) (mount, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.mounts {
		if m.covers(path) {
			return m, true
		}
	}
	return mount{}, false
}

// share runs one lookup of path per key at a time; callers with the same key wait for it. A
// mount found is cached; a failure is not remembered, and the next caller tries again.
func (s *session) share(ctx context.Context, key, path string) (mount, error) {
	m, leader, err := s.mountFlights.do(ctx, key, func() (mount, error) {
		m, err := s.lookupMount(ctx, path)
		if err == nil && m.path != "" {
			s.mu.Lock()
			s.mounts = append(s.mounts, m)
			s.mu.Unlock()
		}
		return m, err
	})
	if err != nil && leader {
		s.mountFlights.forget(key)
	}
	return m, err
}

func (s *session) lookupMount(ctx context.Context, path string) (mount, error) {
	r := s.client.NewRequest("GET", "/v1/sys/internal/ui/mounts/"+path)
	resp, err := s.client.RawRequestWithContext(ctx, r)
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		switch statusOf(err) {
		case 404:
			// Older servers lack the endpoint. The vault CLI then assumes KV v1, whose read is
			// any engine's read; so read, or write when asked, and let ?version=N fail.
			return mount{typ: "unknown"}, nil
		case 403:
			return mount{}, fmt.Errorf("vault: read %s: %w (no secrets engine is mounted there, or the token's policies grant nothing under it; a KV v2 secret needs %q on MOUNT/data/PATH)", path, ErrPermissionDenied, "read")
		}
		if e := s.common(err); e != nil {
			return mount{}, e
		}
		return mount{}, s.describe("find the mount of", path, lacks("read", path), err)
	}
	sec, err := api.ParseSecret(resp.Body)
	if err != nil || sec == nil || sec.Data == nil {
		return mount{}, fmt.Errorf("vault: find the mount of %s: unreadable answer from sys/internal/ui/mounts", path)
	}
	m := mount{}
	m.path, _ = sec.Data["path"].(string)
	m.typ, _ = sec.Data["type"].(string)
	if m.path == "" {
		// The path is under no mount at all.
		return mount{}, fmt.Errorf("vault: read %s: %w: no secrets engine is mounted there (vault secrets list)", path, ErrNotFound)
	}
	if !strings.HasSuffix(m.path, "/") {
		m.path += "/"
	}
	switch m.typ {
	case "kv", "generic":
		m.version = 1
		if opts, ok := sec.Data["options"].(map[string]any); ok && opts["version"] == "2" {
			m.version = 2
		}
	}
	s.log.Debug("vault: mount", "path", m.path, "type", m.typ, "kv", m.version)
	return m, nil
}
