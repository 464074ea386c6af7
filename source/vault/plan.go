package vault

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/patinject/patinject/msgsafe"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/secret"
)

// describe says what resolving ref would do, without any I/O (patinject plan).
func describe(env resolve.Env, ref secret.Ref) (resolve.Description, error) {
	q, err := parseRef(ref)
	if err != nil {
		return resolve.Description{}, err
	}
	addr, _ := env.Lookup("VAULT_ADDR")
	if addr == "" {
		addr = "https://127.0.0.1:8200 (VAULT_ADDR is not set)"
	} else {
		addr = msgsafe.URL(addr)
	}
	l := login(env)
	d := resolve.Description{Action: "read", Details: map[string]string{"path": q.path, "vault": addr, "login": l.method()}}
	what := q.path
	if q.field != "" {
		what += " field " + q.field
		d.Details["field"] = q.field
	}
	if q.version != 0 {
		what += fmt.Sprintf(" version %d", q.version)
	}
	if len(q.params) > 0 {
		d.Action = "write"
		var keys []string
		for k := range q.params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		what += " with " + strings.Join(keys, ", ")
	}
	d.What = fmt.Sprintf("Vault %s at %s, logged in by %s", what, addr, l.method())
	d.Undo = "revoke its Vault lease, if Vault answers with one"
	if l.method() != MethodToken {
		d.Last = "revoke the Vault token of the " + l.method() + " login"
	}
	return d, nil
}

// probe logs in and asks Vault which capabilities the token has on the path the reference
// reads or writes, without reading or writing it (patinject plan --check).
func probe(ctx context.Context, env resolve.Env, ref secret.Ref) error {
	q, err := parseRef(ref)
	if err != nil {
		return err
	}
	sess, err := open(nil, env.Lookup, "", "", env.Log)
	if err != nil {
		return err
	}
	l := login(env)
	if err := sess.login(ctx, l, env.Lookup, nil); err != nil {
		return err
	}
	if sess.loggedIn {
		defer func() { _ = retry(context.WithoutCancel(ctx), sess.revokeSelf) }()
	}
	m, err := sess.mountOf(ctx, q.path)
	if err != nil {
		return err
	}
	path, need := q.path, "read"
	switch {
	case m.version == 2:
		path = m.path + "data/" + strings.TrimPrefix(q.path, m.path)
	case len(q.params) > 0:
		need = "update"
	}
	sec, err := sess.client.Logical().WriteWithContext(ctx, "sys/capabilities-self", map[string]any{"paths": []string{path}})
	if err != nil {
		return sess.describe("check capabilities on", path, lacks("update", "sys/capabilities-self"), err)
	}
	var caps []string
	if sec != nil {
		if raw, ok := sec.Data[path].([]any); ok {
			for _, c := range raw {
				caps = append(caps, fmt.Sprint(c))
			}
		}
	}
	if !slices.Contains(caps, need) && !slices.Contains(caps, "root") {
		return fmt.Errorf("vault: the token may not %s %s (its capabilities there: %s)", need, path, strings.Join(caps, ", "))
	}
	return nil
}
