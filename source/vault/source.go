// Package vault is the HashiCorp Vault source: it resolves vault://PATH#FIELD references (KV v1
// and v2 found from the mount, ?version=N, writes for engines that mint on request, generic reads
// of dynamic engines), logs in with a token, AppRole, JWT/OIDC or Kubernetes, and gives back every
// lease and the login token when the run ends. It is configured the way the vault CLI is.
package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/secret"
)

// Action kinds that this package records and undoes.
const (
	KindLease = "vault-lease"
	KindToken = "vault-token"
)

// Source resolves vault:// references over one client and one login, made lazily by the first
// Resolve and shared by all the concurrent ones after it.
type Source struct {
	Login Login
	// Registry receives the revocation of the login token the moment the login succeeds, so that
	// it is undone after the leases read with it (the registry runs last registered first).
	Registry *cleanup.Registry
	Log      *slog.Logger
	// Env looks up VAULT_TOKEN, VAULT_NAMESPACE and HOME; nil means the process environment.
	Env func(string) (string, bool)
	// Config returns the client configuration; nil means api.DefaultConfig(), which reads
	// VAULT_ADDR, VAULT_CACERT, VAULT_CLIENT_TIMEOUT and the rest as the vault CLI does.
	Config func() *api.Config
	// Journal records each login and each leasing read or write before it is sent, then its
	// accessor or lease id, then its revocation.
	Journal *cleanup.Journal

	once sync.Once
	sess *session
	err  error
}

var _ resolve.Source = (*Source)(nil)

// session is one logged-in client and what it has learnt about mounts.
type session struct {
	client    *api.Client
	addr      string
	namespace string
	log       *slog.Logger
	loggedIn  bool   // patinject logged in, so the token is its own to revoke
	accessor  string // of the login token
	entityID  string // the identity the login token belongs to ("" when none)
	progress  func(msg string)
	journal   *cleanup.Journal
	leaseLog  map[string]*cleanup.Entry // by lease id

	mu              sync.Mutex
	mounts          []mount
	mountFlights    flights[mount]
	responseFlights flights[response]
}

// mount is what sys/internal/ui/mounts says of the mount under a path.
type mount struct {
	path    string // with a trailing slash; "" when the server did not say (an older Vault)
	typ     string
	version int // KV version: 1 or 2; 0 for other engines
}

func (m mount) covers(p string) bool { return m.path != "" && strings.HasPrefix(p+"/", m.path) }

func (m mount) String() string {
	name := strings.TrimSuffix(m.path, "/")
	switch m.version {
	case 1, 2:
		return fmt.Sprintf("KV v%d mount %q", m.version, name)
	}
	return fmt.Sprintf("%s mount %q", m.typ, name)
}

func (s *Source) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Source) session(ctx context.Context) (*session, error) {
	s.once.Do(func() {
		s.sess, s.err = open(s.Config, s.Env, "", "", s.log())
		if s.err != nil {
			return
		}
		s.sess.journal = s.Journal
		s.err = s.sess.login(ctx, s.Login, s.Env, s.Registry)
	})
	return s.sess, s.err
}

// open makes a client configured as the vault CLI is. addr and namespace, when given, override
// the environment's (cleanup talks to the Vault that inject used).
func open(config func() *api.Config, env func(string) (string, bool), addr, namespace string, log *slog.Logger) (*session, error) {
	if env == nil {
		env = os.LookupEnv
	}
	var cfg *api.Config
	if config != nil {
		cfg = config()
	} else {
		cfg = api.DefaultConfig()
	}
	if cfg.Error != nil {
		return nil, fmt.Errorf("vault: configuration from the environment: %w", cfg.Error)
	}
	if addr != "" {
		cfg.Address = addr
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault: configuration from the environment: %w", err)
	}
	// NewClient reads VAULT_TOKEN and VAULT_NAMESPACE from the process environment by itself;
	// set both from env so that what the caller passed is what counts.
	c.ClearToken()
	c.ClearNamespace()
	if ns, ok := env("VAULT_NAMESPACE"); ok && ns != "" {
		c.SetNamespace(ns)
	}
	if namespace != "" {
		c.SetNamespace(namespace)
	}
	return &session{
		client:    c,
		addr:      c.Address(),
		namespace: c.Namespace(),
		log:       log,
	}, nil
}

// Resolve resolves one vault:// reference: a KV v1 or v2 read (?version=N for v2), a write when
// it has other parameters (never to KV), or a read of any other engine. References that differ
// only in their field share one request, so that the fields of one response belong together and
// a lease is taken once; the lease's undo comes with the first of them. Values are returned byte
// for byte when they are strings; a map or a list as its compact JSON, a number, true or false
// as written.
func (s *Source) Resolve(ctx context.Context, ref secret.Ref) (resolve.Resolved, error) {
	q, err := parseRef(ref)
	if err != nil {
		return resolve.Resolved{}, err
	}
	sess, err := s.session(ctx)
	if err != nil {
		return resolve.Resolved{}, err
	}
	return sess.resolve(ctx, q)
}

// request is a reference read for Vault.
type request struct {
	path    string
	field   string
	version int
	params  url.Values // other than version: the reference is a write
}

func parseRef(ref secret.Ref) (request, error) {
	p, err := url.PathUnescape(ref.Path)
	if err != nil {
		return request{}, fmt.Errorf("vault: bad escape in path")
	}
	q := request{path: strings.Trim(p, "/"), field: ref.Fragment, params: url.Values{}}
	for k, vs := range ref.Query {
		if k == "version" {
			if len(vs) != 1 {
				return request{}, fmt.Errorf("vault: %s: give ?version once", q.path)
			}
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 1 {
				return request{}, fmt.Errorf("vault: %s: ?version=%s is not a version number (1, 2, ...)", q.path, vs[0])
			}
			q.version = n
			continue
		}
		q.params[k] = vs
	}
	if len(q.params) > 0 && q.version != 0 {
		// A KV read takes only version; anything else is a write, which takes no version of ours.
		q.params.Set("version", strconv.Itoa(q.version))
		q.version = 0
	}
	return q, nil
}

func (s *session) resolve(ctx context.Context, q request) (resolve.Resolved, error) {
	r, leader, err := s.shared(ctx, q)
	if err != nil {
		return resolve.Resolved{}, err
	}
	var res resolve.Resolved
	if r.sec != nil && r.sec.LeaseID != "" {
		if leader {
			res = s.leased(r.sec, q.path, r.at)
		} else if r.sec.LeaseDuration > 0 {
			res.Expiry = r.at.Add(time.Duration(r.sec.LeaseDuration) * time.Second)
		}
	}
	v, err := pick(r.data, q.field, r.desc)
	if err != nil {
		if res.Undo != nil {
			// Nothing may be left behind on error: give the lease back now.
			if uerr := res.Undo(context.WithoutCancel(ctx)); uerr != nil {
				err = fmt.Errorf("%w; and the lease could not be revoked: %v", err, uerr)
			}
		}
		return resolve.Resolved{}, err
	}
	res.Value = v
	res.TokenType = tokenType(r.data, q.field)
	return res, nil
}

// tokenType is the kind of the token read from data: the response's token_type, "pat" or
// "bearer", when the field read is its token (the Azure DevOps secrets engine answers
// creds/ROLE with token and token_type); "" otherwise.
func tokenType(data map[string]any, field string) string {
	if field != "token" {
		return ""
	}
	switch t, _ := data["token_type"].(string); strings.ToLower(t) {
	case "pat":
		return "pat"
	case "bearer":
		return "bearer"
	}
	return ""
}

// response is what one read or write returned.
type response struct {
	data map[string]any
	sec  *api.Secret // nil for KV v2
	desc string
	at   time.Time
}

// shared reads or writes once per path and parameters, however many references ask: the fields
// of one response belong together (a certificate and its private key, a database user and its
// password), and a lease is taken once. The caller that made the request, the leader, owns the
// lease's undo.
func (s *session) shared(ctx context.Context, q request) (response, bool, error) {
	key := q.path + "?" + q.params.Encode()
	if q.version != 0 {
		key += "&version=" + strconv.Itoa(q.version)
	}
	return s.responseFlights.do(ctx, key, func() (response, error) { return s.fetch(ctx, q) })
}

// fetch finds the mount of q's path and reads (KV v1, v2, any engine) or writes there.
func (s *session) fetch(ctx context.Context, q request) (response, error) {
	m, err := s.mountOf(ctx, q.path)
	if err != nil {
		return response{}, err
	}
	var (
		data map[string]any
		sec  *api.Secret
		desc string // what was read, for messages: "secret/ci/ado version 2"
	)
	switch {
	case m.version != 0 && len(q.params) > 0:
		return response{}, fmt.Errorf("vault: %s is on %s: a KV read takes no parameter but ?version=N (patinject never writes to KV)", q.path, m)
	case m.version == 2:
		data, desc, err = s.readKV2(ctx, m, q)
		if err != nil {
			return response{}, err
		}
	case q.version != 0:
		return response{}, fmt.Errorf("vault: ?version=%d needs a KV v2 mount; %s is on %s: %w", q.version, q.path, m, ErrKVVersion)
	case len(q.params) > 0:
		// A write may mint and lease: once sent it is seen through, cancelled or not, so that
		// its lease is known and can be revoked (the client's timeout still bounds it).
		entry := s.journal.Begin(KindLease, s.leaseParams())
		sec, err = s.client.Logical().WriteWithContext(context.WithoutCancel(ctx), q.path, writeData(q.params))
		s.journaled(entry, sec)
		if err != nil {
			return response{}, s.describe("write", q.path, lacks("update", q.path), err)
		}
		desc = q.path
		if sec == nil || sec.Data == nil {
			return response{}, fmt.Errorf("vault: write %s: the response has no data (is it an endpoint that returns a secret?)", q.path)
		}
		data = sec.Data
	case m.version == 1:
		kv, err := s.client.KVv1(strings.TrimSuffix(m.path, "/")).Get(ctx, strings.TrimPrefix(q.path, m.path))
		if err != nil {
			if statusOf(err) == 0 && isNotFound(err) {
				return response{}, fmt.Errorf("vault: no secret at %s (%s): %w", q.path, m, ErrNotFound)
			}
			return response{}, s.describe("read", q.path, lacks("read", q.path), err)
		}
		sec, data, desc = kv.Raw, kv.Data, q.path
	default:
		// A read of a dynamic engine leases: seen through like a write.
		entry := s.journal.Begin(KindLease, s.leaseParams())
		sec, err = s.client.Logical().ReadWithContext(context.WithoutCancel(ctx), q.path)
		s.journaled(entry, sec)
		if err != nil {
			return response{}, s.describe("read", q.path, lacks("read", q.path), err)
		}
		if sec == nil || sec.Data == nil {
			where := ""
			if m.path != "" {
				where = " (" + m.String() + ")"
			}
			return response{}, fmt.Errorf("vault: no secret at %s%s: %w", q.path, where, ErrNotFound)
		}
		data, desc = sec.Data, q.path
	}

	return response{data: data, sec: sec, desc: desc, at: time.Now()}, nil
}

// journaled records the lease of sec, or closes the entry when Vault answered with none.
func (s *session) journaled(e *cleanup.Entry, sec *api.Secret) {
	if sec != nil && sec.LeaseID != "" {
		e.Created(sec.LeaseID, time.Now().Add(time.Duration(sec.LeaseDuration)*time.Second))
		s.mu.Lock()
		if s.leaseLog == nil {
			s.leaseLog = map[string]*cleanup.Entry{}
		}
		s.leaseLog[sec.LeaseID] = e
		s.mu.Unlock()
		return
	}
	e.Done()
}

func isNotFound(err error) bool { return errors.Is(err, api.ErrSecretNotFound) }

// readKV2 reads a KV v2 secret, of a given version when asked.
func (s *session) readKV2(ctx context.Context, m mount, q request) (map[string]any, string, error) {
	mountName := strings.TrimSuffix(m.path, "/")
	rel := strings.TrimPrefix(q.path, m.path)
	apiPath := m.path + "data/" + rel
	kv := s.client.KVv2(mountName)
	var (
		sec *api.KVSecret
		err error
	)
	if q.version != 0 {
		sec, err = kv.GetVersion(ctx, rel, q.version)
	} else {
		sec, err = kv.Get(ctx, rel)
	}
	what := q.path
	if q.version != 0 {
		what = fmt.Sprintf("%s version %d", q.path, q.version)
	}
	if err != nil {
		if statusOf(err) == 0 && isNotFound(err) {
			return nil, "", fmt.Errorf("vault: no secret at %s (%s): %w", what, m, ErrNotFound)
		}
		return nil, "", s.describe("read", apiPath, lacks("read", apiPath), err)
	}
	if sec.Data == nil {
		state := "deleted"
		if sec.VersionMetadata != nil && sec.VersionMetadata.Destroyed {
			state = "destroyed"
		}
		return nil, "", fmt.Errorf("vault: %s is %s (%s): %w; read another ?version=N or undelete it", what, state, m, ErrNotFound)
	}
	return sec.Data, what, nil
}

// writeData is the body of a write, as `vault write PATH K=V` sends it: a repeated key a list.
func writeData(params url.Values) map[string]any {
	out := make(map[string]any, len(params))
	for k, vs := range params {
		if len(vs) == 1 {
			out[k] = vs[0]
		} else {
			out[k] = slices.Clone(vs)
		}
	}
	return out
}

// pick returns the field of data, or its only field when field is "".
func pick(data map[string]any, field, desc string) (secret.Value, error) {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if field == "" {
		if len(keys) != 1 {
			return secret.Value{}, fmt.Errorf("vault: %s has %d fields (%s): name one with #FIELD: %w", desc, len(keys), strings.Join(keys, ", "), ErrNoField)
		}
		field = keys[0]
	}
	v, ok := data[field]
	if !ok {
		return secret.Value{}, fmt.Errorf("vault: %s has no field %q (fields: %s): %w", desc, field, strings.Join(keys, ", "), ErrNoField)
	}
	s, err := render(v)
	if err != nil {
		return secret.Value{}, fmt.Errorf("vault: %s field %q: %w", desc, field, err)
	}
	return secret.NewValue(s), nil
}

// render is a field's value as bytes: a string as it is, a number, true or false as written, a
// map or a list as compact JSON (HTML characters unescaped).
func render(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	case nil:
		return "", nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// leased returns how to give back the lease of sec, read at path, and registers nothing: the
// resolver registers it.
func (s *session) leased(sec *api.Secret, path string, now time.Time) resolve.Resolved {
	var exp time.Time
	if sec.LeaseDuration > 0 {
		exp = now.Add(time.Duration(sec.LeaseDuration) * time.Second)
	}
	params := s.leaseParams()
	act := cleanup.Action{
		Kind:   KindLease,
		ID:     sec.LeaseID,
		Label:  "vault lease of " + path,
		Expiry: exp,
		Params: params,
		Manual: "vault lease revoke " + sec.LeaseID,
	}
	s.log.Debug("vault: leased", "path", path, "lease", sec.LeaseID, "ttl", time.Duration(sec.LeaseDuration)*time.Second)
	lease := sec.LeaseID
	var extend func(context.Context) (time.Time, error)
	if sec.Renewable && sec.LeaseDuration > 0 {
		increment := sec.LeaseDuration
		extend = func(ctx context.Context) (time.Time, error) { return s.renewLease(ctx, lease, increment) }
	}
	return resolve.Resolved{
		Expiry: exp,
		Action: act,
		Extend: extend,
		Undo: func(ctx context.Context) error {
			err := s.revokeLease(ctx, lease)
			if err == nil {
				s.leaseDone(lease)
			}
			if err != nil && s.loggedIn && statusOf(err) == 403 {
				// Revoking the login token, which comes after, takes its leases with it.
				s.leaseDone(lease)
				s.log.Debug("vault: no permission to revoke the lease alone; it goes with the login token", "lease", lease)
				return nil
			}
			return s.describe("revoke lease", lease, lacks("update", "sys/leases/revoke"), err)
		},
	}
}

func (s *session) leaseDone(lease string) {
	s.mu.Lock()
	e := s.leaseLog[lease]
	s.mu.Unlock()
	e.Done()
}

// leaseParams are the params of a lease's record: where, and the login token it was read with
// (revoking that token takes the lease along; and Vault can say whose a token is).
func (s *session) leaseParams() map[string]string {
	p := s.params()
	if s.loggedIn && s.accessor != "" {
		p["token_accessor"] = s.accessor
	}
	return p
}

func (s *session) params() map[string]string {
	p := map[string]string{"addr": s.addr}
	if s.namespace != "" {
		p["namespace"] = s.namespace
	}
	return p
}
