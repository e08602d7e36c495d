// Package keepwarm runs the small loop that keeps a client's connections
// open between transfers: servers close a connection left idle (load
// balancers commonly after 60 s), and the next transfer would pay a TCP
// and a TLS handshake, two round trips, before its request.
package keepwarm

import (
	"context"
	"time"
)

// Every calls warm every `every` while wanted (nil: always) says traffic
// is expected, until ctx ends. warm must be cheap, bounded by its own
// time-out, and never fatal; the next tick is its retry. A non-positive
// every does nothing.
func Every(ctx context.Context, every time.Duration, wanted func() bool, warm func(context.Context)) {
	if every <= 0 {
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if wanted == nil || wanted() {
			warm(ctx)
		}
	}
}
