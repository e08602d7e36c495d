// Package busyfloor makes the fake Slack (internal/fakeslack) answer like
// Slack on a busy day rather than like a loopback server: every Web API
// call takes a while, and each channel takes messages at a limited rate.
//
// A Throttle is a fakeslack.Throttle: give it to the fake in
// fakeslack.Options, then put a Floor in force with Set once the bot has
// connected, so that start-up is not slowed.
package busyfloor

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
)

// Floor is how busy Slack is.
type Floor struct {
	// MinLatency and MaxLatency bound how long each Web API call waits
	// before it is handled, uniformly at random in between. The call is
	// recorded, and a message posted, when the wait ends.
	MinLatency, MaxLatency time.Duration
	// PerSecond is how many messages a channel takes per second: Slack
	// allows about one chat.postMessage per second per channel. Both
	// chat.postMessage and chat.update draw on the channel's allowance
	// (stricter than Slack, whose chat.update limit is per workspace,
	// Tier 3, but it is what makes a channel busy). 0 means no limit.
	PerSecond float64
	// Burst is how many messages a quiet channel takes at once before the
	// rate applies; 0 means 1.
	Burst int
	// Seed makes the latencies reproducible; 0 is a seed like any other.
	// The n-th call of a kind (method, channel, thread reply or not) waits
	// the same in every run with the same seed.
	Seed uint64
}

// Throttle puts a Floor in force on a fake Slack: the latency's random
// source and one token bucket per channel. The zero value is ready to use
// and off: calls go through at loopback speed until Set.
type Throttle struct {
	mu      sync.Mutex
	floor   Floor
	on      bool
	seen    map[string]int // calls so far by kind, for Latency
	buckets map[string]*bucket
	limited int // calls answered 429
}

var _ fakeslack.Throttle = (*Throttle)(nil)

type bucket struct {
	tokens float64
	at     time.Time
}

// Set puts f in force for the calls that arrive from now on; the zero
// Floor turns it off.
func (t *Throttle) Set(f Floor) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.floor = f
	t.on = f != (Floor{})
	t.seen = make(map[string]int)
	t.buckets = make(map[string]*bucket)
}

// RateLimited is how many calls the floor refused (HTTP 429) so far.
func (t *Throttle) RateLimited() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.limited
}

// Latency is how long c waits, 0 without a floor. It is drawn from the
// floor's seed and what the call is, its method, channel, whether it is a
// thread reply, and how many such calls came before it, so that
// implementations that make the same calls get the same latencies, whatever
// else they do in between.
func (t *Throttle) Latency(c fakeslack.Call) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.on || t.floor.MaxLatency <= 0 {
		return 0
	}
	kind := c.Method + "\x00" + c.Arg("channel")
	if c.Arg("thread_ts") != "" {
		kind += "\x00thread"
	}
	n := t.seen[kind]
	t.seen[kind] = n + 1
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%s\x00%d", t.floor.Seed, kind, n)
	lo, hi := t.floor.MinLatency, max(t.floor.MaxLatency, t.floor.MinLatency)
	return lo + time.Duration(rand.New(rand.NewPCG(h.Sum64(), 0)).Int64N(int64(hi-lo)+1))
}

// Admit takes one message from the allowance of c's channel when c posts
// or updates a message. When there is none left it returns false and the
// whole seconds to wait, as Slack's Retry-After says them.
func (t *Throttle) Admit(c fakeslack.Call) (int, bool) {
	if c.Method != "chat.postMessage" && c.Method != "chat.update" {
		return 0, true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.on || t.floor.PerSecond <= 0 {
		return 0, true
	}
	channel, now := c.Arg("channel"), c.Time
	burst := float64(max(t.floor.Burst, 1))
	b := t.buckets[channel]
	if b == nil {
		b = &bucket{tokens: burst, at: now}
		t.buckets[channel] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*t.floor.PerSecond)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	t.limited++
	wait := (1 - b.tokens) / t.floor.PerSecond
	return max(1, int(math.Ceil(wait))), false
}
