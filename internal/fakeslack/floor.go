package fakeslack

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Floor makes the fake answer like Slack on a busy day rather than like a
// loopback server: every Web API call takes a while, and each channel
// takes messages at a limited rate.
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

// floorState is a Floor in force: the latency's random source and one
// token bucket per channel.
type floorState struct {
	mu      sync.Mutex
	floor   Floor
	on      bool
	seen    map[string]int // calls so far by kind, for floorLatency
	buckets map[string]*bucket
	limited int // calls answered 429
}

type bucket struct {
	tokens float64
	at     time.Time
}

// SetFloor puts f in force for the calls that arrive from now on; the zero
// Floor turns it off (addition: a load test sets it once the bot has
// connected, so that start-up is not slowed).
func (s *Server) SetFloor(f Floor) {
	st := &s.floor
	st.mu.Lock()
	defer st.mu.Unlock()
	st.floor = f
	st.on = f != (Floor{})
	st.seen = make(map[string]int)
	st.buckets = make(map[string]*bucket)
}

// RateLimited is how many calls the floor answered with HTTP 429 so far.
func (s *Server) RateLimited() int {
	s.floor.mu.Lock()
	defer s.floor.mu.Unlock()
	return s.floor.limited
}

// floorLatency is how long c waits, 0 without a floor. It is drawn from the
// floor's seed and what the call is, its method, channel, whether it is a
// thread reply, and how many such calls came before it, so that
// implementations that make the same calls get the same latencies, whatever
// else they do in between.
func (s *Server) floorLatency(c Call) time.Duration {
	st := &s.floor
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.on || st.floor.MaxLatency <= 0 {
		return 0
	}
	kind := c.Method + "\x00" + c.Arg("channel")
	if c.Arg("thread_ts") != "" {
		kind += "\x00thread"
	}
	n := st.seen[kind]
	st.seen[kind] = n + 1
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%s\x00%d", st.floor.Seed, kind, n)
	lo, hi := st.floor.MinLatency, max(st.floor.MaxLatency, st.floor.MinLatency)
	return lo + time.Duration(rand.New(rand.NewPCG(h.Sum64(), 0)).Int64N(int64(hi-lo)+1))
}

// floorTake takes one message from the allowance of c's channel when c
// posts or updates a message. When there is none left it returns false and
// the whole seconds to wait, as Slack's Retry-After says them.
func (s *Server) floorTake(c Call) (int, bool) {
	if c.Method != "chat.postMessage" && c.Method != "chat.update" {
		return 0, true
	}
	st := &s.floor
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.on || st.floor.PerSecond <= 0 {
		return 0, true
	}
	channel, now := c.Arg("channel"), c.Time
	burst := float64(max(st.floor.Burst, 1))
	b := st.buckets[channel]
	if b == nil {
		b = &bucket{tokens: burst, at: now}
		st.buckets[channel] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*st.floor.PerSecond)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	st.limited++
	wait := (1 - b.tokens) / st.floor.PerSecond
	return max(1, int(math.Ceil(wait))), false
}

// floorWait holds c for the floor's latency, and then stamps it: that is
// when Slack takes it. It reports false when the client or the server went
// away first.
func (s *Server) floorWait(r *http.Request, c *Call) bool {
	d := s.floorLatency(*c)
	if d <= 0 {
		return true
	}
	if !s.delay(r, d) {
		return false
	}
	c.Time = time.Now()
	return true
}

// rateLimited answers a call past its channel's allowance as Slack does.
func rateLimited(w http.ResponseWriter, retryAfter int) (int, object) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	return http.StatusTooManyRequests, slackError("ratelimited")
}
