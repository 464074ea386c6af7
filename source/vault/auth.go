package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/secret"
)

// Login methods.
const (
	MethodToken      = "token"
	MethodAppRole    = "approle"
	MethodJWT        = "jwt"
	MethodKubernetes = "kubernetes"
)

// ServiceAccountTokenFile is where a Kubernetes pod finds its service account token.
const ServiceAccountTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// Credential yields a secret needed to log in (an AppRole secret id, a JWT), when it is needed.
type Credential func(context.Context) (secret.Value, error)

// Login says how to log in.
type Login struct {
	Method string // MethodToken (the default), MethodAppRole, MethodJWT or MethodKubernetes
	Path   string // mount of the auth method; default the method's name
	Role   string // for jwt (else the mount's default_role) and kubernetes

	RoleID, SecretID Credential // approle
	// JWT is the token for jwt and kubernetes: for jwt a --vault-jwt reference or the CI
	// platform's own ID token (see IDToken); for kubernetes, nil means the pod's service
	// account token at TokenFile.
	JWT       Credential
	TokenFile string // default ServiceAccountTokenFile
	// Used, when set, is told of every credential the login reads or obtains (the token from
	// VAULT_TOKEN, a JWT, the token a login returns), so that it is redacted and its variable kept
	// from the command.
	Used func(what string, v secret.Value, envVar string)
	// Progress, when set, is told of slow steps at the default log level: the login, each
	// revocation and whether it was verified.
	Progress func(msg string)
}

func (l Login) progress(msg string) {
	if l.Progress != nil {
		l.Progress(msg)
	}
}

func (l Login) used(what string, v secret.Value, envVar string) {
	if l.Used != nil && !v.IsZero() {
		l.Used(what, v, envVar)
	}
}

func (l Login) method() string {
	if l.Method == "" {
		return MethodToken
	}
	return l.Method
}

func (l Login) mount() string {
	if l.Path != "" {
		return strings.Trim(l.Path, "/")
	}
	return l.method()
}

// Validate checks what can be checked before anything is fetched.
func (l Login) Validate() error {
	switch l.method() {
	case MethodToken:
	case MethodAppRole:
		if l.RoleID == nil || l.SecretID == nil {
			return fmt.Errorf("vault: approle login needs --vault-role-id REF and --vault-secret-id REF")
		}
	case MethodJWT:
		if l.JWT == nil {
			return fmt.Errorf("vault: jwt login needs --vault-jwt REF, or a CI platform that issues ID tokens")
		}
	case MethodKubernetes:
		if l.Role == "" {
			return fmt.Errorf("vault: kubernetes login needs --vault-role NAME")
		}
	default:
		return fmt.Errorf("vault: unknown login method %q (want token, approle, jwt or kubernetes)", l.Method)
	}
	return nil
}

// login logs the session in. With a token it only takes the token; with any other method it
// logs in and, when reg is given, registers the revocation of the new token there at once.
func (s *session) login(ctx context.Context, l Login, env func(string) (string, bool), reg *cleanup.Registry) (err error) {
	if err := l.Validate(); err != nil {
		return err
	}
	if env == nil {
		env = os.LookupEnv
	}
	if l.method() == MethodToken {
		tok, envVar, err := tokenFromEnv(env)
		if err != nil {
			return err
		}
		l.used("the Vault token", tok, envVar)
		s.client.SetToken(tok.Reveal())
		return nil
	}

	body := map[string]any{}
	get := func(what string, c Credential) (string, error) {
		v, err := c(ctx)
		if err != nil {
			return "", fmt.Errorf("vault: %s login: %s: %w", l.method(), what, err)
		}
		if v.IsZero() {
			return "", fmt.Errorf("vault: %s login: %s is empty", l.method(), what)
		}
		l.used("the Vault "+what, v, "")
		return v.Reveal(), nil
	}
	switch l.method() {
	case MethodAppRole:
		if body["role_id"], err = get("role id", l.RoleID); err != nil {
			return err
		}
		if body["secret_id"], err = get("secret id", l.SecretID); err != nil {
			return err
		}
	case MethodJWT, MethodKubernetes:
		jwt := l.JWT
		if jwt == nil {
			jwt = serviceAccountToken(l.TokenFile)
		}
		if body["jwt"], err = get("JWT", jwt); err != nil {
			return err
		}
		if l.Role != "" {
			body["role"] = l.Role
		}
	}

	path := "auth/" + l.mount() + "/login"
	where := fmt.Sprintf("%s at auth/%s", l.method(), l.mount())
	s.client.ClearToken()
	start := time.Now()
	var entry *cleanup.Entry
	if reg != nil {
		p := s.params()
		p["method"], p["path"] = l.method(), l.mount()
		entry = s.journal.Begin(KindToken, p)
	}
	// Seen through even when cancelled, so that a token made is a token known and revoked.
	sec, err := s.client.Logical().WriteWithContext(context.WithoutCancel(ctx), path, body)
	clear(body)
	if err != nil || sec == nil || sec.Auth == nil {
		entry.Done()
	} else {
		entry.Created(sec.Auth.Accessor, time.Now().Add(time.Duration(sec.Auth.LeaseDuration)*time.Second))
	}
	if err != nil {
		if e := s.common(err); e != nil {
			return e
		}
		if errors.Is(err, context.Canceled) {
			return err
		}
		switch statusOf(err) {
		case 0:
			return fmt.Errorf("vault: log in with %s: %w", where, err)
		case 404:
			return fmt.Errorf("vault: log in with %s: %w: no %s auth method is mounted there (--vault-auth-path)", where, ErrLogin, l.method())
		}
		var hint string
		switch l.method() {
		case MethodAppRole:
			hint = "; check --vault-role-id and --vault-secret-id (a secret id may be used up or expired)"
		case MethodJWT:
			hint = "; check the role's bound_audiences and bound_claims against the token (--vault-jwt-audience)"
		case MethodKubernetes:
			hint = "; check the role's bound service account names and namespaces"
		}
		return fmt.Errorf("vault: log in with %s: %w: %s%s", where, ErrLogin, serverTextOf(err), hint)
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return fmt.Errorf("vault: log in with %s: %w: the answer holds no token", where, ErrLogin)
	}
	l.used("the Vault login token", secret.NewValue(sec.Auth.ClientToken), "")
	s.client.SetToken(sec.Auth.ClientToken)
	s.loggedIn = true
	s.accessor = sec.Auth.Accessor
	s.entityID = sec.Auth.EntityID
	ttl := time.Duration(sec.Auth.LeaseDuration) * time.Second
	s.log.Debug("vault: logged in", "method", l.method(), "path", "auth/"+l.mount(), "accessor", s.accessor, "ttl", ttl)
	l.progress(fmt.Sprintf("logged in to Vault at %s with %s (auth/%s) in %s", s.addr, l.method(), l.mount(), time.Since(start).Round(time.Millisecond)))
	s.progress = l.Progress
	if reg != nil {
		defer func() {
			if err == nil {
				err = ctx.Err()
			}
		}()
		reg.Add(s.tokenAction(l, ttl), func(ctx context.Context) error {
			if err := retry(ctx, s.revokeSelf); err != nil {
				return s.describe("revoke the login token", "accessor "+s.accessor, lacks("update", "auth/token/revoke-self"), err)
			}
			s.log.Debug("vault: login token revoked", "accessor", s.accessor)
			entry.Done()
			return s.verifySelfRevoked(ctx, fmt.Sprintf("the Vault token of the %s login (accessor %s)", l.method(), s.accessor))
		})
	}
	return nil
}

// tokenAction describes the login token for logs and for `cleanup`: by its accessor, never itself.
func (s *session) tokenAction(l Login, ttl time.Duration) cleanup.Action {
	var exp time.Time
	if ttl > 0 {
		exp = time.Now().Add(ttl)
	}
	p := s.params()
	p["method"] = l.method()
	p["path"] = l.mount()
	id := s.accessor
	if id == "" {
		id = "(no accessor)"
	}
	return cleanup.Action{
		Kind:   KindToken,
		ID:     id,
		Label:  fmt.Sprintf("vault login token (%s at auth/%s)", l.method(), l.mount()),
		Expiry: exp,
		Params: p,
		Manual: "vault token revoke -accessor " + id,
	}
}

func serverTextOf(err error) string {
	if re, ok := asResponseError(err); ok {
		return serverText(re)
	}
	return err.Error()
}

// tokenFromEnv is the token the vault CLI would use: VAULT_TOKEN, else ~/.vault-token.
func tokenFromEnv(env func(string) (string, bool)) (tok secret.Value, envVar string, err error) {
	if t, ok := env("VAULT_TOKEN"); ok && strings.TrimSpace(t) != "" {
		return secret.NewValue(strings.TrimSpace(t)), "VAULT_TOKEN", nil
	}
	home, _ := env("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	if home != "" {
		b, err := os.ReadFile(filepath.Join(home, ".vault-token"))
		switch {
		case err == nil && strings.TrimSpace(string(b)) != "":
			return secret.NewValue(strings.TrimSpace(string(b))), "", nil
		case err != nil && !errors.Is(err, os.ErrNotExist):
			return secret.Value{}, "", fmt.Errorf("vault: reading ~/.vault-token: %w", err)
		}
	}
	return secret.Value{}, "", fmt.Errorf("vault: no token: set VAULT_TOKEN, run `vault login` (it writes ~/.vault-token), or log in with --vault-auth approle, jwt or kubernetes")
}

func serviceAccountToken(file string) Credential {
	if file == "" {
		file = ServiceAccountTokenFile
	}
	return func(context.Context) (secret.Value, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return secret.Value{}, fmt.Errorf("no service account token at %s (not in a Kubernetes pod? pass --vault-jwt REF)", file)
			}
			return secret.Value{}, fmt.Errorf("reading the service account token: %w", err)
		}
		return secret.NewValue(strings.TrimSpace(string(b))), nil
	}
}
