package webapi

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// stubThrottle delays every call by latency and refuses the methods in
// refuse with their Retry-After, remembering what it was asked.
type stubThrottle struct {
	latency time.Duration
	refuse  map[string]int
	waiting chan Call // when set, each call as Latency sees it

	mu       sync.Mutex
	seen     []Call // as Latency saw them, before the wait
	admitted []string
}

func (st *stubThrottle) Latency(c Call) time.Duration {
	st.mu.Lock()
	st.seen = append(st.seen, c)
	st.mu.Unlock()
	if st.waiting != nil {
		st.waiting <- c
	}
	return st.latency
}

func (st *stubThrottle) Admit(c Call) (int, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.admitted = append(st.admitted, c.Method)
	retryAfter, refused := st.refuse[c.Method]
	return retryAfter, !refused
}

func TestThrottleRefusal(t *testing.T) {
	st := &stubThrottle{refuse: map[string]int{"chat.postMessage": 7}}
	s := newServer(t, Options{Throttle: st})
	api := newAPI(s, botToken)

	_, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) {
		t.Fatalf("chat.postMessage the throttle refused = %v, want a *slack.RateLimitedError (HTTP 429)", err)
	}
	if rl.RetryAfter != 7*time.Second {
		t.Errorf("Retry-After = %v, want the throttle's 7s", rl.RetryAfter)
	}
	if c := s.Calls("chat.postMessage")[0]; c.AnswerArg("error") != "ratelimited" {
		t.Errorf("the refused post was recorded with answer %s, want error ratelimited", c.Answer)
	}
	if _, err := api.PostEphemeral("C1", "U1", slack.MsgOptionText("only you", false)); err != nil {
		t.Errorf("chat.postEphemeral, which the throttle admits: %v", err)
	}

	bad := newAPI(s, "xoxb-wrong")
	if _, _, err := bad.PostMessage("C1", slack.MsgOptionText("hi", false)); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("a call with a bad token = %v, want invalid_auth, not a 429", err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.admitted) != 2 {
		t.Errorf("Admit was asked about %v, want the two calls with a good token", st.admitted)
	}
	if len(st.seen) != 3 {
		t.Errorf("Latency was asked about %d calls, want every one of the 3", len(st.seen))
	}
}

func TestThrottleLatencyStampsTheCall(t *testing.T) {
	const latency = 20 * time.Millisecond
	st := &stubThrottle{latency: latency}
	s := newServer(t, Options{Throttle: st})
	if _, _, err := newAPI(s, botToken).PostMessage("C1", slack.MsgOptionText("hi", false)); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	arrived := st.seen[0].Time
	st.mu.Unlock()
	posted := s.Calls("chat.postMessage")[0].Time
	// A timer never fires early, so this holds however slow the machine.
	if posted.Sub(arrived) < latency {
		t.Errorf("the message was recorded %v after the call arrived, want after the %v latency: it is posted when the wait ends",
			posted.Sub(arrived), latency)
	}
}

func TestThrottleWaitEndsOnClose(t *testing.T) {
	st := &stubThrottle{latency: time.Hour, waiting: make(chan Call, 1)}
	s := newServer(t, Options{Throttle: st})
	done := make(chan error, 1)
	go func() {
		_, _, err := newAPI(s, "xoxb-any").PostMessage("C1", slack.MsgOptionText("hi", false))
		done <- err
	}()
	<-st.waiting
	s.Close()
	if err := <-done; err == nil {
		t.Error("a call waiting on the throttle when the server closed was answered, want an error")
	}
	if n := len(s.Calls("chat.postMessage")); n != 0 {
		t.Errorf("%d calls recorded, want none: the call never got past its wait", n)
	}
}
