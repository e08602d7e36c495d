package store

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// A kept claim outlives many of its TTLs; once stopped and released with a
// hold, it lives for the hold and no longer.
func TestKeepRenewsUntilStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		alice := Holder{Token: "a", User: "UALICE", Channel: "CFLOOR"}
		bob := Holder{Token: "b", User: "UBOB", Channel: "CFLOOR"}
		bg := context.Background()
		const ttl = 30 * time.Second
		if _, ok, _ := m.Claim(bg, "call", alice, ttl); !ok {
			t.Fatal("alice could not claim a free call")
		}
		lost := make(chan Holder, 1)
		stop := Keep(bg, m, "call", alice, ttl, func(h Holder) { lost <- h })

		time.Sleep(5 * ttl) // the announcement and the reply wait on Slack's Retry-After
		if cur, ok, _ := m.Claim(bg, "call", bob, ttl); ok || cur != alice {
			t.Fatalf("after 5 TTLs of a transfer in progress, bob's claim = %+v, %v; want refused, held by alice", cur, ok)
		}
		stop()
		if err := m.Release(bg, "call", alice, 15*time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(14 * time.Second)
		if _, ok, _ := m.Claim(bg, "call", bob, ttl); ok {
			t.Fatal("bob claimed the call within the 15 s hold")
		}
		time.Sleep(2 * time.Second)
		if _, ok, _ := m.Claim(bg, "call", bob, ttl); !ok {
			t.Fatal("bob could not claim the call after the hold")
		}
		select {
		case h := <-lost:
			t.Errorf("lost called with %+v", h)
		default:
		}
	})
}

// A renewal that finds another holder says so, once.
func TestKeepReportsALostClaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		alice := Holder{Token: "a", User: "UALICE", Channel: "CFLOOR"}
		bob := Holder{Token: "b", User: "UBOB", Channel: "CFLOOR"}
		bg := context.Background()
		m.Claim(bg, "call", alice, time.Second)
		m.Release(bg, "call", alice, 0) // as if it had lapsed
		m.Claim(bg, "call", bob, time.Minute)
		lost := make(chan Holder, 2)
		stop := Keep(bg, m, "call", alice, time.Second, func(h Holder) { lost <- h })
		defer stop()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if len(lost) != 1 {
			t.Fatalf("lost called %d times, want once", len(lost))
		}
		if h := <-lost; h != bob {
			t.Errorf("lost(%+v), want bob", h)
		}
	})
}
