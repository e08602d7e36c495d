package health

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// patience is how long a test waits for what must happen: far more than it
// takes on a loaded machine, so that only a server that never does it
// fails. No test asserts how fast anything happens.
const patience = 30 * time.Second

// startServer starts a probe server on loopback with cfg and metrics, shut
// down when the test ends.
func startServer(t *testing.T, cfg Config, metrics http.Handler) *Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	srv, err := Start(cfg, func() bool { return true }, metrics)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv
}

// dial connects to srv, closing the connection when the test ends.
func dial(t *testing.T, srv *Server) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", srv.Addr(), patience)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// get sends GET path on conn, keeping the connection open, and returns the
// answer's status.
func get(t *testing.T, conn net.Conn, br *bufio.Reader, path string) int {
	t.Helper()
	conn.SetDeadline(time.Now().Add(patience))
	defer conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: probe\r\n\r\n"); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode
}

// assertClosed fails t unless the server closes conn within patience; what
// it sent before closing is read and dropped.
func assertClosed(t *testing.T, conn net.Conn, r io.Reader, what string) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(patience))
	// EOF (nil here) or a reset both mean the server let go.
	if _, err := io.Copy(io.Discard, r); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("%s is still open after %s: the server never let it go", what, patience)
	}
}

func TestIdleConnectionClosed(t *testing.T) {
	srv := startServer(t, Config{IdleTimeout: 100 * time.Millisecond}, nil)
	conn := dial(t, srv)
	br := bufio.NewReader(conn)
	if got := get(t, conn, br, "/healthz"); got != http.StatusOK {
		t.Fatalf("GET /healthz = %d, want 200", got)
	}
	assertClosed(t, conn, br, "a keep-alive connection with no second request")
}

func TestSlowClientCut(t *testing.T) {
	tests := []struct {
		name  string // what the client does
		first string // sent at once
		drip  byte   // then sent a byte at a time, for ever
	}{
		{name: "sends nothing"},
		{name: "trickles its headers", first: "GET /healthz HTTP/1.1\r\nX-Slow: ", drip: 'a'},
		{name: "trickles its body", first: "GET /healthz HTTP/1.1\r\nHost: probe\r\nContent-Length: 100000\r\n\r\n", drip: 'a'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, Config{ReadTimeout: 200 * time.Millisecond}, nil)
			conn := dial(t, srv)
			if _, err := io.WriteString(conn, tt.first); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			dripped := make(chan struct{})
			go func() {
				defer close(dripped)
				if tt.drip == 0 {
					return
				}
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					if _, err := conn.Write([]byte{tt.drip}); err != nil {
						return
					}
				}
			}()
			assertClosed(t, conn, conn, "a client that "+tt.name)
			close(stop)
			<-dripped
		})
	}
}

func TestSlowReaderCut(t *testing.T) {
	wrote := make(chan error, 1)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				wrote <- err
				return
			}
		}
	})
	srv := startServer(t, Config{WriteTimeout: 200 * time.Millisecond}, metrics)
	conn := dial(t, srv)
	if _, err := io.WriteString(conn, "GET /metrics HTTP/1.1\r\nHost: scraper\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The client reads nothing: once the socket buffers are full, only the
	// write time-out ends the answer.
	select {
	case <-wrote:
	case <-time.After(patience):
		t.Fatalf("the server still writes to a client that reads nothing after %s", patience)
	}
}

func TestConnectionCap(t *testing.T) {
	const maxConns, extra = 3, 3
	var inFlight, most atomic.Int32
	entered := make(chan struct{}, maxConns+extra)
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseAll := func() { releaseOnce.Do(func() { close(release) }) }
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		entered <- struct{}{}
		<-release
		io.WriteString(w, "coldtransfer_in_flight 0\n")
	})
	srv := startServer(t, Config{MaxConns: maxConns, ReadTimeout: time.Minute, WriteTimeout: time.Minute}, metrics)
	t.Cleanup(releaseAll) // before the server's shutdown, which waits for the handlers

	conns := make([]net.Conn, maxConns+extra)
	for i := range conns {
		conns[i] = dial(t, srv)
		if _, err := io.WriteString(conns[i], "GET /metrics HTTP/1.1\r\nHost: scraper\r\nConnection: close\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(patience)
	for range maxConns {
		select {
		case <-entered:
		case <-deadline:
			t.Fatalf("%d of %d requests served after %s, want %d", inFlight.Load(), len(conns), patience, maxConns)
		}
	}
	// Every request is written: a server without a cap serves the others
	// now. This waits for a failure to show, it synchronises nothing.
	select {
	case <-entered:
		t.Fatalf("%d requests served at once, want at most %d", inFlight.Load(), maxConns)
	case <-time.After(300 * time.Millisecond):
	}

	releaseAll()
	for i, conn := range conns {
		conn.SetReadDeadline(time.Now().Add(patience))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("connection %d: %v (past the cap, a connection must wait, not be dropped)", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("connection %d: %s, want 200", i, resp.Status)
		}
	}
	if m := most.Load(); m > maxConns {
		t.Errorf("%d requests served at once, want at most %d", m, maxConns)
	}
}

// TestIdleConnectionsMakeRoom fills every slot with idle keep-alive
// connections that would stay for an hour: a probe is still answered, and
// the idle connections are closed to make room for it.
func TestIdleConnectionsMakeRoom(t *testing.T) {
	const maxConns = 2
	srv := startServer(t, Config{MaxConns: maxConns, IdleTimeout: time.Hour}, nil)
	type idleConn struct {
		conn net.Conn
		br   *bufio.Reader
	}
	var idle []idleConn
	for range maxConns {
		conn := dial(t, srv)
		br := bufio.NewReader(conn)
		if got := get(t, conn, br, "/healthz"); got != http.StatusOK {
			t.Fatalf("GET /healthz = %d, want 200", got)
		}
		idle = append(idle, idleConn{conn, br})
	}

	probe := dial(t, srv)
	if got := get(t, probe, bufio.NewReader(probe), "/healthz"); got != http.StatusOK {
		t.Errorf("the probe past the cap got %d, want 200", got)
	}
	// The probe's slot came from an idle connection the server closed. (A
	// connection the server saw turn idle only after the probe had its slot
	// may stay: nobody waits for it.)
	closed := make(chan bool, len(idle))
	for _, c := range idle {
		go func() {
			c.conn.SetReadDeadline(time.Now().Add(patience))
			_, err := io.Copy(io.Discard, c.br)
			closed <- !errors.Is(err, os.ErrDeadlineExceeded)
		}()
	}
	for range idle {
		if <-closed {
			return
		}
	}
	t.Errorf("no idle connection was closed while a probe waited for its slot, in %s", patience)
}

func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		want    Config
		wantErr string
	}{
		{
			name: "zero: defaults",
			cfg:  Config{Addr: ":8080"},
			want: Config{Addr: ":8080", ReadTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: 10 * time.Second, MaxConns: 32},
		},
		{
			name: "set: kept",
			cfg:  Config{ReadTimeout: time.Millisecond, WriteTimeout: time.Second, IdleTimeout: time.Minute, MaxConns: 1},
			want: Config{ReadTimeout: time.Millisecond, WriteTimeout: time.Second, IdleTimeout: time.Minute, MaxConns: 1},
		},
		{
			name:    "negative: refused",
			cfg:     Config{ReadTimeout: -1, MaxConns: -1},
			wantErr: "health server: ReadTimeout is negative (-1ns)\nhealth server: MaxConns is negative (-1)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.withDefaults()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("withDefaults() error = %v, want %q", err, tt.wantErr)
				}
				if _, err := Start(tt.cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "negative") {
					t.Errorf("Start(%+v) error = %v, want it refused", tt.cfg, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("withDefaults() = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
