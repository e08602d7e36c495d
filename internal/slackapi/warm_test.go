package slackapi

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/conntest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// idleServer is a Slack that closes connections left idle for its idle
// time-out, as Slack's front ends do, and counts the connections it
// accepted and closed and the auth.test calls it took.
type idleServer struct {
	*conntest.Server
	authTests  atomic.Int32
	authStatus int // auth.test's HTTP status; 0 means 200

	// Once paired is set, chat.postMessage waits for a second one to
	// arrive before it answers, so that the two are sent at once, as the
	// thread reply and the ✅ are.
	paired   atomic.Bool
	pairMu   sync.Mutex
	arrived  int
	together chan struct{} // closed when the second arrives
}

func startIdleServer(t *testing.T, idle time.Duration, authStatus int) *idleServer {
	t.Helper()
	s := &idleServer{authStatus: authStatus, together: make(chan struct{})}
	s.Server = conntest.Start(t, idle, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/chat.postMessage") && s.paired.Load() {
			s.pairMu.Lock()
			if s.arrived++; s.arrived == 2 {
				close(s.together)
			}
			s.pairMu.Unlock()
			select {
			case <-s.together:
			case <-time.After(20 * time.Second):
			}
		}
		if strings.HasSuffix(r.URL.Path, "/auth.test") {
			s.authTests.Add(1)
			if s.authStatus != 0 {
				w.WriteHeader(s.authStatus)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true,"ts":"1.2","user_id":"UBOT"}`))
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

// TestKeepWarm checks that after a quiet period longer than Slack's idle
// time-out the next transfer's two requests at once (the thread reply and
// the ✅) find their connections open when the bot kept two warm, that
// with one kept warm the second dials, and that both dial when it kept
// none.
func TestKeepWarm(t *testing.T) {
	tests := []struct {
		name   string
		idle   time.Duration // the server's idle time-out
		conns  int           // kept warm
		wanted bool
		// quiet waits out the quiet period, until it has lasted longer
		// than the server's idle time-out.
		quiet      func(t *testing.T, s *idleServer, cc *conntest.CloseCounter, asked *atomic.Int32)
		wantReused int // of the two requests after the quiet period
		wantOpened int32
	}{
		{
			name: "two kept warm", idle: time.Second, conns: 2, wanted: true,
			quiet: func(t *testing.T, s *idleServer, _ *conntest.CloseCounter, _ *atomic.Int32) {
				// 25 ticks 100 ms apart: 2.4 s at least, more than twice the
				// idle time-out.
				waitUntil(t, "25 ticks of 2 auth.test calls", func() bool { return s.authTests.Load() >= 50 })
			},
			wantReused: 2, wantOpened: 2,
		},
		{
			name: "one kept warm: the second request dials", idle: time.Second, conns: 1, wanted: true,
			quiet: func(t *testing.T, s *idleServer, _ *conntest.CloseCounter, _ *atomic.Int32) {
				waitUntil(t, "25 auth.test calls", func() bool { return s.authTests.Load() >= 25 })
			},
			wantReused: 1, wantOpened: 2,
		},
		{
			name: "not wanted: the server closes the idle connection", idle: 200 * time.Millisecond, conns: 2, wanted: false,
			quiet: func(t *testing.T, s *idleServer, cc *conntest.CloseCounter, asked *atomic.Int32) {
				waitUntil(t, "the server closed the idle connection", func() bool { return s.Closed.Load() >= 1 })
				waitUntil(t, "the client saw it closed", func() bool { return cc.Closed() >= 1 })
				waitUntil(t, "wanted was asked", func() bool { return asked.Load() >= 1 })
			},
			wantReused: 0, wantOpened: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startIdleServer(t, tt.idle, 0)
			var cc conntest.CloseCounter
			api := New(Config{BotToken: "xoxb-1", AppToken: "xapp-1", URL: s.URL + "/api/", HTTPClient: cc.Client(10 * time.Second)})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := api.PostMessage(ctx, PriorityAnnounce, Message{Channel: "C1", Text: "first"}); err != nil {
				t.Fatalf("first message: %v", err)
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
				api.KeepWarm(warmCtx, 100*time.Millisecond, tt.conns, wanted, zap.New(core))
			}()
			tt.quiet(t, s, &cc, &asked)
			// Stopped between two ticks: a request cut short by the cancel
			// would take its connection with it. A tick asked after this
			// follows the last one's requests, done.
			enough.Store(true)
			asked0 := asked.Load()
			waitUntil(t, "a tick after the quiet period", func() bool { return asked.Load() > asked0 })
			stop()
			<-done

			s.paired.Store(true)
			var reused atomic.Int32
			var sent sync.WaitGroup
			for _, text := range []string{"reply", "mark"} {
				sent.Go(func() {
					traced := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
						if i.Reused {
							reused.Add(1)
						}
					}})
					if _, err := api.PostMessage(traced, PriorityReply, Message{Channel: "C1", Text: text}); err != nil {
						t.Errorf("%s after the quiet period: %v", text, err)
					}
				})
			}
			sent.Wait()
			if n := reused.Load(); n != int32(tt.wantReused) {
				t.Errorf("%d of the 2 requests after the quiet period took an open connection, want %d", n, tt.wantReused)
			}
			if n := s.Opened.Load(); n != tt.wantOpened {
				t.Errorf("connections opened = %d, want %d", n, tt.wantOpened)
			}
			if !tt.wanted && s.authTests.Load() != 0 {
				t.Errorf("%d auth.test calls while no traffic was expected, want none", s.authTests.Load())
			}
			for _, e := range logs.All() {
				if e.Level != zapcore.DebugLevel {
					t.Errorf("logged %q at %v, want debug only", e.Message, e.Level)
				}
			}
			if tt.wanted && logs.FilterField(zap.Bool("reused", true)).Len() == 0 {
				t.Error("no debug line says a warm call found its connection open (reused=true)")
			}
		})
	}
}

// TestKeepWarmFailures checks that a failing auth.test is tried once per
// tick, never retried, and never ends the warming; cancelling ctx does.
func TestKeepWarmFailures(t *testing.T) {
	tests := []struct {
		name   string
		status int
	}{
		{"server error", http.StatusInternalServerError},
		{"rate limited", http.StatusTooManyRequests},
		{"token refused", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startIdleServer(t, time.Minute, tt.status)
			api := New(Config{BotToken: "xoxb-1", AppToken: "xapp-1", URL: s.URL + "/api/", RetryBaseDelay: time.Millisecond})
			core, logs := observer.New(zapcore.DebugLevel)
			var asked atomic.Int32
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				api.KeepWarm(ctx, 20*time.Millisecond, 1, func() bool { asked.Add(1); return true }, zap.New(core))
			}()
			waitUntil(t, "5 ticks", func() bool { return asked.Load() >= 5 && int(s.authTests.Load()) >= 4 })
			cancel()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("KeepWarm did not return after its context ended")
			}
			if calls, ticks := s.authTests.Load(), asked.Load(); calls > ticks {
				t.Errorf("%d auth.test calls in %d ticks: a failed warm call was retried", calls, ticks)
			}
			for _, e := range logs.All() {
				if e.Level != zapcore.DebugLevel {
					t.Errorf("logged %q at %v, want debug only", e.Message, e.Level)
				}
			}
			if logs.FilterFieldKey("error").Len() == 0 {
				t.Error("no debug line carries the failure")
			}
		})
	}
}
