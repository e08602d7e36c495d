package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// transfer is the i-th transfer of the tests, i minutes after t0.
func transfer(i int) Recent {
	return Recent{
		At:          t0.Add(time.Duration(i) * time.Minute),
		Channel:     "CFLOOR",
		ThreadTS:    fmt.Sprintf("1700000000.%06d", i),
		Destination: fmt.Sprintf("+1415555%04d", i),
		Agent:       "+14155550100",
		Outcome:     "✅",
		Action:      "cold",
	}
}

// transfers returns the transfers numbered from, from-1, … down to to.
func transfers(from, to int) []Recent {
	var out []Recent
	for i := from; i >= to; i-- {
		out = append(out, transfer(i))
	}
	return out
}

// checkRecent fails unless got holds want's transfers, in order.
func checkRecent(t *testing.T, what string, got []Recent, want []Recent) {
	t.Helper()
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		g, w := got[i], want[i]
		same = g.At.Equal(w.At) && g.Channel == w.Channel && g.ThreadTS == w.ThreadTS && g.Destination == w.Destination &&
			g.Agent == w.Agent && g.Outcome == w.Outcome && g.Action == w.Action
	}
	if !same {
		t.Errorf("%s: the Home tab would list %s; want %s", what, describe(got), describe(want))
	}
}

func describe(list []Recent) string {
	if len(list) == 0 {
		return "no transfers"
	}
	var b strings.Builder
	for i, r := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s→%s at %s", r.ThreadTS, r.Destination, r.At.UTC().Format(time.TimeOnly))
	}
	return b.String()
}

// A user's last transfers, newest first, at most keep of them, kept for the
// TTL after the last one; the same on every store.
func TestRecentTransfers(t *testing.T) {
	const keep, ttl = 10, 7 * 24 * time.Hour
	forEach(t, func(t *testing.T, w world) {
		s := w.store
		now := t0
		advance := func(d time.Duration) { now = now.Add(d); w.advance(d) }
		recent := func(user string, n int) []Recent {
			t.Helper()
			list, err := s.Recent(ctx(t), user, n)
			if err != nil {
				t.Fatalf("Recent(%s, %d): %v", user, n, err)
			}
			return list
		}
		remember := func(user string, r Recent) {
			t.Helper()
			if err := s.Remember(ctx(t), user, r, keep, ttl); err != nil {
				t.Fatalf("Remember(%s): %v", user, err)
			}
		}

		checkRecent(t, "a user who never transferred", recent("UALICE", 10), nil)
		for i := range 12 {
			remember("UALICE", transfer(i))
		}
		for _, tc := range []struct {
			name string
			n    int
			want []Recent
		}{
			{"the last 10 of 12", 10, transfers(11, 2)},
			{"the last 3", 3, transfers(11, 9)},
			{"more than are kept", 50, transfers(11, 2)},
			{"none asked for", 0, nil},
		} {
			checkRecent(t, tc.name, recent("UALICE", tc.n), tc.want)
		}
		checkRecent(t, "another user", recent("UBOB", 10), nil)

		advance(ttl - 10*time.Millisecond)
		checkRecent(t, "just before the TTL", recent("UALICE", 10), transfers(11, 2))
		remember("UALICE", transfer(12))
		advance(ttl - 10*time.Millisecond)
		checkRecent(t, "a new transfer renews the whole list", recent("UALICE", 10), transfers(12, 3))
		advance(20 * time.Millisecond)
		checkRecent(t, "after the TTL", recent("UALICE", 10), nil)
		remember("UALICE", transfer(13))
		checkRecent(t, "one transfer after the list expired", recent("UALICE", 10), transfers(13, 13))

		long := transfer(14)
		long.Destination = strings.Repeat("é", 100) // 200 bytes
		long.At = time.Time{}
		remember("UBOB", long)
		got := recent("UBOB", 1)
		if len(got) != 1 || got[0].Destination != strings.Repeat("é", MaxRecentField/2) || !got[0].At.Equal(now.Truncate(time.Millisecond)) {
			t.Errorf("a long destination, no time: got %+v; want the destination cut to %d bytes, at the store's now %v",
				got, MaxRecentField, now)
		}

		for _, user := range []string{"", "U", "ualice", "CFLOOR", "<!here>", "U1:x", "U" + strings.Repeat("A", 70)} {
			if err := s.Remember(ctx(t), user, transfer(1), keep, ttl); err == nil {
				t.Errorf("Remember for the user %q was accepted", user)
			}
			if _, err := s.Recent(ctx(t), user, 10); err == nil {
				t.Errorf("Recent for the user %q was accepted", user)
			}
		}
		if err := s.Remember(ctx(t), "UALICE", transfer(1), 0, ttl); err == nil {
			t.Error("Remember with keep 0 was accepted")
		}
		if err := s.Remember(ctx(t), "UALICE", transfer(1), keep, 0); err == nil {
			t.Error("Remember with no TTL was accepted")
		}

		// Replicas remembering at once lose nothing and keep no more than
		// keep.
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := range 32 {
			wg.Go(func() { errs <- s.Remember(ctx(t), "UCAROL", transfer(100+i), keep, ttl) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		list := recent("UCAROL", 100)
		seen := make(map[string]bool)
		for _, r := range list {
			seen[r.ThreadTS] = true
		}
		if len(list) != keep || len(seen) != keep {
			t.Errorf("after 32 concurrent transfers: %d kept, %d distinct; want %d", len(list), len(seen), keep)
		}
	})
}

// Values the bot did not write (another program's, or an older format)
// are skipped, never an error for the whole list; a key of another type
// reads as empty and is replaced by the next transfer.
func TestRedisRecentToleratesJunk(t *testing.T) {
	c := &clock{now: t0}
	mr := miniredis.RunT(t)
	r := newTestRedis(t, mr, c)
	const key = KeyPrefix + "recent:UALICE"
	good := func(i int) string {
		v, err := encodeRecent(transfer(i).normal())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	mr.Push(key, good(3), "not json", `{"at":0,"to":"+1"}`, good(2), `[1,2]`, `{"at":"yesterday"}`, "", good(1))
	list, err := r.Recent(ctx(t), "UALICE", 10)
	if err != nil {
		t.Fatalf("Recent over junk: %v", err)
	}
	checkRecent(t, "a list with junk", list, transfers(3, 1))
	list, _ = r.Recent(ctx(t), "UALICE", 2)
	checkRecent(t, "two of a list with junk", list, transfers(3, 2))

	mr.Del(key)
	mr.Set(key, "a string, not a list")
	if list, err := r.Recent(ctx(t), "UALICE", 10); err != nil || len(list) != 0 {
		t.Errorf("Recent over a string key = %v, %v; want no transfers, no error", list, err)
	}
	if err := r.Remember(ctx(t), "UALICE", transfer(4), 10, time.Hour); err != nil {
		t.Fatalf("Remember over a string key: %v", err)
	}
	list, _ = r.Recent(ctx(t), "UALICE", 10)
	checkRecent(t, "after replacing a string key", list, transfers(4, 4))
	if ttl := mr.TTL(key); ttl != time.Hour {
		t.Errorf("list TTL = %v, want the hour Remember gave", ttl)
	}
}

// Memory keeps the lists of MaxRecentUsers users at most: the one least
// recently written or read goes first.
func TestMemoryRecentIsBoundedInUsers(t *testing.T) {
	c := &clock{now: t0}
	m := NewMemory(MemoryConfig{MaxRecentUsers: 3, Now: c.Now})
	bg := context.Background()
	for _, u := range []string{"U1", "U2", "U3"} {
		if err := m.Remember(bg, u, transfer(1), 10, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	m.Recent(bg, "U1", 10) // read: U2 is now the least recently used
	m.Remember(bg, "U4", transfer(1), 10, time.Hour)
	for u, want := range map[string]int{"U1": 1, "U2": 0, "U3": 1, "U4": 1} {
		if got, _ := m.Recent(bg, u, 10); len(got) != want {
			t.Errorf("%s has %d transfers, want %d", u, len(got), want)
		}
	}
	if n := len(m.recent.users); n != 3 || m.recent.order.Len() != 3 {
		t.Errorf("lists of %d users kept (%d in order), want 3", n, m.recent.order.Len())
	}
	// An expired list is dropped when read.
	c.add(time.Hour)
	if got, _ := m.Recent(bg, "U1", 10); len(got) != 0 {
		t.Errorf("an expired list still lists %v", describe(got))
	}
	if _, ok := m.recent.users["U1"]; ok {
		t.Error("an expired list read is still kept")
	}
}

// While Redis fails, recent transfers go to memory at once, without an
// error or an outage: a Home tab lists what this replica remembered. Once
// Redis answers, the shared list is back.
func TestFallbackRecentTransfers(t *testing.T) {
	mr := miniredis.RunT(t)
	a := newReplica(t, mr.Addr(), FallbackConfig{OutageAfter: time.Hour})
	b := newReplica(t, mr.Addr(), FallbackConfig{OutageAfter: time.Hour})
	recent := func(r *replica) []Recent {
		t.Helper()
		list, err := r.Recent(ctx(t), "UALICE", 10)
		if err != nil {
			t.Fatalf("Recent: %v", err)
		}
		return list
	}
	if err := a.Remember(ctx(t), "UALICE", transfer(1), 10, time.Hour); err != nil {
		t.Fatal(err)
	}
	checkRecent(t, "another replica, Redis up", recent(b), transfers(1, 1))

	if err := b.Remember(ctx(t), "bad user", transfer(2), 10, time.Hour); err == nil || !b.OnRemote() {
		t.Errorf("Remember for a bad user id = %v, on remote %v; want an error, and Redis not taken for failing", err, b.OnRemote())
	}

	mr.SetError("LOADING Redis is loading the dataset in memory")
	if err := b.Remember(ctx(t), "UALICE", transfer(2), 10, time.Hour); err != nil {
		t.Errorf("Remember while Redis fails: %v, want it kept in memory", err)
	}
	checkRecent(t, "replica b while Redis fails", recent(b), transfers(2, 2))
	checkRecent(t, "replica a while Redis fails (it remembered transfer 1)", recent(a), transfers(1, 1))
	if b.OnRemote() || b.InOutage() || b.fallbacks.Load() != 0 {
		t.Errorf("on remote %v, in outage %v, %d fallbacks; want failing, not an outage", b.OnRemote(), b.InOutage(), b.fallbacks.Load())
	}

	mr.SetError("")
	waitUntil(t, "replica b back on Redis", b.OnRemote)
	checkRecent(t, "replica b once Redis answers (transfer 2 stayed in memory)", recent(b), transfers(1, 1))
}
