// Package redistest runs a real redis-server on a loopback port, for
// end-to-end tests and the load test: Debian's redis-server package
// (apt-get install -y redis-server; .ci/run installs it).
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Server is one redis-server process, with no persistence, listening on
// 127.0.0.1 only.
type Server struct {
	port   int
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// Installed reports whether redis-server is on PATH, and if not, how to
// install it.
func Installed() error {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return errors.New("redis-server is not installed (apt-get update && apt-get install -y redis-server; .ci/run does it)")
	}
	return nil
}

// Start starts redis-server on a free loopback port, keeping its working
// files in dir, and waits until it answers PING.
func Start(ctx context.Context, dir string) (*Server, error) {
	if err := Installed(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("find a free port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{port: port, dir: dir}
	return s, s.start(ctx)
}

func (s *Server) start(ctx context.Context) error {
	s.cmd = exec.Command("redis-server",
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--logfile", "", "--daemonize", "no")
	s.cmd.Stdout, s.cmd.Stderr = nil, nil
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(s.cmd, s.exited)

	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		if err := s.ping(); err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("redis-server on port %d exited at start (port taken?)", s.port)
		case <-ctx.Done():
			s.Kill()
			return fmt.Errorf("redis-server on port %d did not answer PING: %w", s.port, ctx.Err())
		case <-time.After(20 * time.Millisecond): // polling a starting server
		}
	}
}

func (s *Server) ping() error {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is a REDIS_URL for it.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Pid is the process id of the running redis-server.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop stops redis-server (SIGTERM, then SIGKILL after 5 s) and waits
// for it to exit. It does nothing if it is not running.
func (s *Server) Stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.Kill()
	}
}

// Kill kills redis-server at once and waits for it to exit.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Restart starts a stopped server again on the same port (empty: nothing
// was saved).
func (s *Server) Restart(ctx context.Context) error {
	s.Stop()
	return s.start(ctx)
}

// StartT starts a server for t and stops it when t ends. Without
// redis-server installed it skips t, saying how to install it, except in
// CI (CI=true), where it fails: CI must run these tests.
func StartT(t testing.TB) *Server {
	t.Helper()
	if err := Installed(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v: CI must run the tests with a real Redis", err)
		}
		t.Skipf("skipping: %v", err)
	}
	s, err := Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}
