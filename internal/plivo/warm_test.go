package plivo_test

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/coldtransfer/coldtransfer/internal/conntest"
	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// idlePlivo is a PHLO runner that closes connections left idle for its
// idle time-out and counts the connections it accepted and closed, and
// the reads of the PHLO it took.
type idlePlivo struct {
	*conntest.Server
	reads      atomic.Int32
	readStatus int // the GET's status; 0 means 200

	mu       sync.Mutex
	badReads []string // reads that were not a GET of the PHLO with the credentials
}

func startIdlePlivo(t *testing.T, idle time.Duration, readStatus int) *idlePlivo {
	t.Helper()
	s := &idlePlivo{readStatus: readStatus}
	s.Server = conntest.Start(t, idle, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"api_id":"a1","error":""}`))
			return
		}
		s.reads.Add(1)
		user, pass, _ := r.BasicAuth()
		if r.Method != http.MethodGet || r.URL.Path != "/v1/phlo/"+testPhlo || user != testAuthID || pass != testAuthToken || r.ContentLength > 0 {
			s.mu.Lock()
			s.badReads = append(s.badReads, r.Method+" "+r.URL.Path)
			s.mu.Unlock()
		}
		if s.readStatus != 0 {
			w.WriteHeader(s.readStatus)
		}
		_, _ = w.Write([]byte(`{"api_id":"a2","phlo_id":"` + testPhlo + `","name":"transfers","created_on":"2024-01-01 00:00:00+00:00"}`))
	}))
	return s
}

// waitUntil polls cond until it holds, failing the test after 20 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestKeepWarm checks that after a quiet period longer than Plivo's idle
// time-out the next transfer finds its connection open when the client
// kept it warm, and has to dial a new one when it did not.
func TestKeepWarm(t *testing.T) {
	tests := []struct {
		name   string
		idle   time.Duration // the server's idle time-out
		wanted bool
		// quiet waits out the quiet period, until it has lasted longer
		// than the server's idle time-out.
		quiet      func(t *testing.T, s *idlePlivo, cc *conntest.CloseCounter, asked *atomic.Int32)
		wantReused bool
		wantOpened int32
	}{
		{
			name: "kept warm", idle: time.Second, wanted: true,
			quiet: func(t *testing.T, s *idlePlivo, _ *conntest.CloseCounter, _ *atomic.Int32) {
				// 25 reads 100 ms apart: 2.4 s at least, more than twice the
				// idle time-out.
				waitUntil(t, "25 reads of the PHLO", func() bool { return s.reads.Load() >= 25 })
			},
			wantReused: true, wantOpened: 1,
		},
		{
			name: "not wanted: the server closes the idle connection", idle: 200 * time.Millisecond, wanted: false,
			quiet: func(t *testing.T, s *idlePlivo, cc *conntest.CloseCounter, asked *atomic.Int32) {
				waitUntil(t, "the server closed the idle connection", func() bool { return s.Closed.Load() >= 1 })
				waitUntil(t, "the client saw it closed", func() bool { return cc.Closed() >= 1 })
				waitUntil(t, "wanted was asked", func() bool { return asked.Load() >= 1 })
			},
			wantReused: false, wantOpened: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startIdlePlivo(t, tt.idle, 0)
			var cc conntest.CloseCounter
			c := newClient(t, s.URL, func(cfg *plivo.Config) { cfg.HTTPClient = cc.Client(0) })
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := c.ColdTransfer(ctx, mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"), plivo.RoleAgent); err != nil {
				t.Fatalf("first transfer: %v", err)
			}

			core, logs := observer.New(zapcore.DebugLevel)
			var asked atomic.Int32
			var enough atomic.Bool // the quiet period is over: no more warm requests
			wanted := func() bool {
				asked.Add(1)
				return tt.wanted && !enough.Load()
			}
			warmCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				c.KeepWarm(warmCtx, 100*time.Millisecond, wanted, zap.New(core))
			}()
			tt.quiet(t, s, &cc, &asked)
			// Stopped between two requests: one cut short by the cancel
			// would take its connection with it. A tick asked after this
			// follows the last request, done.
			enough.Store(true)
			asked0 := asked.Load()
			waitUntil(t, "a tick after the quiet period", func() bool { return asked.Load() > asked0 })
			stop()
			<-done

			var got httptrace.GotConnInfo
			traced := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { got = i }})
			if _, err := c.ColdTransfer(traced, mustEndpoint(t, "+14152226666"), mustEndpoint(t, "+14155550199"), plivo.RoleAgent); err != nil {
				t.Fatalf("transfer after the quiet period: %v", err)
			}
			if got.Reused != tt.wantReused {
				t.Errorf("the transfer after the quiet period took a reused connection: %v, want %v", got.Reused, tt.wantReused)
			}
			if n := s.Opened.Load(); n != tt.wantOpened {
				t.Errorf("connections opened = %d, want %d", n, tt.wantOpened)
			}
			if !tt.wanted && s.reads.Load() != 0 {
				t.Errorf("%d reads of the PHLO while no traffic was expected, want none", s.reads.Load())
			}
			s.mu.Lock()
			if len(s.badReads) > 0 {
				t.Errorf("warm requests were not a GET of the PHLO with the client's credentials and no body: %v", s.badReads)
			}
			s.mu.Unlock()
			for _, e := range logs.All() {
				if e.Level != zapcore.DebugLevel {
					t.Errorf("logged %q at %v, want debug only", e.Message, e.Level)
				}
			}
			if tt.wanted && logs.FilterField(zap.Bool("reused", true)).Len() == 0 {
				t.Error("no debug line says the warm read found its connection open (reused=true)")
			}
		})
	}
}

// TestKeepWarmFailures checks that a failing read is tried once per tick,
// never retried, never ends the warming and never logs the credentials;
// cancelling ctx ends it.
func TestKeepWarmFailures(t *testing.T) {
	tests := []struct {
		name   string
		status int  // the read's answer
		down   bool // nothing listens
	}{
		{name: "server error", status: http.StatusInternalServerError},
		{name: "rate limited", status: http.StatusTooManyRequests},
		{name: "credentials refused", status: http.StatusUnauthorized},
		{name: "unreachable", down: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startIdlePlivo(t, time.Minute, tt.status)
			url := s.URL
			if tt.down {
				url = fakeplivo.RefusedURL(t)
			}
			c := newClient(t, url, nil)
			core, logs := observer.New(zapcore.DebugLevel)
			var asked atomic.Int32
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				c.KeepWarm(ctx, 20*time.Millisecond, func() bool { asked.Add(1); return true }, zap.New(core))
			}()
			waitUntil(t, "5 warm requests", func() bool { return asked.Load() >= 5 && logs.Len() >= 4 })
			cancel()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("KeepWarm did not return after its context ended")
			}
			if reads, ticks := s.reads.Load(), asked.Load(); reads > ticks {
				t.Errorf("%d reads in %d ticks: a failed warm read was retried", reads, ticks)
			}
			for _, e := range logs.All() {
				if e.Level != zapcore.DebugLevel {
					t.Errorf("logged %q at %v, want debug only", e.Message, e.Level)
				}
				for _, f := range e.Context {
					if f.String == testAuthToken {
						t.Errorf("the auth token is in the log: %v", e.Context)
					}
				}
			}
			if tt.down && logs.FilterFieldKey("error").Len() == 0 {
				t.Error("no debug line carries the failure")
			}
		})
	}
}
