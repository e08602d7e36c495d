package main

// End-to-end tests of the promises that must hold across replicas when
// Slack or Redis misbehave: two bot processes, one fake Slack, one fake
// Plivo, one real redis-server.

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
)

// A call stays claimed however long its transfer's messages wait on
// Slack's Retry-After: with PLIVO_TIMEOUT=100ms a claim lives 30.1 s
// unless renewed; the announcement waits 20 s and the reply 15 s, and a
// second transfer of the call through the other replica at 31 s is
// refused. After the reply the call stays claimed for the 15 s hold.
func TestClaimOutlivesSlowSlack(t *testing.T) {
	t.Parallel()
	c := startClusterWith(t, 2, map[string]string{"PLIVO_TIMEOUT": "100ms"})
	a, b := c.bots[0], c.bots[1]
	c.slack.Fail("chat.postMessage", fakeslack.Failure{Status: 429, RetryAfter: 20}) // the announcement
	c.slack.Fail("chat.postMessage", fakeslack.Failure{Delay: time.Millisecond})     // its retry goes through
	c.slack.Fail("chat.postMessage", fakeslack.Failure{Status: 429, RetryAfter: 15}) // the reply

	const call = "+14152220001"
	claimed := time.Now()
	c.sendTo(a, c.envelope("+14155550001 from "+call))
	if _, err := c.slack.WaitCalls(c.ctx(), "chat.postMessage", 1); err != nil {
		t.Fatal(err)
	}
	// Past the claim's own lifetime, while the announcement or the reply
	// still waits on Slack.
	time.Sleep(time.Until(claimed.Add(31 * time.Second)))
	if replied(c) {
		t.Fatalf("the first transfer replied before 31 s: the test did not keep it waiting on Slack")
	}
	c.sendTo(b, c.envelope("+14155550002 from "+call))
	msgs, err := c.slack.WaitCalls(c.ctx(), "response_url", 1)
	if err != nil {
		t.Fatal(err)
	}
	if text := msgs[0].Arg("text"); !strings.Contains(text, "is transferring the call") {
		t.Errorf("second transfer of the call at 31 s: requester told %q; want refused, the call is claimed", text)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !replied(c) {
		if time.Now().After(deadline) {
			t.Fatal("the first transfer never posted its reply")
		}
		time.Sleep(50 * time.Millisecond) // polling the fake's record with a deadline
	}
	c.posts(1, "two transfers of one call while the first waited on Slack")

	rdb := redis.NewClient(&redis.Options{Addr: c.redis.Addr()})
	defer rdb.Close()
	ttl, err := rdb.PTTL(c.ctx(), "coldtransfer:claim:call:"+call).Result()
	if err != nil || ttl <= 0 || ttl > 15*time.Second {
		t.Errorf("claim after the reply: TTL %v, %v; want the 15 s hold", ttl, err)
	}
	for _, r := range c.bots {
		if n := r.logs.count("call claim lapsed"); n > 0 {
			t.Errorf("replica %s logged that a claim lapsed", r.name)
		}
	}
}

// One Redis hiccup (the server paused past the store's 300 ms bound) does
// not hand out a call that another replica holds: the transfer is refused,
// the requester told to try again, and the audit line says claim_unchecked.
func TestClaimFailsClosedOnRedisHiccup(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 2)
	a, b := c.bots[0], c.bots[1]
	const call = "+14152220002"
	c.sendTo(a, c.envelope("+14155550003 from "+call))
	c.done(1) // the call stays claimed 15 s after its ✅

	if err := syscall.Kill(c.redis.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = syscall.Kill(c.redis.Pid(), syscall.SIGCONT)
		}
	}
	defer resume()
	c.sendTo(b, c.envelope("+14155550004 from "+call))
	msgs, err := c.slack.WaitCalls(c.ctx(), "response_url", 1)
	if err != nil {
		t.Fatal(err)
	}
	if text := msgs[0].Arg("text"); !strings.Contains(text, "could not check whether someone else is transferring this call") {
		t.Errorf("transfer during a Redis pause: requester told %q", text)
	}
	// The audit line is the behaviour here; a request is counted once its
	// line is written.
	c.waitMetric([]*replica{b}, 1, "coldtransfer_requests_total", `outcome="claim_unchecked"`)
	b.logged(t, `"msg":"transfer"`, `"outcome":"claim_unchecked"`)
	resume()
	// No event says that the replica is back on Redis: its warn line is the
	// one sign, and what the operator is told.
	b.waitLog(t, 1, "shared state is back on Redis")

	c.sendTo(b, c.envelope("+14155550005 from "+call))
	msgs, err = c.slack.WaitCalls(c.ctx(), "response_url", 2)
	if err != nil {
		t.Fatal(err)
	}
	if text := msgs[1].Arg("text"); !strings.Contains(text, "is transferring the call") {
		t.Errorf("transfer once Redis answers again: requester told %q; want the claim of replica A", text)
	}
	c.posts(1, "a transfer of a claimed call during a Redis pause")
	if n := b.logs.count("takes call claims from its own memory"); n > 0 {
		t.Error("a pause under 10 s moved claims to memory")
	}
}

// replied reports whether a thread reply reached Slack (answered ok).
func replied(c *cluster) bool {
	for _, m := range c.slack.Calls("chat.postMessage") {
		if m.Arg("thread_ts") != "" && m.AnswerArg("ok") == "true" {
			return true
		}
	}
	return false
}

// Two supervisors press Abort on one warm transfer at the same moment,
// through two replicas: Plivo is asked once, and the other presser is told
// who pressed first.
func TestAbortPressedOnTwoReplicasRunsOnce(t *testing.T) {
	t.Parallel()
	c := startClusterWith(t, 2, map[string]string{"TRANSFER_ALLOWED_USERS": supervisor + ",U456DEF"})
	a, b := c.bots[0], c.bots[1]
	c.sendTo(a, c.envelope("warm +14155550009 from +14152220009"))
	waitFor(t, "the ✅ reply", func() bool { return replied(c) })
	var reply fakeslack.Call
	for _, m := range c.slack.Calls("chat.postMessage") {
		if m.Arg("thread_ts") != "" {
			reply = m
		}
	}
	var blocks []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal([]byte(reply.Arg("blocks")), &blocks); err != nil {
		t.Fatal(err)
	}
	value := ""
	for _, bl := range blocks {
		for _, e := range bl.Elements {
			if e.ActionID == "abort_transfer" {
				value = e.Value
			}
		}
	}
	if value == "" {
		t.Fatalf("no Abort button on the reply %s", reply.Arg("blocks"))
	}
	press := func(user string) fakeslack.Envelope {
		cb := slack.InteractionCallback{
			Type: slack.InteractionTypeBlockActions, User: slack.User{ID: user}, ResponseURL: c.slack.ResponseURL(),
			TriggerID: c.slack.TriggerID(), Team: slack.Team{ID: "T1"}, APIAppID: "A1",
			Container: slack.Container{Type: "message", MessageTs: reply.AnswerArg("ts"), ChannelID: floor},
			ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{
				{ActionID: "abort_transfer", BlockID: "controls", Value: value, Type: "button"},
			}},
		}
		cb.Channel.ID = floor
		return interaction(t, c.nextID(), cb)
	}
	p1, p2 := press(supervisor), press("U456DEF")
	if err := c.slack.SendTo(c.ctx(), a.conn, p1); err != nil {
		t.Fatal(err)
	}
	if err := c.slack.SendTo(c.ctx(), b.conn, p2); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.slack.WaitCalls(c.ctx(), "response_url", 1)
	if err != nil {
		t.Fatal(err)
	}
	if text := msgs[0].Arg("text"); !strings.Contains(text, "already pressed Abort") {
		t.Errorf("the second presser was told %q", text)
	}
	waitFor(t, "the abort", func() bool { return c.plivo.Count() >= 2 })
	c.posts(2, "two presses of one Abort button on two replicas")
}
