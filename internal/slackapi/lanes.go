package slackapi

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/retryafter"
)

// Slack takes about one message per second per channel, with short bursts,
// and answers HTTP 429 with Retry-After past it. On a busy floor the
// messages of several transfers then compete in one channel: an
// announcement (the transfer waits for it: no announcement, no Plivo
// request), a thread reply (the outcome a supervisor waits for) and a ✅/❌
// mark (which can wait). Retrying each of them on its own after Retry-After
// sends them all back at once, in no order, and most get 429 again.
//
// So once Slack refuses a message in a channel, that channel's messages
// take turns, the most urgent first, at the rate Slack allows: the lane
// keeps a token bucket like Slack's (one message per channelPace, bursts of
// channelBurst), emptied by every 429 and closed until its Retry-After.
// Urgency is a deadline, the time a message was first asked for plus its
// priority's allowance, so that a mark held back long enough still goes
// before a new announcement; and a mark leaves one message of the burst for
// an announcement that may come, unless it is overdue. A channel Slack has
// not refused lately is not held at all: the fast path is one atomic load.

// Priority says how urgent a channel message is.
type Priority int

const (
	PriorityAnnounce Priority = iota // on the transfer's critical path
	PriorityReply                    // the outcome the supervisor waits for
	PriorityMark                     // the ✅/❌ on the announcement
)

// allowance is how long a message of each Priority may be held back behind
// more urgent ones that were asked for later.
var allowance = [...]time.Duration{
	PriorityAnnounce: 0,
	PriorityReply:    time.Second,
	PriorityMark:     20 * time.Second,
}

const (
	// channelPace is the spacing of a held channel's messages: Slack's
	// documented one message per second per channel.
	channelPace = time.Second
	// channelBurst is how many messages a held channel that has been quiet
	// takes at once. Slack allows "short bursts" without saying how long: a
	// guess that is too high costs a 429, which empties the bucket.
	channelBurst = 3
	// channelQuiet is how long after its last 429 a channel is held.
	channelQuiet = 10 * time.Second
)

// channelLanes holds the channels Slack has refused messages in lately.
type channelLanes struct {
	pace, quiet time.Duration
	burst       float64
	held        atomic.Int32 // len(lanes): the fast path reads only this
	// rtt is a moving average of channel messages' round trips. Slack
	// counts a message when it arrives, about half a round trip after it
	// is sent, so a lane lets a message go that much before its token is
	// due.
	rtt atomic.Int64

	mu    sync.Mutex
	lanes map[string]*lane
}

func newChannelLanes(pace, quiet time.Duration, burst int) *channelLanes {
	return &channelLanes{pace: pace, quiet: quiet, burst: float64(max(burst, 1)), lanes: make(map[string]*lane)}
}

// lane is one held channel.
type lane struct {
	tokens      float64 // messages the channel would take now, as of at
	at          time.Time
	next        time.Time   // no message before this (Retry-After)
	lastLimited time.Time   // the last 429
	waiting     []*laneTurn // in order of deadline
	timer       *time.Timer // armed for next while someone waits, or to let the lane go
	timerAt     time.Time   // when timer fires
	gen         int         // which arming of timer is current
}

// laneKey carries a message's channel and Priority in its request's
// context, from the caller that knows them to the retrying doer.
type laneKey struct{}

type laneInfo struct {
	channel string
	prio    Priority
}

// inLane returns ctx marked as a message to channel of Priority prio.
func inLane(ctx context.Context, channel string, prio Priority) context.Context {
	return context.WithValue(ctx, laneKey{}, laneInfo{channel, prio})
}

// laneTurn is one request's place in its channel's lane; nil (no lanes, or
// a request that posts in no channel) waits for nothing.
type laneTurn struct {
	lanes    *channelLanes
	info     laneInfo
	deadline time.Time // set on the first wait: a retry keeps its place
	sent     time.Time // when the last wait returned
	ready    chan struct{}
}

// turn returns the lane turn of a request with context ctx, or nil.
func (l *channelLanes) turn(ctx context.Context) *laneTurn {
	if l == nil {
		return nil
	}
	info, ok := ctx.Value(laneKey{}).(laneInfo)
	if !ok || info.channel == "" {
		return nil
	}
	return &laneTurn{lanes: l, info: info}
}

// wait returns when the request may be sent: at once in a channel that is
// not held, else at its turn. It returns ctx's error if ctx ends first.
func (t *laneTurn) wait(ctx context.Context) error {
	if t == nil {
		return nil
	}
	l := t.lanes
	now := time.Now()
	if t.deadline.IsZero() {
		t.deadline = now.Add(allowance[t.info.prio])
	}
	t.sent = now
	if l.held.Load() == 0 {
		return nil
	}
	l.mu.Lock()
	ln := l.lanes[t.info.channel]
	if ln == nil {
		l.mu.Unlock()
		return nil
	}
	ln.insert(t)
	l.dispatchLocked(t.info.channel, ln, now)
	l.mu.Unlock()

	select {
	case <-t.ready:
		t.sent = time.Now()
		return nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if i := slices.Index(ln.waiting, t); i >= 0 {
		ln.waiting = slices.Delete(ln.waiting, i, i+1)
	}
	return ctx.Err()
}

// insert queues t by its deadline, after those with the same one.
func (ln *lane) insert(t *laneTurn) {
	t.ready = make(chan struct{})
	i, _ := slices.BinarySearchFunc(ln.waiting, t.deadline, func(w *laneTurn, d time.Time) int { return w.deadline.Compare(d) })
	for i < len(ln.waiting) && !ln.waiting[i].deadline.After(t.deadline) {
		i++ // first come, first served
	}
	ln.waiting = slices.Insert(ln.waiting, i, t)
}

// refused records Slack's answer to the request: its round trip, and if
// it is a 429, that the channel is held until Retry-After has passed. It
// reports whether the request should wait for its turn again.
func (t *laneTurn) refused(resp *http.Response) bool {
	if t == nil || resp == nil {
		return false
	}
	if !t.sent.IsZero() {
		rtt := time.Since(t.sent)
		if old := t.lanes.rtt.Load(); old > 0 {
			rtt = (7*time.Duration(old) + rtt) / 8
		}
		t.lanes.rtt.Store(int64(rtt))
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		return false
	}
	after := retryafter.AtLeastASecond(resp.Header.Get("Retry-After"), time.Now())
	l := t.lanes
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	ln := l.lanes[t.info.channel]
	if ln == nil {
		ln = &lane{}
		l.lanes[t.info.channel] = ln
		l.held.Add(1)
	}
	ln.tokens, ln.at = 0, now
	ln.lastLimited = now
	if until := now.Add(after); until.After(ln.next) {
		ln.next = until
	}
	l.dispatchLocked(t.info.channel, ln, now)
	return true
}

// isHeld reports whether Slack has refused a message in channel lately, so
// that its messages take turns.
func (l *channelLanes) isHeld(channel string) bool {
	if l == nil || l.held.Load() == 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lanes[channel] != nil
}

// nextSlot is when the request's channel takes its next message.
func (t *laneTurn) nextSlot() time.Time {
	l := t.lanes
	l.mu.Lock()
	defer l.mu.Unlock()
	if ln := l.lanes[t.info.channel]; ln != nil {
		return ln.next
	}
	return time.Time{}
}

// dispatchLocked lets the most urgent waiter go if the channel's time has
// come, then arms the lane's timer: for the next turn while anyone waits,
// else to let the lane go once the channel has been quiet.
func (l *channelLanes) dispatchLocked(channel string, ln *lane, now time.Time) {
	ln.tokens = min(l.burst, ln.tokens+float64(now.Sub(ln.at))/float64(l.pace))
	ln.at = now
	lead := float64(min(time.Duration(l.rtt.Load()), l.pace)/2) / float64(l.pace) // at most half a turn
	at := ln.next
	for len(ln.waiting) > 0 {
		head := ln.waiting[0]
		need := 1 - lead
		if head.info.prio == PriorityMark && now.Before(head.deadline) && l.burst > 1 {
			need = 2 - lead // keep one for an announcement
		}
		if now.Before(ln.next) {
			break
		}
		if ln.tokens < need {
			at = now.Add(time.Duration((need - ln.tokens) * float64(l.pace)))
			break
		}
		ln.tokens--
		close(head.ready)
		ln.waiting = slices.Delete(ln.waiting, 0, 1)
	}
	if len(ln.waiting) == 0 {
		if quiet := ln.lastLimited.Add(l.quiet); quiet.After(at) {
			at = quiet
		}
		if !now.Before(at) {
			if ln.timer != nil {
				ln.timer.Stop()
			}
			delete(l.lanes, channel)
			l.held.Add(-1)
			return
		}
	}
	if ln.timer != nil {
		if !ln.timerAt.After(at) {
			return // it fires in time
		}
		ln.timer.Stop()
	}
	ln.gen++
	gen := ln.gen
	ln.timerAt = at
	ln.timer = time.AfterFunc(at.Sub(now), func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if ln.gen != gen || l.lanes[channel] != ln {
			return // stopped too late, or the lane is gone
		}
		ln.timer = nil
		l.dispatchLocked(channel, ln, time.Now())
	})
}
