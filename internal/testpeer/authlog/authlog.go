// Package authlog is the Basic-auth gate of the test servers (gitserver, nugetfeed, the
// recorders of the tools tests): it checks the credential, answers 401 without it, and records
// every request with the Authorization header it carried, so that a test can show which server
// saw the credential and which never did.
package authlog

import (
	"net/http"
	"sync"
)

// Request is one request a server saw.
type Request struct {
	Method, Host, Path string
	Authorization      string // the raw header, "" when none
	User               string // the Basic user name, when the header parsed
	OK                 bool   // let through: no credential needed, or the right one
}

// Log records what a server saw; safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	reqs []Request
}

// Requests returns every request so far.
func (l *Log) Requests() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Request(nil), l.reqs...)
}

// Authorized returns the requests that carried an Authorization header.
func (l *Log) Authorized() []Request {
	var out []Request
	for _, r := range l.Requests() {
		if r.Authorization != "" {
			out = append(out, r)
		}
	}
	return out
}

// Gate wraps next: every request is recorded; when user is not "", only a Basic credential of
// user and password is let through, anything else gets 401 with a Basic challenge.
func (l *Log) Gate(user, password string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := Request{Method: r.Method, Host: r.Host, Path: r.URL.Path, Authorization: r.Header.Get("Authorization")}
		u, p, ok := r.BasicAuth()
		if ok {
			req.User = u
		}
		req.OK = user == "" || (ok && u == user && p == password)
		l.mu.Lock()
		l.reqs = append(l.reqs, req)
		l.mu.Unlock()
		if !req.OK {
			w.Header().Set("WWW-Authenticate", `Basic realm="patinject-test"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
