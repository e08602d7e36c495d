package slackapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func tooMany(retryAfter string) *http.Response {
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{}}
	resp.Header.Set("Retry-After", retryAfter)
	return resp
}

// pollUntil polls cond until it holds or 10 s have passed.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (l *channelLanes) waiting(channel string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ln := l.lanes[channel]; ln != nil {
		return len(ln.waiting)
	}
	return -1
}

// TestLanesSendTheMostUrgentFirst: once Slack refuses a message in a
// channel, the channel's waiting messages go one per pace, announcements
// before replies before marks, whatever order they were asked in, and no
// earlier than Retry-After.
func TestLanesSendTheMostUrgentFirst(t *testing.T) {
	const pace = 50 * time.Millisecond
	l := newChannelLanes(pace, time.Minute, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	refusedAt := time.Now()
	if !l.turn(inLane(ctx, "CBUSY", PriorityReply)).refused(tooMany("1")) {
		t.Fatal("a 429 in a channel was not taken as refused")
	}
	type grant struct {
		prio Priority
		at   time.Time
	}
	grants := make(chan grant, 3)
	for i, prio := range []Priority{PriorityMark, PriorityReply, PriorityAnnounce} {
		go func() {
			if err := l.turn(inLane(ctx, "CBUSY", prio)).wait(ctx); err != nil {
				t.Errorf("wait: %v", err)
			}
			grants <- grant{prio, time.Now()}
		}()
		pollUntil(t, "the waiter to queue", func() bool { return l.waiting("CBUSY") == i+1 })
	}

	var prev time.Time
	for _, want := range []Priority{PriorityAnnounce, PriorityReply, PriorityMark} {
		g := <-grants
		if g.prio != want {
			t.Errorf("Priority %d went next, want %d: announcements, then replies, then marks", g.prio, want)
		}
		if g.at.Sub(refusedAt) < time.Second {
			t.Errorf("a message went %v after the 429, before its Retry-After of 1s", g.at.Sub(refusedAt))
		}
		if !prev.IsZero() && g.at.Sub(prev) < pace {
			t.Errorf("two messages went %v apart, want at least the pace %v", g.at.Sub(prev), pace)
		}
		prev = g.at
	}
}

// TestLanesKeepAMarkFromStarving: a mark held back past its allowance goes
// before an announcement asked for later.
func TestLanesKeepAMarkFromStarving(t *testing.T) {
	l := newChannelLanes(time.Millisecond, time.Minute, 1)
	ctx := context.Background()
	mark := l.turn(inLane(ctx, "C1", PriorityMark))
	mark.deadline = time.Now().Add(-time.Second) // asked for long ago
	ann := l.turn(inLane(ctx, "C1", PriorityAnnounce))
	l.turn(inLane(ctx, "C1", PriorityReply)).refused(tooMany("1"))

	order := make(chan Priority, 2)
	go func() { _ = mark.wait(ctx); order <- PriorityMark }()
	pollUntil(t, "the mark to queue", func() bool { return l.waiting("C1") == 1 })
	go func() { _ = ann.wait(ctx); order <- PriorityAnnounce }()
	pollUntil(t, "the announcement to queue", func() bool { return l.waiting("C1") == 2 })
	if first := <-order; first != PriorityMark {
		t.Errorf("the announcement went before a mark that had waited past its allowance")
	}
	<-order
}

func TestLanesHoldOnlyTheRefusedChannel(t *testing.T) {
	l := newChannelLanes(time.Second, time.Minute, 1)
	l.turn(inLane(context.Background(), "CBUSY", PriorityReply)).refused(tooMany("30"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.turn(inLane(ctx, "CQUIET", PriorityMark)).wait(ctx); err != nil {
		t.Errorf("a message in another channel waited (%v): only the refused channel is held", err)
	}
}

func TestLaneWaitEndsWithItsContext(t *testing.T) {
	l := newChannelLanes(time.Second, time.Minute, 1)
	l.turn(inLane(context.Background(), "C1", PriorityReply)).refused(tooMany("30"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.turn(inLane(ctx, "C1", PriorityAnnounce)).wait(ctx) }()
	pollUntil(t, "the waiter to queue", func() bool { return l.waiting("C1") == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("wait = %v, want context.Canceled", err)
	}
	if n := l.waiting("C1"); n != 0 {
		t.Errorf("%d waiters left after the only one gave up", n)
	}
}

func TestLaneIsLetGoOnceQuiet(t *testing.T) {
	l := newChannelLanes(time.Millisecond, time.Millisecond, 1)
	l.turn(inLane(context.Background(), "C1", PriorityReply)).refused(tooMany("1"))
	if l.held.Load() != 1 {
		t.Fatal("a refused channel is not held")
	}
	pollUntil(t, "the lane to be let go", func() bool { return l.held.Load() == 0 && l.waiting("C1") == -1 })
}

func TestNoLaneWithoutAChannel(t *testing.T) {
	l := newChannelLanes(time.Second, time.Minute, 1)
	if l.turn(context.Background()) != nil {
		t.Error("a request with no channel in its context got a lane turn")
	}
	var none *channelLanes
	if none.turn(inLane(context.Background(), "C1", PriorityMark)) != nil {
		t.Error("a doer without lanes handed out a lane turn")
	}
	var turn *laneTurn
	if err := turn.wait(context.Background()); err != nil || turn.refused(tooMany("1")) {
		t.Error("a nil lane turn waited or refused")
	}
}

// TestDoerRetriesARefusedChannelMessageInItsLane: a 429 on a channel
// message is retried at the channel's turn and does not use up an attempt;
// the same 429 on a request with no channel does.
func TestDoerRetriesARefusedChannelMessageInItsLane(t *testing.T) {
	for _, tc := range []struct {
		name       string
		channel    bool
		wantStatus int
		wantCalls  int
	}{
		{"channel message", true, http.StatusOK, 2},
		{"no channel", false, http.StatusTooManyRequests, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub := &slackStub{statuses: []int{http.StatusTooManyRequests, http.StatusOK}, retry: "1"}
			srv := httptest.NewServer(stub)
			defer srv.Close()
			d := &retryingDoer{client: srv.Client(), maxAttempts: 1, baseDelay: time.Millisecond, maxDelay: time.Millisecond,
				maxRetryAfter: 30 * time.Second, lanes: newChannelLanes(time.Millisecond, time.Minute, 1)}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if tc.channel {
				ctx = inLane(ctx, "C1", PriorityAnnounce)
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("channel=C1&text=hi"))
			resp, err := d.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || len(stub.times) != tc.wantCalls {
				t.Errorf("status %d after %d calls, want %d after %d", resp.StatusCode, len(stub.times), tc.wantStatus, tc.wantCalls)
			}
			for i, b := range stub.bodies {
				if b != "channel=C1&text=hi" {
					t.Errorf("attempt %d sent body %q: the body must be replayed whole", i+1, b)
				}
			}
		})
	}
}

// TestDoerGivesUpWhenTheChannelsTurnIsPastTheDeadline: a refused channel
// message whose turn would come after its context's deadline returns the
// 429 at once, as slack.RateLimitedError for the caller.
func TestDoerGivesUpWhenTheChannelsTurnIsPastTheDeadline(t *testing.T) {
	stub := &slackStub{statuses: []int{http.StatusTooManyRequests}, retry: "30"}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	d := &retryingDoer{client: srv.Client(), maxAttempts: 5, baseDelay: time.Millisecond, maxDelay: time.Millisecond,
		maxRetryAfter: 30 * time.Second, lanes: newChannelLanes(time.Millisecond, time.Minute, 1)}
	ctx, cancel := context.WithTimeout(inLane(context.Background(), "C1", PriorityAnnounce), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("x"))
	resp, err := d.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || len(stub.times) != 1 {
		t.Errorf("status %d after %d calls, want the 429 after 1 call", resp.StatusCode, len(stub.times))
	}
}

// TestLaneBucket drives one lane's dispatch with a clock of its own: the
// burst a quiet channel allows, the pace after it, and a mark leaving one
// message for an announcement until it is overdue.
func TestLaneBucket(t *testing.T) {
	const pace = time.Second
	l := newChannelLanes(pace, time.Hour, 2)
	t0 := time.Now()
	ln := &lane{tokens: 0, at: t0, next: t0.Add(time.Second)} // just refused, Retry-After 1
	l.lanes["C1"] = ln
	l.held.Add(1)
	queue := func(prio Priority, asked time.Time) *laneTurn {
		turn := &laneTurn{lanes: l, info: laneInfo{"C1", prio}, deadline: asked.Add(allowance[prio])}
		ln.insert(turn)
		return turn
	}
	granted := func(turn *laneTurn) bool {
		select {
		case <-turn.ready:
			return true
		default:
			return false
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	defer func() {
		if ln.timer != nil {
			ln.timer.Stop()
		}
	}()

	mark := queue(PriorityMark, t0)
	l.dispatchLocked("C1", ln, t0.Add(500*time.Millisecond))
	if granted(mark) {
		t.Fatal("a message went before Retry-After")
	}
	l.dispatchLocked("C1", ln, t0.Add(1500*time.Millisecond)) // 1.5 tokens
	if granted(mark) {
		t.Error("a mark took the last message of the burst; it must leave one for an announcement")
	}
	ann := queue(PriorityAnnounce, t0.Add(1500*time.Millisecond))
	l.dispatchLocked("C1", ln, t0.Add(1500*time.Millisecond))
	if !granted(ann) || granted(mark) {
		t.Errorf("announcement granted %v, mark granted %v; want the announcement at once, the mark still waiting", granted(ann), granted(mark))
	}
	l.dispatchLocked("C1", ln, t0.Add(3*time.Second)) // 2 tokens again
	if !granted(mark) {
		t.Error("the mark still waits with the whole burst free")
	}
	r1, r2, r3 := queue(PriorityReply, t0.Add(5*time.Second)), queue(PriorityReply, t0.Add(5*time.Second)), queue(PriorityReply, t0.Add(5*time.Second))
	ln.timer.Stop() // as if it had fired: the clock here is the test's
	ln.timer = nil
	l.dispatchLocked("C1", ln, t0.Add(5*time.Second)) // a full burst of 2
	if !granted(r1) || !granted(r2) || granted(r3) {
		t.Errorf("replies granted %v %v %v, want the burst of 2 at once and the 3rd waiting", granted(r1), granted(r2), granted(r3))
	}
	if want := t0.Add(6 * time.Second); !ln.timerAt.Equal(want) {
		t.Errorf("next turn armed for %v after t0, want 6s: one message per pace", ln.timerAt.Sub(t0))
	}
	late := queue(PriorityMark, t0.Add(-20*time.Second)) // overdue: needs one token only
	l.dispatchLocked("C1", ln, t0.Add(6*time.Second))
	if !granted(late) || granted(r3) {
		t.Errorf("overdue mark granted %v, reply granted %v; want the overdue mark first", granted(late), granted(r3))
	}
}

// TestLaneLeadsByHalfARoundTrip: Slack counts a message when it arrives,
// so with a 400 ms round trip a lane lets a message go 200 ms before its
// token is due (here 0.8 of it), and no earlier.
func TestLaneLeadsByHalfARoundTrip(t *testing.T) {
	l := newChannelLanes(time.Second, time.Hour, 1)
	l.rtt.Store(int64(400 * time.Millisecond))
	t0 := time.Now()
	ln := &lane{at: t0, next: t0}
	l.lanes["C1"] = ln
	l.held.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	defer func() { ln.timer.Stop() }()
	early := &laneTurn{lanes: l, info: laneInfo{"C1", PriorityReply}, deadline: t0}
	ln.insert(early)
	l.dispatchLocked("C1", ln, t0.Add(700*time.Millisecond)) // 0.7 tokens
	select {
	case <-early.ready:
		t.Fatal("a message went 300 ms before its token, more than half the round trip")
	default:
	}
	l.dispatchLocked("C1", ln, t0.Add(850*time.Millisecond)) // 0.85 tokens
	select {
	case <-early.ready:
	default:
		t.Error("a message waited for its whole token with half a round trip to go")
	}
}
