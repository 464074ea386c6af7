// Package gitserver is a git server for integration tests: the real `git http-backend` behind
// Basic auth on 127.0.0.1, serving bare repositories that each hold a commit, with push allowed
// to the authenticated user, and a log of every request and the Authorization header it carried.
package gitserver

import (
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patinject/patinject/internal/testpeer"
	"github.com/patinject/patinject/internal/testpeer/authlog"
)

// Server is a running git server. It stops when the test ends.
type Server struct {
	URL  string // base URL, "http://127.0.0.1:PORT/"
	Repo string // URL of the repository made at start: URL + "repo.git"
	// Log has every request the server saw and the Authorization header it carried.
	Log *authlog.Log

	git, root, home string
}

// Start starts a server on 127.0.0.1 that asks for Basic auth with user and password (none when
// user is ""), with one repository, repo.git, holding one commit on main.
func Start(t testing.TB, user, password string) *Server {
	t.Helper()
	return StartOn(t, "127.0.0.1:0", user, password)
}

// StartOn is Start on another local address, such as "127.0.0.2:0" for a second host name.
func StartOn(t testing.TB, addr, user, password string) *Server {
	t.Helper()
	return start(t, addr, func(s *Server, backend http.Handler) http.Handler { return s.Log.Gate(user, password, backend) }, user)
}

// StartGated starts a server on 127.0.0.1 whose requests pass through gate (a Bearer check of
// an Entra stand-in, say) instead of a Basic check; every request is still logged. Push is
// allowed to whoever the gate lets through.
func StartGated(t testing.TB, gate func(http.Handler) http.Handler) *Server {
	t.Helper()
	return start(t, "127.0.0.1:0", func(s *Server, backend http.Handler) http.Handler {
		return s.Log.Gate("", "", gate(backend))
	}, "gated")
}

func start(t testing.TB, addr string, wrap func(*Server, http.Handler) http.Handler, user string) *Server {
	t.Helper()
	s := &Server{git: testpeer.Command(t, "git"), Log: &authlog.Log{}}
	s.root = filepath.Join(t.TempDir(), "repos")
	s.home = t.TempDir()
	if err := os.MkdirAll(s.root, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("gitserver: listen on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(wrap(s, s.backend(user)))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/"
	s.Repo = s.NewRepo(t, "repo.git")
	return s
}

func (s *Server) backend(user string) http.Handler {
	remoteUser := user
	if remoteUser == "" {
		remoteUser = "anonymous"
	}
	backend := &cgi.Handler{
		Path: s.git,
		Args: []string{"http-backend"},
		Dir:  s.root,
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.root,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER=" + remoteUser, // http-backend allows push only to a known user
			"HOME=" + s.home,
			"GIT_CONFIG_NOSYSTEM=1",
		},
	}
	return backend
}

// NewRepo makes a bare repository at name (a path under the server, "team-a/app.git") holding
// one commit on main, and returns its URL.
func (s *Server) NewRepo(t testing.TB, name string) string {
	t.Helper()
	bare := filepath.Join(s.root, filepath.FromSlash(name))
	work := t.TempDir()
	s.gitCmd(t, "", "init", "-q", "--bare", "--initial-branch=main", bare)
	s.gitCmd(t, "", "init", "-q", "--initial-branch=main", work)
	if err := os.WriteFile(filepath.Join(work, "README"), []byte("served by gitserver\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.gitCmd(t, work, "add", "README")
	s.gitCmd(t, work, "commit", "-q", "-m", "first")
	s.gitCmd(t, work, "push", "-q", bare, "main")
	return s.URL + strings.TrimPrefix(name, "/")
}

func (s *Server) gitCmd(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(s.git, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"HOME="+s.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_COUNT=0",
		"GIT_AUTHOR_NAME=gitserver", "GIT_AUTHOR_EMAIL=gitserver@example.invalid",
		"GIT_COMMITTER_NAME=gitserver", "GIT_COMMITTER_EMAIL=gitserver@example.invalid",
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gitserver: git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
