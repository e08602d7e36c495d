package slackapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slackStub answers requests with the statuses given, in order, and records
// when each came and what body it carried.
type slackStub struct {
	mu       sync.Mutex
	statuses []int
	retry    string
	times    []time.Time
	bodies   []string
}

func (s *slackStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := len(s.times)
	s.times = append(s.times, time.Now())
	s.bodies = append(s.bodies, string(body))
	status := s.statuses[min(i, len(s.statuses)-1)]
	s.mu.Unlock()
	if status == http.StatusTooManyRequests && s.retry != "" {
		w.Header().Set("Retry-After", s.retry)
	}
	w.WriteHeader(status)
	fmt.Fprint(w, `{"ok":true}`)
}

func TestRetryingDoer(t *testing.T) {
	cases := []struct {
		name       string
		statuses   []int
		retryAfter string
		timeout    time.Duration
		wantStatus int
		wantCalls  int
		minGap     time.Duration // between the first two calls
	}{
		{"ok at once", []int{200}, "", time.Minute, 200, 1, 0},
		{"429 waits for Retry-After", []int{429, 200}, "1", time.Minute, 200, 2, time.Second},
		{"5xx backs off and retries", []int{500, 503, 200}, "", time.Minute, 200, 3, 10 * time.Millisecond},
		{"4xx is final", []int{400}, "", time.Minute, 400, 1, 0},
		{"gives up after max attempts", []int{502}, "", time.Minute, 502, 4, 0},
		{"no wait past the deadline", []int{429, 200}, "30", time.Second, 429, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := &slackStub{statuses: tc.statuses, retry: tc.retryAfter}
			srv := httptest.NewServer(stub)
			defer srv.Close()
			d := &retryingDoer{client: srv.Client(), maxAttempts: 4, baseDelay: 10 * time.Millisecond, maxDelay: 50 * time.Millisecond, maxRetryAfter: 30 * time.Second}
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("channel=C1&text=hi"))
			resp, err := d.Do(req)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || len(stub.times) != tc.wantCalls {
				t.Errorf("status %d after %d calls, want %d after %d", resp.StatusCode, len(stub.times), tc.wantStatus, tc.wantCalls)
			}
			for i, b := range stub.bodies {
				if b != "channel=C1&text=hi" {
					t.Errorf("attempt %d sent body %q: the body must be replayed whole", i+1, b)
				}
			}
			if tc.minGap > 0 && len(stub.times) > 1 {
				if gap := stub.times[1].Sub(stub.times[0]); gap < tc.minGap {
					t.Errorf("retried after %v, want at least %v", gap, tc.minGap)
				}
			}
		})
	}
}

// brokenNetwork fails every request as a reset connection would.
type brokenNetwork struct{ calls atomic.Int32 }

func (b *brokenNetwork) RoundTrip(*http.Request) (*http.Response, error) {
	b.calls.Add(1)
	return nil, errors.New("read: connection reset by peer")
}

func TestRetryingDoerRetriesNetworkErrors(t *testing.T) {
	net := &brokenNetwork{}
	d := &retryingDoer{client: &http.Client{Transport: net}, maxAttempts: 3, baseDelay: time.Millisecond, maxDelay: time.Millisecond}
	req, _ := http.NewRequest(http.MethodPost, "http://slack.invalid/api/chat.postMessage", strings.NewReader("x"))
	_, err := d.Do(req)
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("Do = %v, want the network error after the retries", err)
	}
	if n := net.calls.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}
