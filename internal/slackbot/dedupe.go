package slackbot

import (
	"sync"
	"time"
)

// seenSet remembers keys (envelope ids, trigger ids, view ids) for a while,
// so that a redelivered request runs nothing twice. Memory is bounded both
// by time (ttl) and by count (max): the oldest keys go first.
type seenSet struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	at    map[string]time.Time
	order []string // keys in insertion order; order[head:] are live
	head  int
}

func newSeenSet(ttl time.Duration, max int) *seenSet {
	return &seenSet{ttl: ttl, max: max, at: make(map[string]time.Time)}
}

// seen reports whether any of keys is remembered.
func (s *seenSet) seen(now time.Time, keys ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	for _, k := range keys {
		if _, ok := s.at[k]; ok {
			return true
		}
	}
	return false
}

// add remembers keys from now on; a key already there is left as it is.
func (s *seenSet) add(now time.Time, keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	for _, k := range keys {
		if _, ok := s.at[k]; ok {
			continue
		}
		s.at[k] = now
		s.order = append(s.order, k)
	}
	for len(s.at) > s.max {
		s.evictOldest()
	}
}

func (s *seenSet) expire(now time.Time) {
	for s.head < len(s.order) && now.Sub(s.at[s.order[s.head]]) >= s.ttl {
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
