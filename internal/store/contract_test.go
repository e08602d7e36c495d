package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// t0 is the tests' start time: 10 s into a minute, so that a one-minute
// window has 50 s left.
var t0 = time.Unix(1_700_000_000, 0).Truncate(time.Minute).Add(10 * time.Second)

// clock is a settable clock shared by a store and its test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// world is one store under test and the means to move its time forward.
type world struct {
	store   Store
	advance func(time.Duration)
	mr      *miniredis.Miniredis // nil for a store without Redis
}

// implementations are every store the contract must hold for. Each call
// returns a fresh, empty one.
var implementations = []struct {
	name string
	new  func(t *testing.T) world
}{
	{"memory", func(t *testing.T) world {
		c := &clock{now: t0}
		return world{store: NewMemory(MemoryConfig{Now: c.Now}), advance: c.add}
	}},
	{"redis", func(t *testing.T) world {
		c := &clock{now: t0}
		mr := miniredis.RunT(t)
		r := newTestRedis(t, mr, c)
		return world{store: r, mr: mr, advance: func(d time.Duration) { c.add(d); mr.FastForward(d) }}
	}},
	{"fallback on redis", func(t *testing.T) world {
		c := &clock{now: t0}
		mr := miniredis.RunT(t)
		f := NewFallback(newTestRedis(t, mr, c), NewMemory(MemoryConfig{Now: c.Now}), FallbackConfig{
			// The contract is about answers, not time: a loaded machine
			// must not make a call look like a Redis failure.
			Timeout:    10 * time.Second,
			OnFallback: func() { t.Error("fell back with Redis up") },
		})
		return world{store: f, mr: mr, advance: func(d time.Duration) { c.add(d); mr.FastForward(d) }}
	}},
	{"fallback on memory (redis down)", func(t *testing.T) world {
		c := &clock{now: t0}
		mr := miniredis.RunT(t)
		r := newTestRedis(t, mr, c)
		mr.Close()
		f := NewFallback(r, NewMemory(MemoryConfig{Now: c.Now}), FallbackConfig{})
		forceOutage(f)
		return world{store: f, advance: c.add}
	}},
}

func newTestRedis(t *testing.T, mr *miniredis.Miniredis, c *clock) *Redis {
	t.Helper()
	r := NewRedis(RedisConfig{Options: &redis.Options{Addr: mr.Addr()}, Now: c.Now})
	t.Cleanup(func() { r.Close() })
	return r
}

// forEach runs test against every implementation.
func forEach(t *testing.T, test func(t *testing.T, w world)) {
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			w := impl.new(t)
			test(t, w)
			if w.mr != nil {
				for _, k := range w.mr.Keys() {
					if !strings.HasPrefix(k, KeyPrefix) {
						t.Errorf("key %q lacks the prefix %q", k, KeyPrefix)
					}
				}
			}
		})
	}
}

func ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestFirstSeen(t *testing.T) {
	forEach(t, func(t *testing.T, w world) {
		steps := []struct {
			name    string
			advance time.Duration
			key     string
			want    bool
		}{
			{"new key", 0, "envelope:1", true},
			{"same key", 0, "envelope:1", false},
			{"another key", 0, "trigger:a", true},
			{"just before its TTL", 30*time.Minute - 10*time.Millisecond, "envelope:1", false},
			{"after its TTL", 20 * time.Millisecond, "envelope:1", true},
			{"recorded again", 0, "envelope:1", false},
		}
		for _, s := range steps {
			w.advance(s.advance)
			got, err := w.store.FirstSeen(ctx(t), s.key, 30*time.Minute)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got != s.want {
				t.Errorf("%s: FirstSeen(%q) = %v, want %v", s.name, s.key, got, s.want)
			}
		}
	})
}

func TestClaimAndRelease(t *testing.T) {
	alice := Holder{Token: "req-a", User: "UALICE", Channel: "CFLOOR"}
	bob := Holder{Token: "req-b", User: "UBOB", Channel: "COTHER"}
	carol := Holder{Token: "req-c", User: "UCAROL", Channel: "CFLOOR"}
	const call = "call:+14152223333"
	const ttl = time.Minute

	type step struct {
		name    string
		advance time.Duration
		do      func(context.Context, Store) (Holder, bool, error)
		want    Holder // the holder in force afterwards
		wantOK  bool
	}
	claim := func(h Holder) func(context.Context, Store) (Holder, bool, error) {
		return func(ctx context.Context, s Store) (Holder, bool, error) { return s.Claim(ctx, call, h, ttl) }
	}
	release := func(h Holder, keep time.Duration) func(context.Context, Store) (Holder, bool, error) {
		return func(ctx context.Context, s Store) (Holder, bool, error) {
			return Holder{}, false, s.Release(ctx, call, h, keep)
		}
	}
	forEach(t, func(t *testing.T, w world) {
		steps := []step{
			{"alice claims a free call", 0, claim(alice), alice, true},
			{"bob is refused, told alice has it", 0, claim(bob), alice, false},
			{"alice claims again: renewed", 0, claim(alice), alice, true},
			{"bob cannot release alice's claim", 0, release(bob, 0), Holder{}, false},
			{"so bob is still refused", 0, claim(bob), alice, false},
			{"alice releases at once", 0, release(alice, 0), Holder{}, false},
			{"bob claims the freed call", 0, claim(bob), bob, true},
			{"a late release by alice leaves bob's claim", 0, release(alice, 0), Holder{}, false},
			{"carol is refused, told bob has it", 0, claim(carol), bob, false},
			{"bob releases keeping it 15 s", 0, release(bob, 15*time.Second), Holder{}, false},
			{"carol refused within the 15 s", 14 * time.Second, claim(carol), bob, false},
			{"carol claims after the 15 s", 2 * time.Second, claim(carol), carol, true},
			{"alice refused while carol's claim lives", ttl - 10*time.Millisecond, claim(alice), carol, false},
			{"the claim expires after its TTL", 20 * time.Millisecond, claim(alice), alice, true},
			{"alice's claim lapses before her transfer is over", ttl + time.Second, claim(carol), carol, true},
			{"carol releases at once", 0, release(carol, 0), Holder{}, false},
			{"alice's release takes the lapsed claim again for the hold", 0, release(alice, 15*time.Second), Holder{}, false},
			{"bob refused within that hold", 14 * time.Second, claim(bob), alice, false},
			{"bob claims after it", 2 * time.Second, claim(bob), bob, true},
			{"a late release at once by alice leaves bob's claim", 0, release(alice, 0), Holder{}, false},
			{"so bob still holds the call", 0, claim(carol), bob, false},
		}
		for _, s := range steps {
			w.advance(s.advance)
			got, ok, err := s.do(ctx(t), w.store)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got != s.want || ok != s.wantOK {
				t.Errorf("%s: got %+v, %v; want %+v, %v", s.name, got, ok, s.want, s.wantOK)
			}
		}
		for _, h := range []Holder{{User: "U1", Channel: "C1"}, {Token: "t", User: "<!here>", Channel: "C1"},
			{Token: "t", User: "U1", Channel: "C1\n"}, {Token: "t\n", User: "U1", Channel: "C1"}, {Token: "t", User: "U1"}} {
			if _, _, err := w.store.Claim(ctx(t), "other", h, ttl); err == nil {
				t.Errorf("a claim by the malformed holder %q was accepted", h)
			}
		}
		if err := w.store.Release(ctx(t), "other", Holder{}, 0); err == nil {
			t.Error("a release without a token was accepted")
		}
	})
}

func TestTakeCountsInFixedWindows(t *testing.T) {
	const window = time.Minute
	forEach(t, func(t *testing.T, w world) {
		type step struct {
			name      string
			advance   time.Duration
			key       string
			untake    bool
			wantOK    bool
			wantRetry time.Duration // when refused: t0 is 10 s into its minute
		}
		steps := []step{
			{name: "first", key: "U1", wantOK: true},
			{name: "second", key: "U1", wantOK: true},
			{name: "third is past the limit", key: "U1", wantRetry: 50 * time.Second},
			{name: "refused again, later", advance: 20 * time.Second, key: "U1", wantRetry: 30 * time.Second},
			{name: "another key has its own count", key: "U2", wantOK: true},
			{name: "one given back", key: "U1", untake: true},
			{name: "so one more fits: the refusals counted nothing", key: "U1", wantOK: true},
			{name: "and then no more", key: "U1", wantRetry: 30 * time.Second},
			{name: "the next window starts afresh", advance: 30 * time.Second, key: "U1", wantOK: true},
			{name: "its second", key: "U1", wantOK: true},
			{name: "its third refused", key: "U1", wantRetry: time.Minute},
			{name: "untake of a key never taken", key: "U3", untake: true},
			{name: "does not go below zero", key: "U3", wantOK: true},
			{name: "U3's second", key: "U3", wantOK: true},
			{name: "U3's third refused", key: "U3", wantRetry: time.Minute},
		}
		for _, s := range steps {
			w.advance(s.advance)
			if s.untake {
				if err := w.store.Untake(ctx(t), s.key, window); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				continue
			}
			ok, retry, err := w.store.Take(ctx(t), s.key, 2, window)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if ok != s.wantOK || retry != s.wantRetry {
				t.Errorf("%s: Take = %v, retry after %v; want %v, %v", s.name, ok, retry, s.wantOK, s.wantRetry)
			}
		}
		if ok, _, err := w.store.Take(ctx(t), "U4", 0, window); ok || err != nil {
			t.Errorf("Take with limit 0 = %v, %v; want refused", ok, err)
		}
		if _, _, err := w.store.Take(ctx(t), "U4", 1, 0); err == nil {
			t.Error("Take with a zero window was accepted")
		}
	})
}

// Concurrent callers, as on several replicas: exactly one wins a key or a
// claim, and a limit is never exceeded.
func TestAtomicUnderConcurrency(t *testing.T) {
	const n = 32
	forEach(t, func(t *testing.T, w world) {
		var seen, claimed, took atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 3*n)
		for i := range n {
			wg.Go(func() {
				if first, err := w.store.FirstSeen(ctx(t), "view:V1", time.Minute); err != nil {
					errs <- err
				} else if first {
					seen.Add(1)
				}
				if _, ok, err := w.store.Claim(ctx(t), "call:X", Holder{Token: fmt.Sprint("t", i), User: "U1", Channel: "C1"}, time.Minute); err != nil {
					errs <- err
				} else if ok {
					claimed.Add(1)
				}
				if ok, _, err := w.store.Take(ctx(t), "U1", 5, time.Hour); err != nil {
					errs <- err
				} else if ok {
					took.Add(1)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if seen.Load() != 1 || claimed.Load() != 1 || took.Load() != 5 {
			t.Errorf("of %d concurrent callers: %d saw the key first (want 1), %d claimed (want 1), %d took (want 5)",
				n, seen.Load(), claimed.Load(), took.Load())
		}
	})
}

// A claim value that the bot did not write (another program, an operator's
// SET without expiry) is stale: taken over, never quoted to a requester or
// left to block the call for ever.
func TestRedisStaleClaimsAreTakenOver(t *testing.T) {
	c := &clock{now: t0}
	mr := miniredis.RunT(t)
	r := newTestRedis(t, mr, c)
	alice := Holder{Token: "req-a", User: "UALICE", Channel: "CFLOOR"}
	const key = KeyPrefix + "claim:call:X"
	for _, tc := range []struct {
		name, value string
		ttl         time.Duration
	}{
		{"mrkdwn in the holder", "tok\n<!here>\n<https://evil.example|click>", time.Minute},
		{"one line", "anything", time.Minute},
		{"a well-formed holder without expiry", "tok\nUBOB\nCOTHER", 0},
		{"an empty value", "", time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mr.Set(key, tc.value)
			if tc.ttl > 0 {
				mr.SetTTL(key, tc.ttl)
			}
			cur, ok, err := r.Claim(ctx(t), "call:X", alice, time.Minute)
			if err != nil || !ok || cur != alice {
				t.Fatalf("Claim over the stale value %q = %+v, %v, %v; want alice's claim", tc.value, cur, ok, err)
			}
			if got, _ := mr.Get(key); got != "req-a\nUALICE\nCFLOOR" {
				t.Errorf("value after the claim = %q", got)
			}
			if ttl := mr.TTL(key); ttl <= 0 || ttl > time.Minute {
				t.Errorf("claim TTL after taking over = %v, want the claim's minute", ttl)
			}
			mr.Del(key)
		})
	}
	// A release that finds a stale value in place of its lapsed claim takes
	// it over for the hold too.
	mr.Set(key, "junk")
	if err := r.Release(ctx(t), "call:X", alice, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := mr.Get(key); got != "req-a\nUALICE\nCFLOOR" || mr.TTL(key) != 15*time.Second {
		t.Errorf("after releasing over a stale value: %q for %v, want alice's claim for 15s", got, mr.TTL(key))
	}
}

// forceOutage puts f in an outage, as if Redis had failed for longer than
// OutageAfter.
func forceOutage(f *Fallback) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failingSince, f.outage = time.Now().Add(-time.Hour), true
}
