package fakeslack

import (
	"errors"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestFloorRateLimitsEachChannel(t *testing.T) {
	s := newServer(t, Options{})
	api := newAPI(s, botToken)
	// One message per 10 s after a burst of 3: nothing refills during the test.
	s.SetFloor(Floor{PerSecond: 0.1, Burst: 3})

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
	if got := s.RateLimited(); got != 2 {
		t.Errorf("RateLimited() = %d, want 2", got)
	}
	calls := s.Calls("chat.postMessage")
	if last := calls[len(calls)-2]; last.AnswerArg("error") != "ratelimited" {
		t.Errorf("the refused post was recorded with answer %s, want error ratelimited", last.Answer)
	}

	s.SetFloor(Floor{})
	if err := post("C1"); err != nil {
		t.Errorf("with the floor off, C1 takes messages again: %v", err)
	}
}

func TestFloorLatency(t *testing.T) {
	s := newServer(t, Options{})
	api := newAPI(s, botToken)
	const latency = 50 * time.Millisecond
	s.SetFloor(Floor{MinLatency: latency, MaxLatency: latency})
	start := time.Now()
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < latency {
		t.Errorf("chat.postMessage answered in %v, want at least the floor's %v", took, latency)
	}
	if c := s.Calls("chat.postMessage")[0]; c.Time.Sub(start) < latency {
		t.Errorf("the message was recorded %v after the call, want after the %v latency: it is posted when the wait ends", c.Time.Sub(start), latency)
	}
}

// TestFloorLatencyDependsOnTheCallOnly: the n-th call of a kind waits the
// same on every server with the same seed, within the bounds, whatever
// other calls come in between; so two bots making the same calls meet the
// same Slack.
func TestFloorLatencyDependsOnTheCallOnly(t *testing.T) {
	floor := Floor{MinLatency: 100 * time.Millisecond, MaxLatency: 300 * time.Millisecond, Seed: 7}
	post := func(ch, thread string) Call {
		return Call{Method: "chat.postMessage", Form: map[string][]string{"channel": {ch}, "thread_ts": {thread}}}
	}
	a, b := New(Options{}), New(Options{})
	defer a.Close()
	defer b.Close()
	a.SetFloor(floor)
	b.SetFloor(floor)

	var got [2][]time.Duration
	for i, s := range []*Server{a, b} {
		if i == 1 {
			// Other calls in between, on b only.
			s.floorLatency(post("C2", ""))
			s.floorLatency(post("C1", "1.1"))
			s.floorLatency(Call{Method: "chat.update", Form: map[string][]string{"channel": {"C1"}}})
		}
		for range 5 {
			got[i] = append(got[i], s.floorLatency(post("C1", "")))
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
