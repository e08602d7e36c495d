package busyfloor

import (
	"errors"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
)

const botToken = "xoxb-1-test"

// newSlack starts a fake Slack throttled by th, and a client of it.
func newSlack(t *testing.T, th *Throttle) (*fakeslack.Server, *slack.Client) {
	t.Helper()
	s := fakeslack.New(fakeslack.Options{BotToken: botToken, Throttle: th})
	t.Cleanup(s.Close)
	return s, slack.New(botToken, slack.OptionAPIURL(s.APIURL()))
}

func TestFloorRateLimitsEachChannel(t *testing.T) {
	th := &Throttle{}
	s, api := newSlack(t, th)
	// One message per 10 s after a burst of 3: nothing refills during the test.
	th.Set(Floor{PerSecond: 0.1, Burst: 3})

	post := func(ch string) error {
		_, _, err := api.PostMessage(ch, slack.MsgOptionText("hi", false))
		return err
	}
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("first", false))
	if err != nil {
		t.Fatalf("first message in C1: %v", err)
	}
	if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("edited", false)); err != nil {
		t.Fatalf("chat.update, the 2nd message of C1's burst: %v", err)
	}
	if err := post("C1"); err != nil {
		t.Fatalf("3rd message of C1's burst: %v", err)
	}
	err = post("C1")
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) {
		t.Fatalf("4th message in C1 = %v, want a *slack.RateLimitedError (HTTP 429)", err)
	}
	if rl.RetryAfter < time.Second || rl.RetryAfter > 10*time.Second {
		t.Errorf("Retry-After = %v, want 1–10 s (one message per 10 s)", rl.RetryAfter)
	}
	if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("again", false)); !errors.As(err, &rl) {
		t.Errorf("chat.update past C1's allowance = %v, want HTTP 429", err)
	}
	if err := post("C2"); err != nil {
		t.Errorf("first message in C2, another channel: %v", err)
	}
	if _, err := api.PostEphemeral("C1", "U1", slack.MsgOptionText("only you", false)); err != nil {
		t.Errorf("chat.postEphemeral is not a channel message, so not limited: %v", err)
	}
	if got := th.RateLimited(); got != 2 {
		t.Errorf("RateLimited() = %d, want 2", got)
	}
	calls := s.Calls("chat.postMessage")
	if last := calls[len(calls)-2]; last.AnswerArg("error") != "ratelimited" {
		t.Errorf("the refused post was recorded with answer %s, want error ratelimited", last.Answer)
	}

	th.Set(Floor{})
	if err := post("C1"); err != nil {
		t.Errorf("with the floor off, C1 takes messages again: %v", err)
	}
}

func TestFloorLatency(t *testing.T) {
	th := &Throttle{}
	s, api := newSlack(t, th)
	const latency = 50 * time.Millisecond
	th.Set(Floor{MinLatency: latency, MaxLatency: latency})
	start := time.Now()
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false)); err != nil {
		t.Fatal(err)
	}
	// Lower bounds only: a timer never fires early.
	if c := s.Calls("chat.postMessage")[0]; c.Time.Sub(start) < latency {
		t.Errorf("the message was recorded %v after the call, want after the %v latency: it is posted when the wait ends", c.Time.Sub(start), latency)
	}
}

func TestFloorOffUntilSet(t *testing.T) {
	var th Throttle
	post := fakeslack.Call{Method: "chat.postMessage", Form: map[string][]string{"channel": {"C1"}}}
	for range 10 {
		if d := th.Latency(post); d != 0 {
			t.Fatalf("Latency of the zero Throttle = %v, want 0", d)
		}
		if _, ok := th.Admit(post); !ok {
			t.Fatal("the zero Throttle refused a post")
		}
	}
}

// TestFloorLatencyDependsOnTheCallOnly: the n-th call of a kind waits the
// same on every server with the same seed, within the bounds, whatever
// other calls come in between; so two bots making the same calls meet the
// same Slack.
func TestFloorLatencyDependsOnTheCallOnly(t *testing.T) {
	floor := Floor{MinLatency: 100 * time.Millisecond, MaxLatency: 300 * time.Millisecond, Seed: 7}
	post := func(ch, thread string) fakeslack.Call {
		return fakeslack.Call{Method: "chat.postMessage", Form: map[string][]string{"channel": {ch}, "thread_ts": {thread}}}
	}
	var a, b Throttle
	a.Set(floor)
	b.Set(floor)

	var got [2][]time.Duration
	for i, th := range []*Throttle{&a, &b} {
		if i == 1 {
			// Other calls in between, on b only.
			th.Latency(post("C2", ""))
			th.Latency(post("C1", "1.1"))
			th.Latency(fakeslack.Call{Method: "chat.update", Form: map[string][]string{"channel": {"C1"}}})
		}
		for range 5 {
			got[i] = append(got[i], th.Latency(post("C1", "")))
		}
	}
	for n := range got[0] {
		if got[0][n] != got[1][n] {
			t.Errorf("announcement #%d in C1 waited %v on one server and %v on the other", n+1, got[0][n], got[1][n])
		}
		if got[0][n] < floor.MinLatency || got[0][n] > floor.MaxLatency {
			t.Errorf("latency %v outside %v–%v", got[0][n], floor.MinLatency, floor.MaxLatency)
		}
	}
	if got[0][0] == got[0][1] && got[0][1] == got[0][2] {
		t.Errorf("every call waited %v: the latencies do not vary", got[0][0])
	}
}
