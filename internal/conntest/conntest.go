// Package conntest counts HTTP connections at both ends, for tests of
// connections kept open between requests: a server that closes
// connections left idle, as load balancers do, and a client that counts
// the connections it closed.
package conntest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// Server is an httptest server on loopback that closes connections left
// idle for its idle time-out, and counts the connections it accepted
// (Opened) and closed (Closed).
type Server struct {
	*httptest.Server
	Opened, Closed atomic.Int32
}

// Start serves h with the idle time-out idle until the test ends.
func Start(t testing.TB, idle time.Duration, h http.Handler) *Server {
	t.Helper()
	s := &Server{Server: httptest.NewUnstartedServer(h)}
	s.Config.IdleTimeout = idle
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		switch state {
		case http.StateNew:
			s.Opened.Add(1)
		case http.StateClosed:
			s.Closed.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// CloseCounter counts the connections a client closed: it closes one once
// it has seen the server close it, and only then dials anew rather than
// sending on a dead connection.
type CloseCounter struct{ closed atomic.Int32 }

// Closed is how many connections the client has closed.
func (cc *CloseCounter) Closed() int32 { return cc.closed.Load() }

// Client returns an HTTP client (timeout 0: none) whose connections cc
// counts as they are closed.
func (cc *CloseCounter) Client(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	dial := t.DialContext
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countedConn{Conn: c, cc: cc}, nil
	}
	return &http.Client{Transport: t, Timeout: timeout}
}

// countedConn counts itself in cc the first time it is closed.
type countedConn struct {
	net.Conn
	cc   *CloseCounter
	once atomic.Bool
}

func (c *countedConn) Close() error {
	if c.once.CompareAndSwap(false, true) {
		c.cc.closed.Add(1)
	}
	return c.Conn.Close()
}
