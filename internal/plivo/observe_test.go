package plivo_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// observation is one call of Config.Observe.
type observation struct {
	action, result string
	d              time.Duration
}

// Config.Observe hears of every request exactly once, retries included, with
// the result the metrics label it by.
func TestObserveOncePerRequest(t *testing.T) {
	tests := []struct {
		name      string
		responses []fakeplivo.Response
		refused   bool // Plivo's port refuses connections
		canceled  bool // the caller's context is over before the call
		timeout   time.Duration
		want      string
		posts     int // requests the fake saw
		atLeast   time.Duration
	}{
		{name: "201", responses: []fakeplivo.Response{{}}, want: "201", posts: 1},
		{name: "500", responses: []fakeplivo.Response{{Status: 500, Body: `{"error":"boom"}`}}, want: "500", posts: 1},
		{name: "404 with an empty body", responses: []fakeplivo.Response{{Status: 404, Body: " "}}, want: "404", posts: 1},
		{
			name: "429 retried, then 201: one request",
			responses: []fakeplivo.Response{
				{Status: 429, Header: http.Header{"Retry-After": {"0"}}},
				{},
			},
			want: "201", posts: 2,
		},
		{name: "a proxy's page", responses: []fakeplivo.Response{{Status: 502, Body: "<html>bad gateway</html>"}}, want: "502", posts: 1},
		{name: "closed without an answer", responses: []fakeplivo.Response{{Hijack: true}}, want: "connection_lost", posts: 1},
		{
			name: "no answer in time", responses: []fakeplivo.Response{{Delay: 5 * time.Second}},
			timeout: 300 * time.Millisecond, want: "timeout", posts: 1, atLeast: 300 * time.Millisecond,
		},
		{name: "nobody listening", refused: true, timeout: 300 * time.Millisecond, want: "unreachable"},
		{name: "caller gave up", canceled: true, responses: []fakeplivo.Response{{}}, want: "canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startPlivo(t)
			srv.Respond(tt.responses...)
			base := srv.URL()
			if tt.refused {
				base = fakeplivo.RefusedURL(t)
			}
			var mu sync.Mutex
			var seen []observation
			c := newClient(t, base, func(cfg *plivo.Config) {
				if tt.timeout > 0 {
					cfg.Timeout = tt.timeout
				}
				cfg.Observe = func(action, result string, d time.Duration) {
					mu.Lock()
					defer mu.Unlock()
					seen = append(seen, observation{action, result, d})
				}
			})
			ctx, cancel := context.WithCancel(context.Background())
			if tt.canceled {
				cancel()
			}
			defer cancel()
			began := time.Now()
			_, _ = c.ColdTransfer(ctx, mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14152223333"), plivo.RoleAgent)
			took := time.Since(began)

			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 1 {
				t.Fatalf("Observe called %d times (%v), want once", len(seen), seen)
			}
			if seen[0].result != tt.want {
				t.Errorf("result %q, want %q", seen[0].result, tt.want)
			}
			if seen[0].action != plivo.ActionColdTransfer {
				t.Errorf("action %q, want %q", seen[0].action, plivo.ActionColdTransfer)
			}
			if d := seen[0].d; d < tt.atLeast || d > took {
				t.Errorf("observed %v; want between %v and the call's %v", d, tt.atLeast, took)
			}
			if n := srv.Count(); n != tt.posts {
				t.Errorf("Plivo saw %d requests, want %d", n, tt.posts)
			}
		})
	}
}

// Config.Observe is told which action each request was, so that the metrics
// tell transfers from aborts.
func TestObserveNamesTheAction(t *testing.T) {
	for _, a := range actions {
		t.Run(a.name, func(t *testing.T) {
			srv := startPlivo(t)
			srv.Respond(fakeplivo.Response{Status: 500, Body: `{"error":"boom"}`})
			var seen []observation
			var mu sync.Mutex
			c := newClient(t, srv.URL(), func(cfg *plivo.Config) {
				cfg.Observe = func(action, result string, d time.Duration) {
					mu.Lock()
					defer mu.Unlock()
					seen = append(seen, observation{action, result, d})
				}
			})
			_, _ = a.call(t.Context(), c, mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"))
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 1 || seen[0].action != a.action || seen[0].result != "500" {
				t.Errorf("observed %+v, want one %s with result 500", seen, a.action)
			}
		})
	}
}
