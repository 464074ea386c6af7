package adopat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/secret"
)

// Scheme is the reference scheme of minted PATs: ado-pat://ORG?scope=S&ttl=D&name=N.
const Scheme = "ado-pat"

// Kind is the cleanup action kind of a minted PAT.
const Kind = "ado-pat"

// DefaultTTL is the lifetime of a PAT when the reference gives no ttl.
const DefaultTTL = time.Hour

// MaxTTL is the longest lifetime Azure DevOps issues PATs for.
const MaxTTL = 365 * 24 * time.Hour

const maxNameLen = 200

// Spec is a validated ado-pat:// reference.
type Spec struct {
	Org    string
	Scopes []string
	TTL    time.Duration
	Name   string // "" for the default display name
}

var orgRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,48}[A-Za-z0-9])?$`)

// ParseSpec validates an ado-pat:// reference completely, so that a mistake is found before any
// request is sent or any access token asked for.
func ParseSpec(ref secret.Ref, allowFull bool) (Spec, error) {
	if ref.Opaque != "" || ref.Path == "" {
		return Spec{}, fmt.Errorf("write ado-pat://ORG?scope=..., with the organisation after //")
	}
	if ref.Fragment != "" {
		return Spec{}, fmt.Errorf("ado-pat:// takes no #FIELD: the value is the PAT itself")
	}
	if strings.Contains(ref.Path, "/") {
		if strings.Contains(ref.Host, ".") {
			return Spec{}, fmt.Errorf("%q is a host name: write the organisation name alone, as in ado-pat://contoso?scope=vso.code (the service is --ado-url)", ref.Host)
		}
		return Spec{}, fmt.Errorf("a PAT belongs to an organisation, not to a project or path: write ado-pat://%s?scope=...", ref.Host)
	}
	if !orgRE.MatchString(ref.Host) {
		if strings.Contains(ref.Host, ".") {
			return Spec{}, fmt.Errorf("%q is a host name: write the organisation name alone, as in ado-pat://contoso?scope=vso.code (the service is --ado-url)", ref.Host)
		}
		return Spec{}, fmt.Errorf("%q is not an Azure DevOps organisation name (letters, digits and inner hyphens, at most 50)", ref.Host)
	}
	s := Spec{Org: ref.Host, TTL: DefaultTTL}
	for k, vs := range ref.Query {
		switch k {
		case "scope":
		case "ttl", "name":
			if len(vs) > 1 {
				return Spec{}, fmt.Errorf("%s= is given %d times: give it once", k, len(vs))
			}
		default:
			hint := ""
			switch strings.ToLower(k) {
			case "scopes", "scp", "scope":
				hint = " (did you mean scope=?)"
			case "expiry", "lifetime", "validto", "duration", "ttl":
				hint = " (did you mean ttl=?)"
			case "displayname", "display_name", "label", "name":
				hint = " (did you mean name=?)"
			}
			return Spec{}, fmt.Errorf("unknown parameter %q%s: ado-pat:// takes scope=, ttl= and name=", k, hint)
		}
	}
	scopes, err := ParseScopes(strings.Join(ref.Query["scope"], " "), allowFull)
	if err != nil {
		return Spec{}, err
	}
	s.Scopes = scopes
	if v := ref.Query.Get("ttl"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			hint := ""
			if strings.HasSuffix(v, "d") {
				hint = " (a Go duration has no days: write 24h for a day)"
			}
			return Spec{}, fmt.Errorf("ttl=%s is not a duration such as 15m, 1h or 8h%s", v, hint)
		}
		if d <= 0 {
			return Spec{}, fmt.Errorf("ttl=%s: a PAT's lifetime must be positive", v)
		}
		if d > MaxTTL {
			return Spec{}, fmt.Errorf("ttl=%s: Azure DevOps issues PATs for a year at most, and a job's PAT should live for minutes or hours", v)
		}
		s.TTL = d
	} else if _, given := ref.Query["ttl"]; given {
		return Spec{}, fmt.Errorf("ttl= is empty: give a duration such as 1h, or leave it out for %s", DefaultTTL)
	}
	if _, given := ref.Query["name"]; given {
		n := strings.TrimSpace(ref.Query.Get("name"))
		if n == "" {
			return Spec{}, fmt.Errorf("name= is empty: give a display name, or leave it out for the default one")
		}
		if err := checkName(n); err != nil {
			return Spec{}, err
		}
		s.Name = n
	}
	return s, nil
}

func checkName(n string) error {
	if !utf8.ValidString(n) {
		return fmt.Errorf("name= is not valid UTF-8")
	}
	if strings.IndexFunc(n, unicode.IsControl) >= 0 {
		return fmt.Errorf("name= holds a control character (a line break?)")
	}
	if utf8.RuneCountInString(n) > maxNameLen {
		return fmt.Errorf("name= is %d characters: give at most %d", utf8.RuneCountInString(n), maxNameLen)
	}
	return nil
}

// DefaultName is the display name of a PAT when the reference gives none: it names the tool and
// what the PAT is for, so that the mail Azure DevOps sends its owner explains itself.
func DefaultName(purpose string) string {
	n := "patinject"
	if purpose = strings.TrimSpace(purpose); purpose != "" {
		n += " " + purpose
	}
	if r := []rune(n); len(r) > maxNameLen {
		n = string(r[:maxNameLen])
	}
	return n
}

// tag makes a display name unique to one mint, so that a PAT left by an uncertain create can be
// found by its name and revoked.
// hasTag reports whether a display name ends in a tag as tag() makes them: " " and 8 hex digits.
func hasTag(name string) bool {
	i := strings.LastIndexByte(name, ' ')
	t := name[i+1:]
	if i < 0 || len(t) != 8 {
		return false
	}
	_, err := hex.DecodeString(t)
	return err == nil && strings.ToLower(t) == t
}

func tag() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ManualRevoke is the command a person runs to revoke a PAT by hand (az rest gets its own token,
// so no token is put on a command line).
func ManualRevoke(base, org, id string) string {
	return fmt.Sprintf("az rest --method delete --resource %s --url %q", ResourceID,
		PatsURL(base, org, url.Values{"authorizationId": {id}}))
}

// Action describes the revocation of a minted PAT for the cleanup registry and the state file.
func Action(base, org string, p PatToken) cleanup.Action {
	return cleanup.Action{
		Kind:   Kind,
		ID:     p.AuthorizationID,
		Label:  fmt.Sprintf("PAT %q in %s", p.DisplayName, org),
		Expiry: p.ValidTo,
		Params: map[string]string{"ado-url": base, "org": org},
		Manual: ManualRevoke(base, org, p.AuthorizationID),
	}
}

// CrashHook runs between minting a PAT and journaling its id: the one moment a crash leaves
// only the display-name tag to find the PAT by. It does nothing in patinject; the lifecycle
// tests set it (in their test binary, or through the patinject_testhooks build tag,
// testhook.go): a variable a later CI step could set must not make a release binary leave a PAT
// live.
var CrashHook = func() {}

// Source mints a PAT for each ado-pat:// reference and hands back its revocation.
type Source struct {
	Client          *Client
	AllowFullAccess bool // --ado-allow-full-access: app_token is accepted
	// Purpose says what the default display name names ("contoso/app run 42"). It is a function
	// because working it out may read the CI environment and the user database, which a run that
	// mints nothing should not pay for.
	Purpose func() string
	Now     func() time.Time
	Log     *slog.Logger
	// Journal records each PAT before it is minted (its display name, with the tag that finds it
	// again), then its id, then its revocation.
	Journal *cleanup.Journal
}

var _ resolve.Source = (*Source)(nil)

// Check validates a reference without sending anything.
func (s *Source) Check(ref secret.Ref) error {
	_, err := ParseSpec(ref, s.AllowFullAccess)
	return err
}

// Resolve mints the PAT. The revocation is returned with it, for the resolver to register at once.
func (s *Source) Resolve(ctx context.Context, ref secret.Ref) (resolve.Resolved, error) {
	spec, err := ParseSpec(ref, s.AllowFullAccess)
	if err != nil {
		return resolve.Resolved{}, err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	name := spec.Name
	if name == "" {
		purpose := ""
		if s.Purpose != nil {
			purpose = s.Purpose()
		}
		name = DefaultName(purpose)
	}
	name += " " + tag()
	start := now()
	s.Client.progress(fmt.Sprintf("minting a PAT in %s (scope %s, valid for %s)", spec.Org, strings.Join(spec.Scopes, " "), spec.TTL))
	// Journaled before the request: a crash from here on leaves what finds the PAT again.
	entry := s.Journal.Begin(Kind, map[string]string{"ado-url": s.Client.base(), "org": spec.Org, "name": name})
	pat, err := s.Client.Create(ctx, spec.Org, CreateRequest{
		DisplayName: name,
		Scopes:      spec.Scopes,
		ValidTo:     now().Add(spec.TTL).UTC(),
	})
	if err != nil {
		// The entry stays open: a create that failed may still have minted (the client sweeps
		// for it; the journal is there if that sweep could not finish).
		return resolve.Resolved{}, fmt.Errorf("mint a PAT in %s: %w", spec.Org, err)
	}
	CrashHook()
	entry.Created(pat.AuthorizationID, pat.ValidTo)
	if pat.ValidTo.IsZero() {
		pat.ValidTo = now().Add(spec.TTL).UTC()
	}
	if pat.DisplayName == "" {
		pat.DisplayName = name
	}
	if s.Log != nil {
		s.Log.Debug("minted PAT", "org", spec.Org, "authorizationId", pat.AuthorizationID, "name", pat.DisplayName,
			"scope", strings.Join(spec.Scopes, " "), "validTo", pat.ValidTo.Format(time.RFC3339))
	}
	s.Client.progress(fmt.Sprintf("minted PAT %q (id %s) in %s in %s", pat.DisplayName, pat.AuthorizationID, spec.Org, now().Sub(start).Round(time.Millisecond)))
	org, id, client, act := spec.Org, pat.AuthorizationID, s.Client, Action(s.Client.base(), spec.Org, pat)
	return resolve.Resolved{
		Value:  pat.Token,
		Expiry: pat.ValidTo,
		Extend: func(ctx context.Context) (time.Time, error) {
			validTo := now().Add(spec.TTL).UTC()
			p, err := client.Extend(ctx, org, id, validTo)
			if err != nil {
				return time.Time{}, fmt.Errorf("extending PAT %s in %s: %w", id, org, err)
			}
			if !p.ValidTo.IsZero() {
				validTo = p.ValidTo
			}
			// The journal too: a crash after this leaves a PAT that is still to be revoked.
			entry.Created(id, validTo)
			return validTo, nil
		},
		Undo: func(ctx context.Context) error {
			err := client.RevokeVerified(ctx, org, id, act.Label)
			if err == nil {
				entry.Done()
			}
			return err
		},
		Action: act,
	}, nil
}
