package adotest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patinject/patinject/source/adopat/adotest"
)

// exampleTime is when the spec's examples were recorded (validFrom of the CreatePat example).
var exampleTime = time.Date(2020, 11, 2, 22, 56, 52, 103333300, time.UTC)

const fabrikamID = "38aaa865-2c70-4bf7-a308-0c6539c38c1a"

// do sends the example's request to the fake: same method, path and query, another host.
func do(t *testing.T, srv *adotest.Server, ex adotest.Example, body []byte) (int, []byte) {
	t.Helper()
	u, err := url.Parse(ex.URL)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(ex.Method, srv.URL+u.RequestURI(), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+srv.AccessToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return buf.String()
}

type exampleToken struct {
	DisplayName     string   `json:"displayName"`
	ValidTo         string   `json:"validTo"`
	Scope           string   `json:"scope"`
	TargetAccounts  []string `json:"targetAccounts"`
	ValidFrom       string   `json:"validFrom"`
	AuthorizationID string   `json:"authorizationId"`
}

func seed(t *testing.T, srv *adotest.Server, raw json.RawMessage) {
	t.Helper()
	var e exampleToken
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	from, err1 := time.Parse(time.RFC3339Nano, e.ValidFrom)
	to, err2 := time.Parse(time.RFC3339Nano, e.ValidTo)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	srv.Seed(adotest.PAT{
		Org: "fabrikam", AuthorizationID: e.AuthorizationID, DisplayName: e.DisplayName, Scope: e.Scope,
		TargetAccounts: e.TargetAccounts, AllOrgs: e.TargetAccounts == nil, ValidFrom: from, ValidTo: to,
		Token: "seeded-" + e.AuthorizationID,
	})
}

func newExampleServer(t *testing.T) *adotest.Server {
	srv := adotest.NewServer(t)
	srv.SetClock(func() time.Time { return exampleTime })
	srv.SetOrgID("fabrikam", fabrikamID)
	return srv
}

// The fake answers each recorded example of the spec with the example's own answer.
func TestReplaysTheSpecExamples(t *testing.T) {
	t.Parallel()
	spec := adotest.LoadSpec(t)

	t.Run("CreatePat", func(t *testing.T) {
		srv := newExampleServer(t)
		ex := adotest.LoadExample(t, "CreatePat")
		var params struct{ Body json.RawMessage }
		json.Unmarshal(ex.Parameters["body"], &params.Body)
		status, got := do(t, srv, ex, params.Body)
		if status != ex.Status {
			t.Fatalf("got %d, want %d: %s", status, ex.Status, got)
		}
		if err := spec.Validate("PatTokenResult", got); err != nil {
			t.Error(err)
		}
		var g, w struct {
			PatToken      map[string]any `json:"patToken"`
			PatTokenError string         `json:"patTokenError"`
		}
		json.Unmarshal(got, &g)
		json.Unmarshal(ex.Body, &w)
		if g.PatTokenError != w.PatTokenError {
			t.Errorf("patTokenError %q, want %q", g.PatTokenError, w.PatTokenError)
		}
		for k, want := range w.PatToken {
			switch k {
			case "authorizationId", "token": // random: checked for form below
			default:
				if gj, wj := mustJSON(g.PatToken[k]), mustJSON(want); gj != wj {
					t.Errorf("%s: got %s, want %s", k, gj, wj)
				}
			}
		}
		if len(g.PatToken) != len(w.PatToken) {
			t.Errorf("patToken has %d fields, the example %d", len(g.PatToken), len(w.PatToken))
		}
		tok, _ := g.PatToken["token"].(string)
		wantTok, _ := w.PatToken["token"].(string)
		if len(tok) != len(wantTok) || strings.ToLower(tok) != tok {
			t.Errorf("token %d characters, the example's %d", len(tok), len(wantTok))
		}
		// Field order as in the example.
		if got, want := keyOrder(t, got), keyOrder(t, ex.Body); got != want {
			t.Errorf("key order %s, want %s", got, want)
		}
	})

	t.Run("GetPat", func(t *testing.T) {
		srv := newExampleServer(t)
		ex := adotest.LoadExample(t, "GetPat")
		var w struct{ PatToken json.RawMessage }
		json.Unmarshal(ex.Body, &w)
		seed(t, srv, w.PatToken)
		// The recorded example asks for cf42cc9f-... and answers with 3d3aca0c-...: ask for the
		// one it answers with.
		var tok exampleToken
		json.Unmarshal(w.PatToken, &tok)
		ex.URL = strings.Replace(ex.URL, "cf42cc9f-f170-4375-92ba-c13d58a6545f", tok.AuthorizationID, 1)
		status, got := do(t, srv, ex, nil)
		if status != ex.Status || compact(t, got) != compact(t, ex.Body) {
			t.Errorf("got %d %s\nwant %d %s", status, got, ex.Status, compact(t, ex.Body))
		}
	})

	t.Run("ListPats", func(t *testing.T) {
		srv := newExampleServer(t)
		ex := adotest.LoadExample(t, "ListPats")
		var w struct{ PatTokens []json.RawMessage }
		json.Unmarshal(ex.Body, &w)
		for _, p := range w.PatTokens {
			seed(t, srv, p)
		}
		status, got := do(t, srv, ex, nil)
		if status != ex.Status || compact(t, got) != compact(t, ex.Body) {
			t.Errorf("got %d %s\nwant %d %s", status, got, ex.Status, compact(t, ex.Body))
		}
	})

	t.Run("RevokePat", func(t *testing.T) {
		srv := newExampleServer(t)
		ex := adotest.LoadExample(t, "RevokePat")
		seed(t, srv, json.RawMessage(`{"displayName":"to_revoke","validTo":"2020-12-01T23:46:23.32Z","scope":"vso.code","targetAccounts":["`+fabrikamID+`"],"validFrom":"2020-10-29T17:26:46.72Z","authorizationId":"cf42cc9f-f170-4375-92ba-c13d58a6545f"}`))
		status, got := do(t, srv, ex, nil)
		if status != ex.Status || len(got) != 0 {
			t.Errorf("got %d with %d bytes, want %d and an empty body", status, len(got), ex.Status)
		}
		if n := srv.Revokes("cf42cc9f-f170-4375-92ba-c13d58a6545f"); n != 1 {
			t.Errorf("revokes %d, want 1", n)
		}
	})

	t.Run("UpdatePat", func(t *testing.T) {
		srv := newExampleServer(t)
		get := adotest.LoadExample(t, "GetPat")
		var w struct{ PatToken json.RawMessage }
		json.Unmarshal(get.Body, &w)
		seed(t, srv, w.PatToken)
		ex := adotest.LoadExample(t, "UpdatePat")
		status, got := do(t, srv, ex, ex.Parameters["body"])
		if status != ex.Status || compact(t, got) != compact(t, ex.Body) {
			t.Errorf("got %d %s\nwant %d %s", status, got, ex.Status, compact(t, ex.Body))
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// keyOrder lists the keys of patToken in the order they are written.
func keyOrder(t *testing.T, body []byte) string {
	t.Helper()
	var outer struct{ PatToken json.RawMessage }
	json.Unmarshal(body, &outer)
	d := json.NewDecoder(bytes.NewReader(outer.PatToken))
	var keys []string
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				depth++
			} else {
				depth--
			}
		case string:
			if depth == 1 {
				keys = append(keys, v)
				// skip the value
				var skip json.RawMessage
				d.Decode(&skip)
			}
		}
	}
	return strings.Join(keys, ",")
}

// The validator finds what the spec forbids, or the checks above prove nothing.
func TestSpecValidatorCatchesMistakes(t *testing.T) {
	t.Parallel()
	spec := adotest.LoadSpec(t)
	tests := []struct {
		name, def, data string
		ok              bool
	}{
		{"the create example", "PatTokenCreateRequest", `{"displayName":"new_token","scope":"app_token","validTo":"2020-12-01T23:46:23.319Z","allOrgs":false}`, true},
		{"a date that is not one", "PatTokenCreateRequest", `{"displayName":"x","scope":"s","validTo":"tomorrow","allOrgs":false}`, false},
		{"allOrgs as a string", "PatTokenCreateRequest", `{"displayName":"x","scope":"s","validTo":"2020-12-01T23:46:23.319Z","allOrgs":"false"}`, false},
		{"a field the spec lacks", "PatTokenCreateRequest", `{"displayName":"x","scopes":"s"}`, false},
		{"an error outside the enum", "PatTokenResult", `{"patToken":null,"patTokenError":"oops"}`, false},
		{"an id that is not a uuid", "PatTokenResult", `{"patToken":{"authorizationId":"42"},"patTokenError":"none"}`, false},
		{"a page", "PagedPatTokens", `{"continuationToken":"","patTokens":[{"token":null,"targetAccounts":null}]}`, true},
	}
	for _, tt := range tests {
		err := spec.Validate(tt.def, []byte(tt.data))
		if (err == nil) != tt.ok {
			t.Errorf("%s: got %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	bad := adotest.Exchange{Op: adotest.OpCreate, Query: "api-version=7.1-preview.1&extra=1", AuthScheme: "Bearer",
		RequestBody: []byte(`{"displayName":"x","scope":"vso.code","validTo":"2020-12-01T23:46:23.319Z","allOrgs":false}`)}
	if err := spec.CheckRequest(bad); err == nil {
		t.Errorf("a query parameter the spec lacks passed")
	}
	bad.Query = "api-version=6.1-preview"
	if err := spec.CheckRequest(bad); err == nil {
		t.Errorf("an api-version other than the spec's passed")
	}
	bad.Query, bad.AuthScheme = "api-version=7.1-preview.1", "Basic"
	if err := spec.CheckRequest(bad); err == nil {
		t.Errorf("Basic auth passed")
	}
}

func TestAcceptTokens(t *testing.T) {
	t.Parallel()
	s := adotest.NewServer(t)
	s.AcceptTokens(func(tok string) bool { return tok == "vouched-for" })
	for _, tc := range []struct {
		tok  string
		want int
	}{{"vouched-for", http.StatusOK}, {"not-vouched-for", http.StatusUnauthorized}, {s.AccessToken, http.StatusOK}} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/contoso/_apis/tokens/pats?api-version=7.1-preview.1", nil)
		req.Header.Set("Authorization", "Bearer "+tc.tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("token %q: got %d, want %d", tc.tok[:min(len(tc.tok), 12)], res.StatusCode, tc.want)
		}
	}
}
