// Package credsock hands a running patinject's current token to its git credential helper over
// a private Unix socket: the socket is made 0600 in patinject's 0700 private directory and is
// gone when the run ends, so only processes of the same user that know the path can ask, and
// only while the run lasts. Each connection asks once: "get\n"; the answer is
// "password=TOKEN\nexpiry=UNIX\n" or "error=TEXT\n".
package credsock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/patinject/patinject/secret"
)

// Token gets the current token, refreshed when it nears expiry.
type Token func(ctx context.Context) (secret.Value, time.Time, error)

// Server answers on a socket until Close.
type Server struct {
	Path string
	ln   net.Listener
	wg   sync.WaitGroup
	stop context.CancelFunc
}

// Listen makes the socket at path (0600) and serves get from it.
func Listen(path string, get Token) (*Server, error) {
	old := umask(0o177)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("the credential helper's socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("the credential helper's socket: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Path: path, ln: ln, stop: cancel}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(ctx, c, get)
			}()
		}
	}()
	return s, nil
}

func (s *Server) serve(ctx context.Context, c net.Conn, get Token) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Minute))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "get" {
		return
	}
	v, exp, err := get(ctx)
	if err != nil {
		fmt.Fprintf(c, "error=%s\n", strings.Join(strings.Fields(err.Error()), " "))
		return
	}
	fmt.Fprintf(c, "password=%s\nexpiry=%d\n", v.Reveal(), exp.Unix())
}

// Close stops serving and removes the socket.
func (s *Server) Close() error {
	s.stop()
	err := s.ln.Close()
	s.wg.Wait()
	os.Remove(s.Path)
	return err
}

// Ask asks the server at path for the token.
func Ask(ctx context.Context, path string) (secret.Value, time.Time, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return secret.Value{}, time.Time{}, errors.New("the patinject run that serves this helper is gone (the helper works only while `patinject run` runs)")
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte("get\n")); err != nil {
		return secret.Value{}, time.Time{}, err
	}
	var v secret.Value
	var exp time.Time
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, 16<<10), 1<<20)
	for sc.Scan() {
		k, val, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "password":
			v = secret.NewValue(val)
		case "expiry":
			if n, err := strconv.ParseInt(val, 10, 64); err == nil {
				exp = time.Unix(n, 0)
			}
		case "error":
			return secret.Value{}, time.Time{}, errors.New(val)
		}
	}
	if v.IsZero() {
		return secret.Value{}, time.Time{}, errors.New("the patinject run gave no token")
	}
	return v, exp, nil
}
