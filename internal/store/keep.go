package store

import (
	"context"
	"sync"
	"time"
)

// Keep renews holder's claim on key every ttl/3 until stop is called, so
// that a claim outlives its transfer however long the transfer's messages
// wait on Slack; the claim's own ttl still frees the call soon after a
// replica dies mid-transfer. lost, when not nil, is called (once) when a
// renewal finds another holder in force: the claim lapsed and was taken.
// A renewal that fails is tried again at the next tick; the claim's ttl
// leaves two more chances before it lapses.
//
// stop waits for a renewal in flight, so that none lands after the
// caller's Release.
func Keep(ctx context.Context, s Store, key string, holder Holder, ttl time.Duration, lost func(current Holder)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	every := max(ttl/3, time.Millisecond)
	// A timer, not a goroutine: a floor's worth of transfers in flight
	// holds no stack for claims that renew every few seconds at most.
	var (
		mu       sync.Mutex
		stopped  bool
		timer    *time.Timer
		renewing sync.WaitGroup
	)
	renew := func() {
		mu.Lock()
		if stopped {
			mu.Unlock()
			return
		}
		renewing.Add(1)
		mu.Unlock()
		defer renewing.Done()
		cur, ok, err := s.Claim(ctx, key, holder, ttl)
		if err == nil && !ok {
			if lost != nil {
				lost(cur)
			}
			return
		}
		mu.Lock()
		if !stopped {
			timer.Reset(every)
		}
		mu.Unlock()
	}
	mu.Lock()
	timer = time.AfterFunc(every, renew)
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		timer.Stop()
		mu.Unlock()
		cancel()
		renewing.Wait()
	}
}
