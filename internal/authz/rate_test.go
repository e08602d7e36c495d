package authz_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/store"
)

// fakeStore is a store.Store whose Take and Untake count in fixed windows
// that start at multiples of the window on its clock, as a real store's
// windows do. It records every Take and Untake, can fail them, and, once
// blocked, holds them until their context ends. The claim methods are not
// used by the Limiter and fail.
type fakeStore struct {
	clock *fakeClock

	mu      sync.Mutex
	counts  map[string]int // by key and window start
	calls   []string       // "take key limit window" or "untake key window"
	err     error          // when set, Take and Untake fail with it
	blocked bool           // when set, Take and Untake wait for their context
}

var _ store.Store = (*fakeStore)(nil)

func newFakeStore(clock *fakeClock) *fakeStore {
	return &fakeStore{clock: clock, counts: make(map[string]int)}
}

// bucket returns the key of the window of length window that holds now,
// and when it ends.
func (s *fakeStore) bucket(key string, window time.Duration) (string, time.Time) {
	now := s.clock.Now()
	start := now.Truncate(window)
	return key + "@" + start.Format(time.RFC3339Nano), start.Add(window)
}

func (s *fakeStore) wait(ctx context.Context) error {
	s.mu.Lock()
	blocked, err := s.blocked, s.err
	s.mu.Unlock()
	if blocked {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

func (s *fakeStore) Take(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	s.mu.Lock()
	s.calls = append(s.calls, "take "+key+" "+strconv.Itoa(limit)+" "+window.String())
	s.mu.Unlock()
	if err := s.wait(ctx); err != nil {
		return false, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, end := s.bucket(key, window)
	if s.counts[b] >= limit {
		return false, end.Sub(s.clock.Now()), nil
	}
	s.counts[b]++
	return true, 0, nil
}

func (s *fakeStore) Untake(ctx context.Context, key string, window time.Duration) error {
	s.mu.Lock()
	s.calls = append(s.calls, "untake "+key+" "+window.String())
	s.mu.Unlock()
	if err := s.wait(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, _ := s.bucket(key, window); s.counts[b] > 0 {
		s.counts[b]--
	}
	return nil
}

func (s *fakeStore) FirstSeen(context.Context, string, time.Duration) (bool, error) {
	return false, errors.New("fakeStore: FirstSeen not implemented")
}

func (s *fakeStore) Claim(context.Context, string, store.Holder, time.Duration) (store.Holder, bool, error) {
	return store.Holder{}, false, errors.New("fakeStore: Claim not implemented")
}

func (s *fakeStore) Release(context.Context, string, store.Holder, time.Duration) error {
	return errors.New("fakeStore: Release not implemented")
}

func (s *fakeStore) allCalls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *fakeStore) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *fakeStore) block() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked = true
}

var errStore = errors.New("redis: connection refused")

// step is one call on a Limiter in a scripted test.
type step struct {
	advance time.Duration // move the clock first
	user    string
	untake  bool // Untake instead of Take

	want authz.RateDecision // for a Take
}

func TestLimiter(t *testing.T) {
	within := func(u string) authz.RateDecision {
		return authz.RateDecision{Allowed: true, Counted: true, Reason: "user " + u + " within 3/m"}
	}
	past := func(u string, retry time.Duration) authz.RateDecision {
		return authz.RateDecision{RetryAfter: retry, Reason: "user " + u + " past 3/m, retry in " + retry.String()}
	}
	// The clock starts at 09:00:00; windows are whole minutes.
	tests := []struct {
		name      string
		steps     []step
		wantCalls []string
	}{
		{
			name: "three per minute, the fourth refused until the window ends",
			steps: []step{
				{advance: 10 * time.Second, user: "U1", want: within("U1")},
				{user: "U1", want: within("U1")},
				{advance: 5 * time.Second, user: "U1", want: within("U1")},
				{advance: 5 * time.Second, user: "U1", want: past("U1", 40*time.Second)},
				{advance: 39 * time.Second, user: "U1", want: past("U1", time.Second)},
			},
			wantCalls: []string{"take rate:U1 3 1m0s", "take rate:U1 3 1m0s", "take rate:U1 3 1m0s", "take rate:U1 3 1m0s", "take rate:U1 3 1m0s"},
		},
		{
			name: "the count resets with the next window",
			steps: []step{
				{user: "U1", want: within("U1")},
				{user: "U1", want: within("U1")},
				{user: "U1", want: within("U1")},
				{advance: 59 * time.Second, user: "U1", want: past("U1", time.Second)},
				{advance: time.Second, user: "U1", want: within("U1")},
				{user: "U1", want: within("U1")},
				{user: "U1", want: within("U1")},
				{user: "U1", want: past("U1", time.Minute)},
			},
		},
		{
			name: "each requester has their own count",
			steps: []step{
				{user: "U1", want: within("U1")},
				{user: "U1", want: within("U1")},
				{user: "U1", want: within("U1")},
				{user: "U1", want: past("U1", time.Minute)},
				{user: "U2", want: within("U2")},
				{user: "W3", want: within("W3")},
			},
		},
		{
			name: "a transfer given back does not count",
			steps: []step{
				{user: "U1", want: within("U1")},
				{user: "U1", want: within("U1")},
				{user: "U1", want: within("U1")},
				{user: "U1", untake: true},
				{user: "U1", want: within("U1")},
				{user: "U1", want: past("U1", time.Minute)},
			},
			wantCalls: []string{
				"take rate:U1 3 1m0s", "take rate:U1 3 1m0s", "take rate:U1 3 1m0s",
				"untake rate:U1 1m0s",
				"take rate:U1 3 1m0s", "take rate:U1 3 1m0s",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			s := newFakeStore(clock)
			l := authz.NewLimiter(s, authz.RateLimit{N: 3, Window: time.Minute})
			for i, st := range tt.steps {
				clock.Advance(st.advance)
				if st.untake {
					if err := l.Untake(t.Context(), st.user); err != nil {
						t.Fatalf("step %d: Untake(%s): %v", i+1, st.user, err)
					}
					continue
				}
				if got := l.Take(t.Context(), st.user); got != st.want {
					t.Errorf("step %d, at %s: Take(%s) = %+v, want %+v", i+1, clock.Now().Format("15:04:05"), st.user, got, st.want)
				}
			}
			if tt.wantCalls != nil {
				if got := s.allCalls(); !slices.Equal(got, tt.wantCalls) {
					t.Errorf("store calls = %q, want %q", got, tt.wantCalls)
				}
			}
		})
	}
}

func TestLimiterOff(t *testing.T) {
	for _, r := range []authz.RateLimit{{}, {N: 0, Window: time.Minute}, {N: 5}} {
		t.Run(r.String(), func(t *testing.T) {
			// A nil store would panic if the Limiter used it.
			l := authz.NewLimiter(nil, r)
			want := authz.RateDecision{Allowed: true, Reason: "rate limit off"}
			for i := range 100 {
				if got := l.Take(t.Context(), "U1"); got != want {
					t.Fatalf("Take #%d = %+v, want %+v", i+1, got, want)
				}
			}
			if err := l.Untake(t.Context(), "U1"); err != nil {
				t.Errorf("Untake = %v, want nil", err)
			}
		})
	}
}

// TestLimiterFailsOpen checks that a store that fails lets transfers
// through uncounted, and says why for the log.
func TestLimiterFailsOpen(t *testing.T) {
	clock := newFakeClock()
	s := newFakeStore(clock)
	l := authz.NewLimiter(s, authz.RateLimit{N: 1, Window: time.Hour})
	if got := l.Take(t.Context(), "U1"); !got.Allowed || !got.Counted {
		t.Fatalf("first Take = %+v, want allowed and counted", got)
	}

	s.fail(errStore)
	for i := range 3 {
		got := l.Take(t.Context(), "U1")
		if !got.Allowed || got.Counted || got.RetryAfter != 0 {
			t.Errorf("Take #%d with a failing store = %+v, want allowed, not counted", i+2, got)
		}
		if !errors.Is(got.Err, errStore) {
			t.Errorf("Take #%d: Err = %v, want the store's error", i+2, got.Err)
		}
		if want := "rate not checked: rate of user U1: redis: connection refused"; got.Reason != want {
			t.Errorf("Take #%d: Reason = %q, want %q", i+2, got.Reason, want)
		}
	}
	if err := l.Untake(t.Context(), "U1"); !errors.Is(err, errStore) || err.Error() != "give back the rate of user U1: redis: connection refused" {
		t.Errorf("Untake with a failing store = %v, want the store's error with the user", err)
	}

	// The store answers again: the count it kept still holds.
	s.fail(nil)
	if got := l.Take(t.Context(), "U1"); got.Allowed {
		t.Errorf("Take once the store answers again = %+v, want refused: the first transfer still counts", got)
	}
}

// TestLimiterStoreHangs checks that a store that never answers holds a
// transfer for at most two seconds, then lets it through.
func TestLimiterStoreHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFakeStore(newFakeClock())
		s.block()
		l := authz.NewLimiter(s, authz.RateLimit{N: 10, Window: time.Minute})

		start := time.Now()
		got := l.Take(t.Context(), "U1")
		if waited := time.Since(start); waited != 2*time.Second {
			t.Errorf("Take waited %v for a hung store, want 2s", waited)
		}
		if !got.Allowed || got.Counted || !errors.Is(got.Err, context.DeadlineExceeded) {
			t.Errorf("Take with a hung store = %+v, want allowed, not counted, with the deadline as Err", got)
		}

		start = time.Now()
		err := l.Untake(t.Context(), "U1")
		if waited := time.Since(start); waited != 2*time.Second {
			t.Errorf("Untake waited %v for a hung store, want 2s", waited)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Untake with a hung store = %v, want the deadline", err)
		}
	})
}

// TestLimiterConcurrent checks that concurrent transfers of one requester
// get exactly N through in a window: the Limiter adds no read-then-write of
// its own around the store's atomic Take.
func TestLimiterConcurrent(t *testing.T) {
	s := newFakeStore(newFakeClock())
	l := authz.NewLimiter(s, authz.RateLimit{N: 10, Window: time.Minute})
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
	)
	for range 50 {
		wg.Go(func() {
			if l.Take(t.Context(), "U1").Allowed {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 10 {
		t.Errorf("%d of 50 concurrent transfers allowed at 10/m, want 10", allowed)
	}
}

func TestRateLimitString(t *testing.T) {
	tests := []struct {
		r       authz.RateLimit
		want    string
		wantOff bool
	}{
		{authz.RateLimit{N: 10, Window: time.Minute}, "10/m", false},
		{authz.RateLimit{N: 5, Window: time.Second}, "5/s", false},
		{authz.RateLimit{N: 30, Window: time.Hour}, "30/h", false},
		{authz.RateLimit{N: 3, Window: 2 * time.Minute}, "3/2m0s", false},
		{authz.RateLimit{}, "0", true},
		{authz.RateLimit{N: 10}, "0", true},
		{authz.RateLimit{Window: time.Minute}, "0", true},
		{authz.RateLimit{N: -1, Window: time.Minute}, "0", true},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.r, got, tt.want)
		}
		if got := tt.r.Off(); got != tt.wantOff {
			t.Errorf("%#v.Off() = %t, want %t", tt.r, got, tt.wantOff)
		}
	}
}

func (s *fakeStore) Remember(context.Context, string, store.Recent, int, time.Duration) error {
	return errors.New("fakeStore: Remember not implemented")
}

func (s *fakeStore) Recent(context.Context, string, int) ([]store.Recent, error) {
	return nil, errors.New("fakeStore: Recent not implemented")
}
