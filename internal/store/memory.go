package store

import (
	"context"
	"sync"
	"time"
)

// DefaultMaxSeen is how many keys Memory remembers for FirstSeen at most
// when MemoryConfig.MaxSeen is 0.
const DefaultMaxSeen = 20_000

// DefaultMaxRecentUsers is how many users' recent transfers Memory keeps at
// most when MemoryConfig.MaxRecentUsers is 0.
const DefaultMaxRecentUsers = 10_000

// MemoryConfig configures a Memory store; the zero value works.
type MemoryConfig struct {
	// MaxSeen bounds the keys FirstSeen remembers: past it, the oldest
	// recorded go first, whatever their TTL. Default DefaultMaxSeen.
	MaxSeen int
	// MaxRecentUsers bounds the users whose recent transfers Remember
	// keeps: past it, the user least recently written or read goes first,
	// whatever the TTL of their list. Default DefaultMaxRecentUsers.
	MaxRecentUsers int
	// Now is the clock; default time.Now. Tests move it.
	Now func() time.Time
}

// Memory is the store of a single replica: everything lives in this
// process and is lost when it stops. Its memory is bounded: seen keys by
// count and TTL, claims and rate counters by their TTL (expired entries are
// swept as new ones arrive), recent transfers by users (MaxRecentUsers)
// and entries per user (MaxRecentKeep). The zero value is not usable: use
// NewMemory.
type Memory struct {
	now func() time.Time

	mu     sync.Mutex
	seen   seenSet
	claims expiring[Holder]
	counts expiring[int]
	recent recentLRU
}

// NewMemory returns an empty in-memory store.
func NewMemory(cfg MemoryConfig) *Memory {
	if cfg.MaxSeen <= 0 {
		cfg.MaxSeen = DefaultMaxSeen
	}
	if cfg.MaxRecentUsers <= 0 {
		cfg.MaxRecentUsers = DefaultMaxRecentUsers
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Memory{
		now:    cfg.Now,
		seen:   seenSet{max: cfg.MaxSeen, at: make(map[string]time.Time)},
		claims: newExpiring[Holder](),
		counts: newExpiring[int](),
		recent: newRecentLRU(cfg.MaxRecentUsers),
	}
}

var _ Store = (*Memory)(nil)

// FirstSeen implements Store.
func (m *Memory) FirstSeen(_ context.Context, key string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen.add(m.now(), key, ttl), nil
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, key string, holder Holder, ttl time.Duration) (Holder, bool, error) {
	if _, err := encodeHolder(holder); err != nil {
		return Holder{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if cur, ok := m.claims.get(now, key); ok && cur.Token != holder.Token {
		return cur, false, nil
	}
	m.claims.set(now, key, holder, ttl)
	return holder, true, nil
}

// Release implements Store.
func (m *Memory) Release(_ context.Context, key string, holder Holder, keep time.Duration) error {
	if _, err := encodeHolder(holder); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	cur, ok := m.claims.get(now, key)
	if !ok && keep > 0 {
		// The claim lapsed before its transfer was over: the call may be
		// moving, so it is taken again for the hold.
		m.claims.set(now, key, holder, keep)
		return nil
	}
	if !ok || cur.Token != holder.Token {
		return nil
	}
	if keep > 0 {
		m.claims.set(now, key, cur, keep)
	} else {
		m.claims.delete(key)
	}
	return nil
}

// Take implements Store.
func (m *Memory) Take(_ context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if window <= 0 {
		return false, 0, errBadWindow
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	start, end := fixedWindow(now, window)
	k := windowKey(key, start)
	n, _ := m.counts.get(now, k)
	if n >= limit {
		return false, end.Sub(now), nil
	}
	m.counts.set(now, k, n+1, end.Sub(now))
	return true, 0, nil
}

// Untake implements Store.
func (m *Memory) Untake(_ context.Context, key string, window time.Duration) error {
	if window <= 0 {
		return errBadWindow
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	start, end := fixedWindow(now, window)
	k := windowKey(key, start)
	if n, ok := m.counts.get(now, k); ok && n > 0 {
		m.counts.set(now, k, n-1, end.Sub(now))
	}
	return nil
}

// Remember implements Store.
func (m *Memory) Remember(_ context.Context, userID string, t Recent, keep int, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	t, keep, err := checkRemember(now, userID, t, keep, ttl)
	if err != nil {
		return err
	}
	m.recent.push(now, userID, t, keep, ttl)
	return nil
}

// Recent implements Store.
func (m *Memory) Recent(_ context.Context, userID string, n int) ([]Recent, error) {
	if !isUserID(userID) {
		return nil, errBadRecentUser
	}
	if n <= 0 {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.recent.get(m.now(), userID, n), nil
}

// seenNow reports whether key is recorded and live, recording nothing.
func (m *Memory) seenNow(key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	exp, ok := m.seen.at[key]
	return ok && m.now().Before(exp)
}

// holderOf returns who holds key's claim in memory, if anyone does.
func (m *Memory) holderOf(key string) (Holder, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.claims.get(m.now(), key)
}

// seenSet remembers keys until their TTL, at most max of them: the oldest
// recorded go first. Not safe for concurrent use.
type seenSet struct {
	max   int
	at    map[string]time.Time // key → when it expires
	order []string             // keys in the order recorded; order[head:] may be live
	head  int
}

// add records key until now+ttl and reports whether it was not live yet.
func (s *seenSet) add(now time.Time, key string, ttl time.Duration) bool {
	s.expire(now)
	if exp, ok := s.at[key]; ok && now.Before(exp) {
		return false
	}
	if _, ok := s.at[key]; !ok {
		s.order = append(s.order, key)
	}
	// An expired key still in order keeps its place there: it is recorded
	// anew, and goes first when the count is over.
	s.at[key] = now.Add(ttl)
	for len(s.at) > s.max {
		s.evictOldest()
	}
	return true
}

// expire drops the expired keys at the head of the order. Keys with a
// longer TTL may hold back shorter ones behind them; add checks each key's
// own expiry, so that only bounds memory.
func (s *seenSet) expire(now time.Time) {
	for s.head < len(s.order) {
		if exp, ok := s.at[s.order[s.head]]; ok && now.Before(exp) {
			return
		}
		s.evictOldest()
	}
}

func (s *seenSet) evictOldest() {
	delete(s.at, s.order[s.head])
	s.order[s.head] = ""
	s.head++
	// Compact once the dead prefix is half the slice, so order stays O(max).
	if s.head > len(s.order)/2 {
		s.order = append(s.order[:0:0], s.order[s.head:]...)
		s.head = 0
	}
}

// expiring is a map whose entries expire. Expired entries are swept once
// the map has doubled since the last sweep, so its size stays within twice
// the live entries (plus a floor). Not safe for concurrent use.
type expiring[V any] struct {
	m         map[string]expiringEntry[V]
	sweepNext int // sweep when len(m) reaches it
}

type expiringEntry[V any] struct {
	v   V
	exp time.Time
}

const sweepFloor = 64

func newExpiring[V any]() expiring[V] {
	return expiring[V]{m: make(map[string]expiringEntry[V]), sweepNext: sweepFloor}
}

func (e *expiring[V]) get(now time.Time, key string) (V, bool) {
	en, ok := e.m[key]
	if !ok || !now.Before(en.exp) {
		var zero V
		return zero, false
	}
	return en.v, true
}

func (e *expiring[V]) set(now time.Time, key string, v V, ttl time.Duration) {
	e.m[key] = expiringEntry[V]{v: v, exp: now.Add(ttl)}
	if len(e.m) >= e.sweepNext {
		for k, en := range e.m {
			if !now.Before(en.exp) {
				delete(e.m, k)
			}
		}
		e.sweepNext = max(2*len(e.m), sweepFloor)
	}
}

func (e *expiring[V]) delete(key string) { delete(e.m, key) }
