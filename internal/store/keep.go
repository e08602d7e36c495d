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
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(max(ttl/3, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			cur, ok, err := s.Claim(ctx, key, holder, ttl)
			if err == nil && !ok {
				if lost != nil {
					lost(cur)
				}
				return
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}
