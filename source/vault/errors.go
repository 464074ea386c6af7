package vault

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/hashicorp/vault/api"

	"github.com/patinject/patinject/msgsafe"
)

// Errors callers can branch on with errors.Is. The messages around them say what failed, where,
// and what to do; they never carry a secret value.
var (
	ErrPermissionDenied = errors.New("permission denied")
	ErrNotFound         = errors.New("not found")
	ErrSealed           = errors.New("sealed")
	ErrUnreachable      = errors.New("unreachable")
	ErrKVVersion        = errors.New("wrong KV version")
	ErrNoField          = errors.New("no such field")
	ErrLogin            = errors.New("login failed")
)

// describe turns an error of the Vault client into one that names the operation, the path, the
// cause and what to do. need says what a policy must grant, as lacks() writes it.
func (s *session) describe(op, path, need string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) && !isNetTimeout(err) {
		return err
	}
	if e := s.common(err); e != nil {
		return e
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case 403:
			return fmt.Errorf("vault: %s %s: %w (the token's policies lack %s)", op, path, ErrPermissionDenied, need)
		case 404:
			return fmt.Errorf("vault: %s %s: %w", op, path, ErrNotFound)
		}
		return fmt.Errorf("vault: %s %s: %s", op, path, serverText(re))
	}
	return fmt.Errorf("vault: %s %s: %w", op, path, err)
}

// common recognises what does not depend on the operation: a sealed server, an unreachable
// one. It returns nil for anything else.
func (s *session) common(err error) error {
	var re *api.ResponseError
	if errors.As(err, &re) {
		if re.StatusCode == 503 && strings.Contains(strings.ToLower(strings.Join(re.Errors, " ")), "sealed") {
			return fmt.Errorf("vault: %w at %s: unseal it (vault operator unseal) or point VAULT_ADDR at an unsealed node", ErrSealed, msgsafe.URL(s.addr))
		}
		return nil
	}
	if cause, ok := netCause(err); ok {
		return fmt.Errorf("vault: cannot reach %s (VAULT_ADDR): %s: %w", msgsafe.URL(s.addr), msgsafe.ServerText(cause, 300), ErrUnreachable)
	}
	return nil
}

// serverText is what the server said, on one line, with the HTTP status. Vault's texts name
// paths and reasons, never values; cmd defuses CI logging commands in them.
func serverText(re *api.ResponseError) string {
	var parts []string
	for _, e := range re.Errors {
		e = strings.TrimSpace(strings.NewReplacer("\n", " ", "\t", " ", "* ", "").Replace(e))
		e = strings.TrimPrefix(e, "1 error occurred: ")
		if e != "" {
			parts = append(parts, e)
		}
	}
	msg := msgsafe.ServerText(strings.Join(parts, "; "), 300)
	if msg == "" {
		return fmt.Sprintf("HTTP %d", re.StatusCode)
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, re.StatusCode)
}

// netCause says why a request did not reach the server, or false when err is not a network error.
func netCause(err error) (string, bool) {
	var ue *url.Error
	var ne net.Error
	var oe *net.OpError
	if !errors.As(err, &ue) && !errors.As(err, &ne) && !errors.As(err, &oe) {
		return "", false
	}
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var errno syscall.Errno
	switch {
	case errors.As(err, &dns):
		return "cannot resolve " + dns.Name, true
	case errors.As(err, &unknownCA):
		return "TLS certificate signed by an unknown authority (set VAULT_CACERT or VAULT_CAPATH)", true
	case errors.As(err, &hostname):
		return "TLS certificate not valid for this host (" + hostname.Error() + "; set VAULT_TLS_SERVER_NAME or fix VAULT_ADDR)", true
	case errors.As(err, &invalid):
		return "TLS certificate invalid: " + invalid.Error(), true
	case errors.As(err, &errno):
		return errno.Error(), true
	case isNetTimeout(err):
		return "timed out (VAULT_CLIENT_TIMEOUT)", true
	}
	msg := err.Error()
	if strings.Contains(msg, "server gave HTTP response to HTTPS client") {
		return "the server speaks plain HTTP: use http:// in VAULT_ADDR", true
	}
	if ue != nil {
		msg = ue.Err.Error()
	}
	return msg, true
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// transient reports whether a failed request is worth repeating: no answer, or a server error.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode == 429 || re.StatusCode >= 500 && re.StatusCode != 501
	}
	_, ok := netCause(err)
	return ok
}

func statusOf(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// lacks names a capability on a policy path: "read" on secret/data/ci/ado.
func lacks(capability, path string) string { return fmt.Sprintf("%q on %s", capability, path) }

func asResponseError(err error) (*api.ResponseError, bool) {
	var re *api.ResponseError
	ok := errors.As(err, &re)
	return re, ok
}
