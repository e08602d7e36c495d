package keepwarm

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// warm runs once a tick while wanted, never while not, and stops with ctx.
func TestEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var wanted atomic.Bool
		wanted.Store(true)
		var n atomic.Int32
		done := make(chan struct{})
		go func() {
			defer close(done)
			Every(ctx, 45*time.Second, wanted.Load, func(context.Context) { n.Add(1) })
		}()
		time.Sleep(3*45*time.Second + time.Second)
		if got := n.Load(); got != 3 {
			t.Errorf("%d warms in 3 ticks, want 3", got)
		}
		wanted.Store(false)
		time.Sleep(10 * 45 * time.Second)
		if got := n.Load(); got != 3 {
			t.Errorf("%d warms while not wanted, want none more", got-3)
		}
		cancel()
		<-done
	})
}
