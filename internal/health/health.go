// Package health serves the process's liveness and readiness probes, and
// its metrics beside them.
package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Handler serves GET /healthz, 200 while the process runs, GET /readyz,
// 200 while ready reports true and 503 otherwise, and GET /metrics with
// metrics when it is not nil.
func Handler(ready func() bool, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "not connected to Slack", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	return mux
}

// The defaults of Config. The server's clients are a kubelet or a container
// runtime probing every few seconds with one small GET on a fresh
// connection, and a metrics scraper: none of them needs a connection held
// for long, and anyone else who reaches the port must not be able to hold
// one.
const (
	// DefaultReadTimeout bounds reading a whole request, headers and body.
	// A probe sends about a hundred bytes at once; five seconds leave room
	// for a starved node, not for a client that trickles its headers.
	DefaultReadTimeout = 5 * time.Second
	// DefaultWriteTimeout bounds the time from the end of a request's
	// headers to the end of its answer: the longest is a /metrics scrape,
	// and ten seconds is Prometheus's own default scrape timeout.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultIdleTimeout closes a keep-alive connection that sends no new
	// request. A kubelet opens a connection per probe and a scraper comes
	// back every 15 s or more, so keeping one longer saves nobody anything.
	DefaultIdleTimeout = 10 * time.Second
	// DefaultMaxConns caps the connections served at once: a few times
	// what the probes and a scraper or two use, and at about 20 KiB a
	// connection, a bound nobody notices.
	DefaultMaxConns = 32
)

// maxHeaderBytes bounds a request's headers: a probe's are about a hundred
// bytes, and net/http's default of 1 MiB is memory a stranger could make
// every connection hold.
const maxHeaderBytes = 8 << 10

// Config configures the probe server. Every zero field takes its default,
// so Config{Addr: addr} is what production runs; tests shorten the
// time-outs.
type Config struct {
	Addr string // host:port to listen on

	ReadTimeout  time.Duration // 0 means DefaultReadTimeout
	WriteTimeout time.Duration // 0 means DefaultWriteTimeout
	IdleTimeout  time.Duration // 0 means DefaultIdleTimeout
	// MaxConns is how many connections are served at once; 0 means
	// DefaultMaxConns. Past it, a new connection waits for a slot, and the
	// idle keep-alive connections are closed to make one.
	MaxConns int
}

// withDefaults returns cfg with its zero fields set to their defaults, or
// an error naming a negative one.
func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	for _, f := range []struct {
		name string
		d    *time.Duration
		def  time.Duration
	}{
		{"ReadTimeout", &cfg.ReadTimeout, DefaultReadTimeout},
		{"WriteTimeout", &cfg.WriteTimeout, DefaultWriteTimeout},
		{"IdleTimeout", &cfg.IdleTimeout, DefaultIdleTimeout},
	} {
		switch {
		case *f.d == 0:
			*f.d = f.def
		case *f.d < 0:
			errs = append(errs, fmt.Errorf("health server: %s is negative (%s)", f.name, *f.d))
		}
	}
	switch {
	case cfg.MaxConns == 0:
		cfg.MaxConns = DefaultMaxConns
	case cfg.MaxConns < 0:
		errs = append(errs, fmt.Errorf("health server: MaxConns is negative (%d)", cfg.MaxConns))
	}
	return cfg, errors.Join(errs...)
}

// Server is a running probe server.
type Server struct {
	srv *http.Server
	ln  net.Listener
	err chan error
}

// Start listens on cfg.Addr and serves Handler(ready, metrics) until
// Shutdown.
func Start(cfg Config, ready func() bool, metrics http.Handler) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("health server: %w", err)
	}
	limited := newLimitListener(ln, cfg.MaxConns)
	s := &Server{
		srv: &http.Server{
			Handler:           Handler(ready, metrics),
			ReadHeaderTimeout: cfg.ReadTimeout,
			ReadTimeout:       cfg.ReadTimeout,
			WriteTimeout:      cfg.WriteTimeout,
			IdleTimeout:       cfg.IdleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ConnState:         limited.track,
		},
		ln:  limited,
		err: make(chan error, 1),
	}
	go func() { s.err <- s.srv.Serve(limited) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops the server, waiting for open requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("health server: %w", err)
	}
	if err := <-s.err; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("health server: %w", err)
	}
	return nil
}
