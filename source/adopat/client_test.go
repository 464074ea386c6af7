package adopat_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patinject/patinject/secret"
	"github.com/patinject/patinject/source/adopat"
	"github.com/patinject/patinject/source/adopat/adotest"
)

// newClient is a client of srv with short retry budgets.
func newClient(srv *adotest.Server) *adopat.Client {
	return &adopat.Client{
		BaseURL: srv.URL,
		Auth: &adopat.AccessToken{Fixed: true, Fetch: func(context.Context) (secret.Value, error) {
			return secret.NewValue(srv.AccessToken), nil
		}},
		UserAgent:      "patinject-test",
		RequestTimeout: 2 * time.Second,
		RetryFor:       3 * time.Second,
		MinBackoff:     time.Millisecond,
		MaxBackoff:     5 * time.Millisecond,
	}
}

// checkExchanges validates every request the client sent to the token API, and every answer
// of the fake, against the published spec.
func checkExchanges(t *testing.T, srv *adotest.Server) {
	t.Helper()
	spec := adotest.LoadSpec(t)
	for _, e := range srv.Exchanges() {
		if e.Op == adotest.OpREST || e.Op == "" {
			continue
		}
		if err := spec.CheckRequest(e); err != nil {
			t.Errorf("request %s %s?%s: %v", e.Method, e.Path, e.Query, err)
		}
		if err := spec.CheckResponse(e); err != nil {
			t.Errorf("response to %s %s (%d): %v", e.Method, e.Path, e.Status, err)
		}
	}
}

// restCall opens the fake's REST API with a PAT, as git or curl would (Basic, any user name).
func restCall(t *testing.T, srv *adotest.Server, org, user string, pat secret.Value) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/"+org+"/_apis/git/repositories?api-version=7.1", nil)
	req.SetBasicAuth(user, pat.Reveal())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	srv := adotest.NewServer(t)
	c := newClient(srv)
	ctx := context.Background()
	validTo := time.Now().Add(10 * time.Minute)

	pat, err := c.Create(ctx, "contoso", adopat.CreateRequest{DisplayName: "patinject test 1a2b", Scopes: []string{"vso.code", "vso.packaging"}, ValidTo: validTo})
	if err != nil {
		t.Fatal(err)
	}
	if pat.Token.IsZero() || !adopat.IsAuthorizationID(pat.AuthorizationID) {
		t.Fatalf("create returned no token or no id: %+v", pat)
	}
	if pat.Scope != "vso.code vso.packaging" || pat.DisplayName != "patinject test 1a2b" {
		t.Errorf("got scope %q name %q", pat.Scope, pat.DisplayName)
	}
	if d := pat.ValidTo.Sub(validTo); d < -10*time.Millisecond || d > 10*time.Millisecond {
		t.Errorf("validTo %v, want about %v", pat.ValidTo, validTo)
	}
	server, _ := srv.Get(pat.AuthorizationID)
	if server.AllOrgs || len(server.TargetAccounts) != 1 {
		t.Errorf("the PAT is not for one organisation: allOrgs %v, targets %v", server.AllOrgs, server.TargetAccounts)
	}

	// The PAT it minted opens a REST call, with any user name or none.
	for _, user := range []string{"", "patinject", "anything"} {
		if got := restCall(t, srv, "contoso", user, pat.Token); got != http.StatusOK {
			t.Errorf("REST call with the minted PAT as user %q: got %d, want 200", user, got)
		}
	}
	if got := restCall(t, srv, "contoso", "", secret.NewValue("not-a-pat")); got != http.StatusUnauthorized {
		t.Errorf("REST call with a wrong PAT: got %d, want 401", got)
	}

	got, err := c.Get(ctx, "contoso", pat.AuthorizationID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Token.IsZero() || got.AuthorizationID != pat.AuthorizationID {
		t.Errorf("get: token %v (want none), id %s", got.Token.Len(), got.AuthorizationID)
	}
	all, err := c.ListAll(ctx, "contoso", "active")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].AuthorizationID != pat.AuthorizationID || !all[0].Token.IsZero() {
		t.Errorf("list: got %+v", all)
	}

	if err := c.Revoke(ctx, "contoso", pat.AuthorizationID); err != nil {
		t.Fatal(err)
	}
	if n := srv.Revokes(pat.AuthorizationID); n != 1 {
		t.Errorf("revokes: got %d, want 1", n)
	}
	if got := restCall(t, srv, "contoso", "", pat.Token); got != http.StatusUnauthorized {
		t.Errorf("REST call with the revoked PAT: got %d, want 401", got)
	}
	checkExchanges(t, srv)
}

func TestRevokeRetriesAFirst500(t *testing.T) {
	t.Parallel()
	srv := adotest.NewServer(t)
	c := newClient(srv)
	ctx := context.Background()
	pat, err := c.Create(ctx, "contoso", adopat.CreateRequest{DisplayName: "x 1", Scopes: []string{"vso.code"}, ValidTo: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Fault(adotest.OpRevoke, adotest.Fault{Status: http.StatusInternalServerError})
	if err := c.Revoke(ctx, "contoso", pat.AuthorizationID); err != nil {
		t.Fatalf("revoke after a 500: %v", err)
	}
	if got, want := srv.Requests(adotest.OpRevoke), 2; got != want {
		t.Errorf("revoke requests: got %d, want %d", got, want)
	}
	if n := srv.Revokes(pat.AuthorizationID); n != 1 {
		t.Errorf("revokes: got %d, want 1", n)
	}
	checkExchanges(t, srv)
}

func TestThrottling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		retryAfter string
		wantErr    string // "" for success after one retry
	}{
		{name: "retry-after 0 s", retryAfter: "0"},
		{name: "retry-after beyond the budget", retryAfter: "3600", wantErr: "HTTP 429"},
		{name: "retry-after as a date beyond the budget", retryAfter: time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), wantErr: "HTTP 429"},
		{name: "retry-after as a past date", retryAfter: time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, op := range []adotest.Op{adotest.OpCreate, adotest.OpRevoke} {
				srv := adotest.NewServer(t)
				c := newClient(srv)
				ctx := context.Background()
				var pat adopat.PatToken
				if op == adotest.OpRevoke {
					var err error
					if pat, err = c.Create(ctx, "contoso", adopat.CreateRequest{DisplayName: "t", Scopes: []string{"vso.code"}, ValidTo: time.Now().Add(time.Hour)}); err != nil {
						t.Fatal(err)
					}
				}
				srv.Fault(op, adotest.Fault{Status: http.StatusTooManyRequests, RetryAfter: tt.retryAfter})
				var err error
				if op == adotest.OpCreate {
					_, err = c.Create(ctx, "contoso", adopat.CreateRequest{DisplayName: "t", Scopes: []string{"vso.code"}, ValidTo: time.Now().Add(time.Hour)})
				} else {
					err = c.Revoke(ctx, "contoso", pat.AuthorizationID)
				}
				switch {
				case tt.wantErr == "" && err != nil:
					t.Errorf("%s: %v", op, err)
				case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
					t.Errorf("%s: got error %v, want one with %q", op, err, tt.wantErr)
				}
				wantReqs := 2
				if tt.wantErr != "" {
					wantReqs = 1 // the wait asked for is longer than the budget: no pointless retry
				}
				if got := srv.Requests(op); got != wantReqs {
					t.Errorf("%s requests: got %d, want %d", op, got, wantReqs)
				}
				if op == adotest.OpCreate && srv.Requests(adotest.OpList) != 0 {
					t.Errorf("a 429 creates nothing, yet the client listed PATs")
				}
				checkExchanges(t, srv)
			}
		})
	}
}

// A create whose answer never came is followed by a list by display name; what the lost attempt
// created is revoked, and the PAT handed out is the one that was answered.
func TestCreateTimeoutLeavesNoOrphan(t *testing.T) {
	t.Parallel()
	srv := adotest.NewServer(t)
	c := newClient(srv)
	c.RequestTimeout = 200 * time.Millisecond
	srv.Fault(adotest.OpCreate, adotest.Fault{Delay: 5 * time.Second})
	pat, err := c.Create(context.Background(), "contoso", adopat.CreateRequest{DisplayName: "patinject t 9f9f", Scopes: []string{"vso.code"}, ValidTo: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Creates(); got != 2 {
		t.Fatalf("creates: got %d, want 2 (the lost one and the answered one)", got)
	}
	if srv.Requests(adotest.OpList) == 0 {
		t.Errorf("no list after the timed-out create")
	}
	live := srv.Live()
	if len(live) != 1 || live[0].AuthorizationID != pat.AuthorizationID {
		t.Errorf("live PATs: got %+v, want only %s", live, pat.AuthorizationID)
	}
	for _, p := range srv.PATs() {
		if p.AuthorizationID != pat.AuthorizationID && p.Revokes != 1 {
			t.Errorf("orphan %s revoked %d times, want 1", p.AuthorizationID, p.Revokes)
		}
	}
	checkExchanges(t, srv)
}

// A 500 after the server committed the PAT is as uncertain as a timeout.
func TestCreate500AfterCommitLeavesNoOrphan(t *testing.T) {
	t.Parallel()
	srv := adotest.NewServer(t)
	c := newClient(srv)
	srv.Fault(adotest.OpCreate, adotest.Fault{Status: http.StatusInternalServerError, Issue: true})
	pat, err := c.Create(context.Background(), "contoso", adopat.CreateRequest{DisplayName: "n 1", Scopes: []string{"vso.code"}, ValidTo: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if live := srv.Live(); len(live) != 1 || live[0].AuthorizationID != pat.AuthorizationID {
		t.Errorf("live PATs: got %+v, want only %s", live, pat.AuthorizationID)
	}
	checkExchanges(t, srv)
}

// When every attempt times out the create fails, and still nothing is left behind.
func TestCreateThatNeverAnswersLeavesNothing(t *testing.T) {
	t.Parallel()
	srv := adotest.NewServer(t)
	c := newClient(srv)
	c.RequestTimeout = 100 * time.Millisecond
	c.RetryFor = 250 * time.Millisecond
	srv.Fault(adotest.OpCreate, adotest.Fault{Delay: 5 * time.Second, Times: 100})
	_, err := c.Create(context.Background(), "contoso", adopat.CreateRequest{DisplayName: "gone 1", Scopes: []string{"vso.code"}, ValidTo: time.Now().Add(time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("got %v, want a timeout", err)
	}
	if srv.Creates() == 0 {
		t.Fatal("the fake created nothing: the test proves nothing")
	}
	if live := srv.Live(); len(live) != 0 {
		t.Errorf("left behind: %+v", live)
	}
}

// A signal while minting cancels the create; what it may have created is still swept.
func TestCancelledCreateLeavesNothing(t *testing.T) {
	t.Parallel()
	srv := adotest.NewServer(t)
	c := newClient(srv)
	srv.Fault(adotest.OpCreate, adotest.Fault{Delay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.Create(ctx, "contoso", adopat.CreateRequest{DisplayName: "sig 1", Scopes: []string{"vso.code"}, ValidTo: time.Now().Add(time.Hour)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's error", err)
	}
	if live := srv.Live(); len(live) != 0 {
		t.Errorf("left behind: %+v", live)
	}
}

func TestTokenErrorIn200(t *testing.T) {
	t.Parallel()
	spec := adotest.LoadSpec(t)
	unknown := adopat.TokenErrorMessage("no-such-error-code")
	codes := spec.Enum("PatTokenResult", "patTokenError")
	if len(codes) < 30 {
		t.Fatalf("the spec's enum has %d values: not read right", len(codes))
	}
	srv := adotest.NewServer(t)
	c := newClient(srv)
	for _, code := range codes {
		if code == "none" {
			continue
		}
		msg := adopat.TokenErrorMessage(code)
		if msg == unknown || msg == "" {
			t.Errorf("patTokenError %s has no message of its own", code)
			continue
		}
		srv.Fault(adotest.OpCreate, adotest.Fault{TokenError: code})
		_, err := c.Create(context.Background(), "contoso", adopat.CreateRequest{DisplayName: "e " + code, Scopes: []string{"vso.code"}, ValidTo: time.Now().Add(time.Hour)})
		var te *adopat.TokenError
		if !errors.As(err, &te) || te.Code != code {
			t.Errorf("%s: got %v, want a TokenError", code, err)
			continue
		}
		if !strings.Contains(err.Error(), code) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: error %q does not name the code and say what to do", code, err)
		}
	}
	if srv.Creates() != 0 || srv.Requests(adotest.OpList) != 0 {
		t.Errorf("an in-band refusal created %d PATs and was followed by %d lists", srv.Creates(), srv.Requests(adotest.OpList))
	}
	checkExchanges(t, srv)
}

// The fake's own tenant policies answer in-band, and the client says what to change.
func TestPolicies(t *testing.T) {
	t.Parallel()
	srv := adotest.NewServer(t)
	srv.SetMaxLifetime(24 * time.Hour)
	srv.ForbidFullScope()
	c := newClient(srv)
	ctx := context.Background()
	_, err := c.Create(ctx, "contoso", adopat.CreateRequest{DisplayName: "long", Scopes: []string{"vso.code"}, ValidTo: time.Now().Add(48 * time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "patLifespanPolicyViolation") || !strings.Contains(err.Error(), "lower ttl=") {
		t.Errorf("lifespan: got %v", err)
	}
	_, err = c.Create(ctx, "contoso", adopat.CreateRequest{DisplayName: "full", Scopes: []string{"app_token"}, ValidTo: time.Now().Add(time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "fullScopePatPolicyViolation") {
		t.Errorf("full scope: got %v", err)
	}
	checkExchanges(t, srv)
}

func TestAuthRefusals(t *testing.T) {
	t.Parallel()
	srv := adotest.NewServer(t)
	ctx := context.Background()

	// Another user's (unknown) Entra token: a 401 that says what to do.
	c := newClient(srv)
	other := adotest.UserToken("mallory@contoso.example", time.Now().Add(time.Hour))
	c.Auth = &adopat.AccessToken{Fixed: true, Fetch: func(context.Context) (secret.Value, error) { return secret.NewValue(other), nil }}
	_, err := c.Create(ctx, "contoso", adopat.CreateRequest{DisplayName: "x", Scopes: []string{"vso.code"}, ValidTo: time.Now().Add(time.Hour)})
	if !adopat.IsUnauthorized(err) || !strings.Contains(err.Error(), "az account get-access-token") {
		t.Errorf("got %v, want a 401 that says how to get a token", err)
	}
	if strings.Contains(err.Error(), other) {
		t.Errorf("the error holds the token")
	}

	// A token that is refused once and then renewed (az gives a fresh one): one more try.
	calls := 0
	c.Auth = &adopat.AccessToken{Fetch: func(context.Context) (secret.Value, error) {
		calls++
		if calls == 1 {
			return secret.NewValue(other), nil
		}
		return secret.NewValue(srv.AccessToken), nil
	}}
	if _, err := c.Create(ctx, "contoso", adopat.CreateRequest{DisplayName: "y", Scopes: []string{"vso.code"}, ValidTo: time.Now().Add(time.Hour)}); err != nil {
		t.Errorf("after a fresh token: %v", err)
	}

	// Basic auth with a PAT, or no auth at all, is refused by the token API.
	pat := srv.PATs()[0]
	for name, set := range map[string]func(*http.Request){
		"basic with a PAT": func(r *http.Request) { r.SetBasicAuth("", pat.Token) },
		"none":             func(*http.Request) {},
		"bearer PAT":       func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+pat.Token) },
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/contoso/_apis/tokens/pats?api-version=7.1-preview.1", nil)
		set(req)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: got %d, want 401", name, res.StatusCode)
		}
	}
}

func TestAccessTokenChecks(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name    string
		token   string
		wantErr string
	}{
		{name: "user token", token: adotest.UserToken("dev@contoso.example", now.Add(time.Hour))},
		{name: "a PAT", token: "dip55dwf4vpitomw63jzvomefmi2jluguprzwwqwuc6xq4fhocwq", wantErr: "a PAT cannot mint PATs"},
		{name: "expired", token: adotest.UserToken("dev@contoso.example", now.Add(-time.Minute)), wantErr: "expired"},
		{name: "service principal", token: adotest.AppToken(now.Add(time.Hour)), wantErr: "service principal"},
		{name: "roles without scp", token: adotest.JWT(map[string]any{"roles": []string{"x"}, "exp": now.Add(time.Hour).Unix()}), wantErr: "service principal"},
		{name: "claims not base64", token: "a.%%%.c", wantErr: "not base64url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := adopat.CheckAccessToken(secret.NewValue(tt.token), now)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), tt.token) {
				t.Errorf("the error holds the token")
			}
		})
	}
}

func TestAPIVersionAndRoutes(t *testing.T) {
	t.Parallel()
	srv := adotest.NewServer(t)
	tests := []struct {
		path, query string
		want        int
	}{
		{"/contoso/_apis/tokens/pats", "api-version=7.1-preview.1", 200},
		{"/contoso/_apis/Tokens/Pats", "api-version=7.1-preview.1", 200},
		{"/fabrikam/_APIS/TOKENS/PATS", "api-version=6.1-preview", 200},
		{"/contoso/_apis/tokens/pats", "", 400},
		{"/contoso/_apis/tokens/pats", "api-version=7.1", 400},
		{"/contoso/_apis/tokens/pats", "api-version=9.9-preview.1", 400},
		{"/contoso/_apis/tokens/pats", "api-version=7.1-preview.1&displayFilterOption=bogus", 400},
		{"/contoso/_apis/tokens/pats", "api-version=7.1-preview.1&$top=0", 400},
		{"/contoso/_apis/tokens/patz", "api-version=7.1-preview.1", 404},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+tt.path+"?"+tt.query, nil)
		req.Header.Set("Authorization", "Bearer "+srv.AccessToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.want {
			t.Errorf("GET %s?%s: got %d, want %d (%s)", tt.path, tt.query, res.StatusCode, tt.want, body)
		}
		if res.StatusCode == 400 {
			var e struct{ Message, TypeKey string }
			if json.Unmarshal(body, &e) != nil || e.Message == "" || e.TypeKey == "" {
				t.Errorf("GET %s?%s: the 400 is not Azure DevOps' JSON error: %s", tt.path, tt.query, body)
			}
		}
	}
}

func TestListPaging(t *testing.T) {
	t.Parallel()
	srv := adotest.NewServer(t)
	srv.SetPageSize(7)
	c := newClient(srv)
	ctx := context.Background()
	for i := range 150 {
		_, err := c.Create(ctx, "contoso", adopat.CreateRequest{DisplayName: "p " + string(rune('a'+i%26)), Scopes: []string{"vso.code"}, ValidTo: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := c.ListAll(ctx, "contoso", "active")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 150 {
		t.Errorf("ListAll: got %d, want 150", len(all))
	}
	if got := srv.Requests(adotest.OpList); got != 2 {
		t.Errorf("list requests: got %d, want 2 ($top=100)", got)
	}
	p, err := c.List(ctx, "contoso", adopat.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.PatTokens) != 7 || p.ContinuationToken == "" {
		t.Errorf("default page: %d PATs, continuation %q", len(p.PatTokens), p.ContinuationToken)
	}
	checkExchanges(t, srv)
}

// A token given once (a REF) that expires during a long job: revoking says so plainly.
func TestFixedAccessTokenExpiresDuringTheJob(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tok := adotest.UserToken("dev@contoso.example", now.Add(10*time.Minute))
	a := &adopat.AccessToken{Fixed: true, Now: func() time.Time { return now }, Fetch: func(context.Context) (secret.Value, error) {
		return secret.NewValue(tok), nil
	}}
	if _, err := a.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	now = now.Add(11 * time.Minute)
	if _, err := a.Get(context.Background()); err == nil || !strings.Contains(err.Error(), "expired at") {
		t.Errorf("got %v, want the token's expiry", err)
	}
}

func TestExtend(t *testing.T) {
	t.Parallel()
	srv := adotest.NewServer(t)
	srv.SetMaxLifetime(2 * time.Hour)
	c := newClient(srv)
	ctx := context.Background()
	pat, err := c.Create(ctx, "contoso", adopat.CreateRequest{DisplayName: "extend 1", Scopes: []string{"vso.code"}, ValidTo: time.Now().Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Now().Add(time.Hour)
	got, err := c.Extend(ctx, "contoso", pat.AuthorizationID, want)
	if err != nil {
		t.Fatal(err)
	}
	server, _ := srv.Get(pat.AuthorizationID)
	for _, v := range []time.Time{got.ValidTo, server.ValidTo} {
		if d := v.Sub(want); d < -10*time.Millisecond || d > 10*time.Millisecond {
			t.Errorf("validTo %v, want about %v", v, want)
		}
	}
	if !got.Token.IsZero() {
		t.Error("update returned the token")
	}

	tests := []struct {
		name    string
		id      string
		validTo time.Time
		want    string
	}{
		{"beyond the lifespan policy", pat.AuthorizationID, time.Now().Add(3 * time.Hour), "patLifespanPolicyViolation"},
		{"in the past", pat.AuthorizationID, time.Now().Add(-time.Minute), "invalidValidTo"},
		{"unknown PAT", "00000000-0000-4000-8000-000000000000", time.Now().Add(time.Hour), "authorizationNotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Extend(ctx, "contoso", tc.id, tc.validTo)
			var te *adopat.TokenError
			if !errors.As(err, &te) || te.Code != tc.want {
				t.Errorf("got %v, want patTokenError %s", err, tc.want)
			}
		})
	}
	if err := c.Revoke(ctx, "contoso", pat.AuthorizationID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Extend(ctx, "contoso", pat.AuthorizationID, want); err == nil {
		t.Error("a revoked PAT was extended")
	}
	if _, err := c.Extend(ctx, "contoso", "not-a-uuid", want); err == nil {
		t.Error("a malformed id was sent")
	}
}
