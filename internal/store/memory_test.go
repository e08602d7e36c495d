package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestMemorySeenIsBoundedInSize(t *testing.T) {
	const max = 50
	c := &clock{now: t0}
	m := NewMemory(MemoryConfig{MaxSeen: max, Now: c.Now})
	for i := range 10 * max {
		if first, _ := m.FirstSeen(ctx(t), fmt.Sprint("k", i), time.Hour); !first {
			t.Fatalf("k%d not first", i)
		}
	}
	if n := len(m.seen.at); n != max {
		t.Errorf("remembers %d keys, want %d", n, max)
	}
	if n := len(m.seen.order) - m.seen.head; n != max || len(m.seen.order) > 2*max+1 {
		t.Errorf("order holds %d live of %d, want %d live and at most %d", n, len(m.seen.order), max, 2*max+1)
	}
	if m.seenNow("k0") || !m.seenNow(fmt.Sprint("k", 10*max-1)) {
		t.Error("the oldest key should be gone and the newest kept")
	}
}

// Keys with different TTLs: a long-lived key recorded first does not keep
// a short-lived one behind it alive.
func TestMemorySeenMixedTTLs(t *testing.T) {
	c := &clock{now: t0}
	m := NewMemory(MemoryConfig{Now: c.Now})
	m.FirstSeen(ctx(t), "long", time.Hour)
	m.FirstSeen(ctx(t), "short", time.Second)
	c.add(2 * time.Second)
	if first, _ := m.FirstSeen(ctx(t), "short", time.Second); !first {
		t.Error("the short key outlived its TTL behind a longer one")
	}
	if first, _ := m.FirstSeen(ctx(t), "long", time.Hour); first {
		t.Error("the long key was forgotten")
	}
}

// Expired claims and counters do not pile up.
func TestMemoryClaimsAndCountsAreSwept(t *testing.T) {
	c := &clock{now: t0}
	m := NewMemory(MemoryConfig{Now: c.Now})
	bg := context.Background()
	for i := range 10_000 {
		m.Claim(bg, fmt.Sprint("call", i), Holder{Token: "t", User: "U1", Channel: "C1"}, time.Second)
		m.Take(bg, fmt.Sprint("U", i), 1, time.Second)
		c.add(10 * time.Millisecond) // about 100 live at any time
	}
	if n := len(m.claims.m); n > 2*100+sweepFloor {
		t.Errorf("%d claims kept, most of them expired", n)
	}
	if n := len(m.counts.m); n > 2*100+sweepFloor {
		t.Errorf("%d counters kept, most of them expired", n)
	}
}
