// Package adotest is a fake Azure DevOps token service for tests: the PAT lifecycle API
// (Tokens, 7.1-preview.1) as its spec and recorded examples describe it, with knobs to inject the
// errors the real service answers with, and a small REST API that accepts the PATs it minted.
//
// It is an ordinary package, not a _test file, so that the tests of other packages (the front
// doors, the CI end-to-end tests) can start it with NewServer.
//
// Where the spec is silent, the fake chooses, and says so here:
//   - the token routes match case-insensitively (the examples write /_apis/Tokens/Pats);
//   - api-version is required: missing, or not a preview version of 6.1 to 7.2, is a 400 with
//     Azure DevOps' JSON error body; a version without -preview is refused as ADO refuses it;
//   - only "Authorization: Bearer <Entra access token>" is accepted; Basic (a PAT) or nothing is
//     a 401 with WWW-Authenticate: Bearer (the real service may answer a browser-like client with
//     203 and a sign-in page instead; the client treats both alike);
//   - the create body is decoded strictly: an unknown field is a 400; the fields are checked the
//     way the service reports them, in-band in a 200 (displayNameRequired, invalidScope,
//     invalidValidTo, and the tenant policies the knobs switch on);
//   - get of an unknown authorization id is a 200 with patToken null and patTokenError
//     authorizationNotFound; revoke of an unknown id is a 404; revoke of a revoked PAT is a 204;
//   - list defaults to displayFilterOption=active, pages of PageSize (default 20, $top at most
//     100) in creation order unless sortByOption says otherwise; the last page has
//     continuationToken "";
//   - update refuses a validTo in the past or more than 366 days ahead (invalidValidTo), and one
//     beyond the lifespan policy counted from the PAT's validFrom (patLifespanPolicyViolation);
//   - the REST API (GET /{org}/_apis/projects and /{org}/_apis/git/repositories) takes Basic auth
//     with any user name and a live PAT of that organisation as password; no such PAT is a 401,
//     a PAT without the needed scope a 403.
package adotest

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patinject/patinject/source/adopat"
)

// Op names an operation of the fake, for faults and counters.
type Op string

const (
	OpCreate Op = "create"
	OpGet    Op = "get"
	OpList   Op = "list"
	OpRevoke Op = "revoke"
	OpUpdate Op = "update"
	OpREST   Op = "rest"
)

// Fault changes how the next requests of an operation are answered (after authentication and the
// api-version check, as on the real service).
type Fault struct {
	Times      int    // how many requests it applies to; default 1
	Status     int    // answer this status (429, 500, ...) instead
	RetryAfter string // Retry-After header sent with Status
	TokenError string // create, get, update: answer 200 with patToken null and this patTokenError
	Delay      time.Duration
	// Issue: a create mints the PAT before failing with Status or answering after Delay, as a
	// server that timed out or crashed after committing would. A Delay alone always issues.
	Issue bool
	// Ignore: a revoke answers 204 No Content and leaves the PAT live, as a service that lost
	// the revocation would; the PAT is still listed as active.
	Ignore bool
}

// PAT is a token the fake has issued or was seeded with.
type PAT struct {
	Org             string
	AuthorizationID string
	DisplayName     string
	Scope           string
	TargetAccounts  []string // nil: all organisations
	Token           string
	ValidFrom       time.Time
	ValidTo         time.Time
	AllOrgs         bool
	Revoked         bool
	Revokes         int // 2xx answers to a revoke of it

	seeded bool
}

// Exchange is one request and its answer, for tests that check them against the spec.
type Exchange struct {
	Op           Op
	Method       string
	Path         string
	Query        string
	AuthScheme   string // "Bearer", "Basic" or ""
	RequestBody  []byte
	Status       int
	ResponseBody []byte
}

// Server is the fake service. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to pass as --ado-url; the organisation follows it.
	URL string
	// AccessToken is the Entra access token (a user's, JWT-shaped) that the fake accepts.
	AccessToken string

	srv *httptest.Server

	mu          sync.Mutex
	now         func() time.Time
	pats        []*PAT
	byID        map[string]*PAT
	faults      map[Op][]Fault
	accepted    map[string]bool
	validator   func(string) bool
	orgIDs      map[string]string
	maxLifetime time.Duration
	noFullScope bool
	pageSize    int
	exchanges   []Exchange
	requests    map[Op]int
}

// NewServer starts a fake on 127.0.0.1, closed when the test ends.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := Start()
	tb.Cleanup(s.Close)
	return s
}

// Start starts a fake on 127.0.0.1 for a caller without a testing.TB (a testscript setup); the
// caller closes it.
func Start() *Server {
	s := &Server{
		now:      time.Now,
		byID:     map[string]*PAT{},
		faults:   map[Op][]Fault{},
		accepted: map[string]bool{},
		orgIDs:   map[string]string{},
		pageSize: 20,
		requests: map[Op]int{},
	}
	s.AccessToken = UserToken("dev@contoso.example", time.Now().Add(time.Hour))
	s.accepted[s.AccessToken] = true
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server; requests in flight are cut off.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Fault queues f for the next requests of op.
func (s *Server) Fault(op Op, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults[op] = append(s.faults[op], f)
}

// AcceptToken makes the fake accept another bearer token.
func (s *Server) AcceptToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepted[tok] = true
}

// SetClock replaces the fake's clock (for replaying the spec's examples).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetOrgID fixes the id of an organisation (its targetAccounts entry); by default one is derived
// from the name.
func (s *Server) SetOrgID(org, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orgIDs[strings.ToLower(org)] = id
}

// SetMaxLifetime turns on the tenant policy "Enforce maximum PAT lifespan": a create whose
// validTo is further than d answers patLifespanPolicyViolation.
func (s *Server) SetMaxLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxLifetime = d
}

// ForbidFullScope turns on the tenant policy "Restrict full-scoped PAT creation".
func (s *Server) ForbidFullScope() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noFullScope = true
}

// SetPageSize sets the default page size of list.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// Seed adds a PAT as if it had been created before.
func (s *Server) Seed(p PAT) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := p
	cp.seeded = true
	s.pats = append(s.pats, &cp)
	s.byID[strings.ToLower(p.AuthorizationID)] = &cp
}

// PATs returns a copy of every PAT, in creation order.
func (s *Server) PATs() []PAT {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PAT, len(s.pats))
	for i, p := range s.pats {
		out[i] = *p
		out[i].TargetAccounts = append([]string(nil), p.TargetAccounts...)
	}
	return out
}

// Get returns the PAT with this authorization id.
func (s *Server) Get(id string) (PAT, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.byID[strings.ToLower(id)]
	if !ok {
		return PAT{}, false
	}
	return *p, true
}

// Creates is the number of PATs created through the API (seeded ones not counted).
func (s *Server) Creates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.pats {
		if !p.seeded {
			n++
		}
	}
	return n
}

// Revokes is the number of successful revocations of the PAT with this authorization id.
func (s *Server) Revokes(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.byID[strings.ToLower(id)]; ok {
		return p.Revokes
	}
	return 0
}

// Requests is the number of requests of op that reached the fake, answered however.
func (s *Server) Requests(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[op]
}

// Exchanges returns every request and answer so far.
func (s *Server) Exchanges() []Exchange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Exchange(nil), s.exchanges...)
}

// Live returns the PATs that are neither revoked nor expired.
func (s *Server) Live() []PAT {
	var out []PAT
	now := s.clock()
	for _, p := range s.PATs() {
		if !p.Revoked && now.Before(p.ValidTo) {
			out = append(out, p)
		}
	}
	return out
}

func (s *Server) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) takeFault(op Op) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[op]
	if len(q) == 0 {
		return Fault{}, false
	}
	f := q[0]
	q[0].Times--
	if q[0].Times <= 0 {
		s.faults[op] = q[1:]
	}
	return f, true
}

// recorder keeps what is written, for the exchange log.
type recorder struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body = append(r.body, b...)
	return r.ResponseWriter.Write(b)
}

var (
	tokensPath = regexp.MustCompile(`(?i)^/([^/]+)/_apis/tokens/pats/?$`)
	restPath   = regexp.MustCompile(`(?i)^/([^/]+)/_apis/(projects|git/repositories)/?$`)
	uuidRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	versionRE  = regexp.MustCompile(`^(6\.1|7\.0|7\.1|7\.2)(-preview(\.1)?)?$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec := &recorder{ResponseWriter: w}
	ex := Exchange{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, RequestBody: body}
	if scheme, _, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok {
		ex.AuthScheme = scheme
	}
	defer func() {
		ex.Status, ex.ResponseBody = rec.status, rec.body
		s.mu.Lock()
		s.exchanges = append(s.exchanges, ex)
		s.requests[ex.Op]++
		s.mu.Unlock()
	}()
	if m := restPath.FindStringSubmatch(r.URL.Path); m != nil {
		ex.Op = OpREST
		s.rest(rec, r, m[1], strings.ToLower(m[2]))
		return
	}
	m := tokensPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		adoError(rec, http.StatusNotFound, "ResourceNotFoundException", "The resource cannot be found.")
		return
	}
	org := m[1]
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost:
		ex.Op = OpCreate
	case r.Method == http.MethodGet && q.Has("authorizationId"):
		ex.Op = OpGet
	case r.Method == http.MethodGet:
		ex.Op = OpList
	case r.Method == http.MethodDelete:
		ex.Op = OpRevoke
	case r.Method == http.MethodPut:
		ex.Op = OpUpdate
	default:
		rec.Header().Set("Allow", "GET, POST, PUT, DELETE")
		adoError(rec, http.StatusMethodNotAllowed, "HttpMethodNotAllowedException", "The requested resource does not support http method '"+r.Method+"'.")
		return
	}
	if !s.authorized(r) {
		rec.Header().Set("WWW-Authenticate", `Bearer authorization_uri=https://login.microsoftonline.com/common`)
		adoError(rec, http.StatusUnauthorized, "UnauthorizedRequestException", "TF400813: The user is not authorized to access this resource. The PAT lifecycle API requires a Microsoft Entra access token.")
		return
	}
	if !checkVersion(rec, r.Method, q) {
		return
	}
	if f, ok := s.takeFault(ex.Op); ok {
		if s.applyFault(rec, r, ex.Op, org, body, f) {
			return
		}
	}
	switch ex.Op {
	case OpCreate:
		s.create(rec, r, org, body, false)
	case OpGet:
		s.get(rec, org, q.Get("authorizationId"))
	case OpList:
		s.list(rec, org, q)
	case OpRevoke:
		s.revoke(rec, org, q.Get("authorizationId"))
	case OpUpdate:
		s.update(rec, org, body)
	}
}

// applyFault answers with f and reports whether the request is done.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, op Op, org string, body []byte, f Fault) bool {
	if op == OpRevoke && f.Ignore {
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	if op == OpCreate && (f.Issue || f.Delay > 0) && f.Status == 0 && f.TokenError == "" {
		p := s.create(nil, r, org, body, true)
		wait(r, f.Delay)
		if p == nil {
			s.create(w, r, org, body, false)
			return true
		}
		writeJSON(w, http.StatusOK, result{PatToken: tokenJSON(p, true), PatTokenError: "none"})
		return true
	}
	if op == OpCreate && f.Issue {
		s.create(nil, r, org, body, true)
	}
	wait(r, f.Delay)
	switch {
	case f.Status != 0:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		msg := fmt.Sprintf("Injected failure: HTTP %d.", f.Status)
		if f.Status == http.StatusTooManyRequests {
			msg = "TF400733: The request has been throttled: too many requests from this user."
		}
		adoError(w, f.Status, "InjectedFault", msg)
		return true
	case f.TokenError != "" && op != OpRevoke && op != OpList:
		writeJSON(w, http.StatusOK, result{PatToken: nil, PatTokenError: f.TokenError})
		return true
	}
	return f.Delay > 0 && r.Context().Err() != nil
}

func wait(r *http.Request, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

func (s *Server) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	s.mu.Lock()
	ok = s.accepted[strings.TrimSpace(tok)]
	valid := s.validator
	s.mu.Unlock()
	return ok || (valid != nil && valid(strings.TrimSpace(tok)))
}

// AcceptTokens makes the fake also accept every bearer token that valid vouches for: the access
// tokens an Entra stand-in issues for Azure DevOps, for instance.
func (s *Server) AcceptTokens(valid func(tok string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.validator = valid
}

func checkVersion(w http.ResponseWriter, method string, q map[string][]string) bool {
	vs := q["api-version"]
	if len(vs) == 0 || vs[0] == "" {
		adoError(w, http.StatusBadRequest, "VssVersionNotSpecifiedException",
			fmt.Sprintf(`No api-version was supplied for the "%s" request. The version must be supplied either as part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter (e.g. '?api-version=1.0').`, method))
		return false
	}
	v := vs[0]
	m := versionRE.FindStringSubmatch(v)
	switch {
	case m == nil:
		adoError(w, http.StatusBadRequest, "VssVersionOutOfRangeException",
			fmt.Sprintf(`The requested REST API version of %s is out of range for this server.`, v))
		return false
	case m[2] == "":
		adoError(w, http.StatusBadRequest, "VssInvalidPreviewVersionException",
			fmt.Sprintf(`The requested version "%s" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: "%s-preview"`, v, v))
		return false
	}
	return true
}

// adoError writes Azure DevOps' JSON error body.
func adoError(w http.ResponseWriter, status int, typeKey, msg string) {
	writeJSON(w, status, map[string]any{
		"$id": "1", "innerException": nil, "message": msg,
		"typeName": "Microsoft.VisualStudio.Services.WebApi." + typeKey + ", Microsoft.VisualStudio.Services.WebApi",
		"typeKey":  typeKey, "errorCode": 0, "eventId": 3000,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8; api-version=7.1-preview.1")
	w.WriteHeader(status)
	w.Write(b)
}

// wire shapes, fields in the order of the recorded examples.
type tokenWire struct {
	DisplayName     string   `json:"displayName"`
	ValidTo         string   `json:"validTo"`
	Scope           string   `json:"scope"`
	TargetAccounts  []string `json:"targetAccounts"`
	ValidFrom       string   `json:"validFrom"`
	AuthorizationID string   `json:"authorizationId"`
	Token           *string  `json:"token"`
}

type result struct {
	PatToken      *tokenWire `json:"patToken"`
	PatTokenError string     `json:"patTokenError"`
}

type page struct {
	ContinuationToken string      `json:"continuationToken"`
	PatTokens         []tokenWire `json:"patTokens"`
}

func tokenJSON(p *PAT, withToken bool) *tokenWire {
	t := &tokenWire{
		DisplayName: p.DisplayName, ValidTo: FormatTime(p.ValidTo), Scope: p.Scope,
		TargetAccounts: p.TargetAccounts, ValidFrom: FormatTime(p.ValidFrom), AuthorizationID: p.AuthorizationID,
	}
	if withToken {
		tok := p.Token
		t.Token = &tok
	}
	return t
}

// FormatTime writes a date-time the way the service does: UTC, up to 7 fractional digits with
// trailing zeros dropped.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.9999999Z07:00")
}

// roundSQL rounds t to the 1/300 s steps that the service stores (the CreatePat example sends
// 23:46:23.319Z and gets 23:46:23.32Z back).
func roundSQL(t time.Time) time.Time {
	t = t.UTC()
	frac := float64(t.Nanosecond()) / 1e9
	ticks := math.Round(frac * 300)
	sec := t.Truncate(time.Second)
	ns := int64(math.Round(ticks / 300 * 1e7)) // in 100 ns units, as .NET keeps it
	return sec.Add(time.Duration(ns) * 100)
}

type createBody struct {
	DisplayName *string `json:"displayName"`
	Scope       *string `json:"scope"`
	ValidTo     *string `json:"validTo"`
	AllOrgs     *bool   `json:"allOrgs"`
}

// create validates a create request and issues the PAT. With w nil it only issues (for faults)
// and returns the PAT, or nil when the request is refused.
func (s *Server) create(w http.ResponseWriter, r *http.Request, org string, body []byte, quiet bool) *PAT {
	fail := func(status int, typeKey, msg string) *PAT {
		if w != nil {
			adoError(w, status, typeKey, msg)
		}
		return nil
	}
	refuse := func(code string) *PAT {
		if w != nil {
			writeJSON(w, http.StatusOK, result{PatTokenError: code})
		}
		return nil
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return fail(http.StatusUnsupportedMediaType, "UnsupportedMediaTypeException", "The request entity's media type '"+ct+"' is not supported for this resource.")
	}
	var b createBody
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.DisallowUnknownFields()
	if len(strings.TrimSpace(string(body))) == 0 {
		return fail(http.StatusBadRequest, "ArgumentNullException", "Value cannot be null.\r\nParameter name: patTokenCreateRequest")
	}
	if err := d.Decode(&b); err != nil {
		return fail(http.StatusBadRequest, "VssRequestContentException", "The request body is not a valid PatTokenCreateRequest: "+err.Error())
	}
	s.mu.Lock()
	now, maxLife, noFull := s.now(), s.maxLifetime, s.noFullScope
	s.mu.Unlock()
	if b.DisplayName == nil || strings.TrimSpace(*b.DisplayName) == "" {
		return refuse("displayNameRequired")
	}
	if len([]rune(*b.DisplayName)) > 256 || strings.ContainsAny(*b.DisplayName, "\r\n\t") {
		return refuse("invalidDisplayName")
	}
	if b.Scope == nil {
		return refuse("invalidScope")
	}
	scopes := strings.Split(*b.Scope, " ")
	for _, sc := range scopes {
		if _, ok := adopat.Scopes[sc]; !ok && sc != adopat.FullAccess {
			return refuse("invalidScope")
		}
		if sc == adopat.FullAccess && noFull {
			return refuse("fullScopePatPolicyViolation")
		}
	}
	if b.ValidTo == nil {
		return refuse("invalidValidTo")
	}
	validTo, err := time.Parse(time.RFC3339Nano, *b.ValidTo)
	if err != nil || !validTo.After(now) || validTo.Sub(now) > 366*24*time.Hour {
		return refuse("invalidValidTo")
	}
	if maxLife > 0 && validTo.Sub(now) > maxLife {
		return refuse("patLifespanPolicyViolation")
	}
	allOrgs := b.AllOrgs != nil && *b.AllOrgs
	p := &PAT{
		Org: org, AuthorizationID: newUUID(), DisplayName: *b.DisplayName, Scope: *b.Scope,
		Token: newToken(), ValidFrom: roundSQL(now), ValidTo: roundSQL(validTo), AllOrgs: allOrgs,
	}
	if !allOrgs {
		p.TargetAccounts = []string{s.orgID(org)}
	}
	s.mu.Lock()
	s.pats = append(s.pats, p)
	s.byID[strings.ToLower(p.AuthorizationID)] = p
	s.mu.Unlock()
	if w != nil {
		writeJSON(w, http.StatusOK, result{PatToken: tokenJSON(p, true), PatTokenError: "none"})
	}
	return p
}

func (s *Server) orgID(org string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orgIDLocked(org)
}

func (s *Server) orgIDLocked(org string) string {
	if id, ok := s.orgIDs[strings.ToLower(org)]; ok {
		return id
	}
	h := sha1.Sum([]byte("org:" + strings.ToLower(org)))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func (s *Server) lookup(org, id string) *PAT {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.byID[strings.ToLower(id)]
	if p == nil || !s.visibleLocked(p, org) {
		return nil
	}
	return p
}

func (s *Server) get(w http.ResponseWriter, org, id string) {
	if !uuidRE.MatchString(id) {
		adoError(w, http.StatusBadRequest, "InvalidAuthorizationIdException", "The authorizationId is not a valid GUID.")
		return
	}
	p := s.lookup(org, id)
	if p == nil {
		writeJSON(w, http.StatusOK, result{PatTokenError: "authorizationNotFound"})
		return
	}
	s.mu.Lock()
	t := tokenJSON(p, false)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, result{PatToken: t, PatTokenError: "none"})
}

func (s *Server) revoke(w http.ResponseWriter, org, id string) {
	if id == "" {
		adoError(w, http.StatusBadRequest, "ArgumentNullException", "Value cannot be null.\r\nParameter name: authorizationId")
		return
	}
	if !uuidRE.MatchString(id) {
		adoError(w, http.StatusBadRequest, "InvalidAuthorizationIdException", "The authorizationId is not a valid GUID.")
		return
	}
	p := s.lookup(org, id)
	if p == nil {
		adoError(w, http.StatusNotFound, "SessionTokenNotFoundException", "No personal access token with authorizationId "+id+" was found.")
		return
	}
	s.mu.Lock()
	p.Revoked = true
	p.Revokes++
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

type updateBody struct {
	AuthorizationID *string `json:"authorizationId"`
	DisplayName     *string `json:"displayName"`
	Scope           *string `json:"scope"`
	ValidTo         *string `json:"validTo"`
	AllOrgs         *bool   `json:"allOrgs"`
}

func (s *Server) update(w http.ResponseWriter, org string, body []byte) {
	var b updateBody
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.DisallowUnknownFields()
	if err := d.Decode(&b); err != nil || b.AuthorizationID == nil {
		adoError(w, http.StatusBadRequest, "VssRequestContentException", "The request body is not a valid PatTokenUpdateRequest.")
		return
	}
	p := s.lookup(org, *b.AuthorizationID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == nil || p.Revoked {
		writeJSON(w, http.StatusOK, result{PatTokenError: "authorizationNotFound"})
		return
	}
	if b.DisplayName != nil {
		p.DisplayName = *b.DisplayName
	}
	if b.Scope != nil {
		p.Scope = *b.Scope
	}
	if b.ValidTo != nil {
		t, err := time.Parse(time.RFC3339Nano, *b.ValidTo)
		now := s.now()
		if err != nil || !t.After(now) || t.Sub(now) > 366*24*time.Hour {
			writeJSON(w, http.StatusOK, result{PatTokenError: "invalidValidTo"})
			return
		}
		if s.maxLifetime > 0 && t.Sub(p.ValidFrom) > s.maxLifetime {
			writeJSON(w, http.StatusOK, result{PatTokenError: "patLifespanPolicyViolation"})
			return
		}
		p.ValidTo = roundSQL(t)
	}
	if b.AllOrgs != nil {
		p.AllOrgs = *b.AllOrgs
		if p.AllOrgs {
			p.TargetAccounts = nil
		}
	}
	writeJSON(w, http.StatusOK, result{PatToken: tokenJSON(p, false), PatTokenError: "none"})
}

func (s *Server) list(w http.ResponseWriter, org string, q map[string][]string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	filter := get("displayFilterOption")
	switch strings.ToLower(filter) {
	case "":
		filter = "active"
	case "active", "revoked", "expired", "all":
		filter = strings.ToLower(filter)
	default:
		adoError(w, http.StatusBadRequest, "InvalidEnumArgumentException", "The value '"+filter+"' is not valid for displayFilterOption.")
		return
	}
	sortBy := get("sortByOption")
	switch strings.ToLower(sortBy) {
	case "", "displayname", "displaydate", "status":
	default:
		adoError(w, http.StatusBadRequest, "InvalidEnumArgumentException", "The value '"+sortBy+"' is not valid for sortByOption.")
		return
	}
	asc := true
	if v := get("isSortAscending"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			adoError(w, http.StatusBadRequest, "ArgumentException", "isSortAscending must be true or false.")
			return
		}
		asc = b
	}
	s.mu.Lock()
	size, now := s.pageSize, s.now()
	s.mu.Unlock()
	if v := get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			adoError(w, http.StatusBadRequest, "ArgumentOutOfRangeException", "$top must be a positive number.")
			return
		}
		size = min(n, 100)
	}
	start := 0
	if ct := get("continuationToken"); ct != "" {
		b, err := base64.RawURLEncoding.DecodeString(ct)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), "offset:") || n < 0 {
			adoError(w, http.StatusBadRequest, "InvalidContinuationTokenException", "The continuation token is not valid.")
			return
		}
		start = n
	}
	var sel []*PAT
	s.mu.Lock()
	for _, p := range s.pats {
		if !s.visibleLocked(p, org) {
			continue
		}
		expired := !now.Before(p.ValidTo)
		switch {
		case filter == "all",
			filter == "active" && !p.Revoked && !expired,
			filter == "revoked" && p.Revoked,
			filter == "expired" && expired && !p.Revoked:
			sel = append(sel, p)
		}
	}
	var out page
	less := func(i, j int) bool { return false }
	switch strings.ToLower(sortBy) {
	case "displayname":
		less = func(i, j int) bool { return sel[i].DisplayName < sel[j].DisplayName }
	case "displaydate":
		less = func(i, j int) bool { return sel[i].ValidFrom.Before(sel[j].ValidFrom) }
	case "status":
		less = func(i, j int) bool { return !sel[i].Revoked && sel[j].Revoked }
	}
	sort.SliceStable(sel, func(i, j int) bool {
		if asc {
			return less(i, j)
		}
		return less(j, i)
	})
	for i := start; i < len(sel) && i < start+size; i++ {
		out.PatTokens = append(out.PatTokens, *tokenJSON(sel[i], false))
	}
	if start+size < len(sel) {
		out.ContinuationToken = base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(start+size)))
	}
	s.mu.Unlock()
	if out.PatTokens == nil {
		out.PatTokens = []tokenWire{}
	}
	writeJSON(w, http.StatusOK, out)
}

// visibleLocked reports whether p can be seen through org (its own organisation, or all of
// them), for a caller holding s.mu.
func (s *Server) visibleLocked(p *PAT, org string) bool {
	if p.AllOrgs || p.TargetAccounts == nil {
		return true
	}
	id := s.orgIDLocked(org)
	for _, t := range p.TargetAccounts {
		if strings.EqualFold(t, id) {
			return true
		}
	}
	return strings.EqualFold(p.Org, org)
}

// restScopes are the scopes that open each REST resource of the fake.
var restScopes = map[string][]string{
	"projects":         {"vso.project", "vso.project_write", "vso.project_manage", "app_token"},
	"git/repositories": {"vso.code", "vso.code_write", "vso.code_manage", "vso.code_full", "app_token"},
}

func (s *Server) rest(w http.ResponseWriter, r *http.Request, org, resource string) {
	if r.Method != http.MethodGet {
		adoError(w, http.StatusMethodNotAllowed, "HttpMethodNotAllowedException", "The requested resource does not support http method '"+r.Method+"'.")
		return
	}
	_, pass, ok := r.BasicAuth()
	var p *PAT
	if ok && pass != "" {
		s.mu.Lock()
		now := s.now()
		for _, c := range s.pats {
			if c.Token == pass && !c.Revoked && now.Before(c.ValidTo) && s.visibleLocked(c, org) {
				p = c
				break
			}
		}
		s.mu.Unlock()
	}
	if p == nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="https://dev.azure.com/"`)
		adoError(w, http.StatusUnauthorized, "UnauthorizedRequestException", "TF400813: The user is not authorized to access this resource.")
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		adoError(w, http.StatusBadRequest, "VssVersionNotSpecifiedException", `No api-version was supplied for the "GET" request.`)
		return
	}
	allowed := false
	for _, have := range strings.Split(p.Scope, " ") {
		for _, need := range restScopes[resource] {
			allowed = allowed || have == need
		}
	}
	if !allowed {
		adoError(w, http.StatusForbidden, "InvalidScopeException", "The PAT's scopes do not allow access to "+resource+".")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"count": 1,
		"value": []map[string]any{{"id": s.orgID(org), "name": "fake-" + strings.ReplaceAll(resource, "/", "-"), "url": s.URL + r.URL.Path}},
	})
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newToken makes a PAT like the CreatePat example's: 52 characters of lower-case base32.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:52]
}

// UserToken makes a JWT-shaped Entra access token of a user for Azure DevOps, expiring at exp.
// Its signature is not one: the fake compares tokens, it does not verify them.
func UserToken(upn string, exp time.Time) string {
	return JWT(map[string]any{
		"aud": adopat.ResourceID, "iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
		"exp": exp.Unix(), "scp": "user_impersonation", "upn": upn, "idtyp": "user", "nonce": newUUID(),
	})
}

// AppToken makes a JWT-shaped app-only token, as a service principal or managed identity gets.
func AppToken(exp time.Time) string {
	return JWT(map[string]any{
		"aud": adopat.ResourceID, "exp": exp.Unix(), "roles": []string{}, "idtyp": "app",
		"appid": "11111111-1111-1111-1111-111111111111",
	})
}

// JWT encodes claims as an unsigned-looking JWT.
func JWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "." + enc.EncodeToString([]byte("not-a-signature"))
}
