package slackbot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
)

const auditChannel = "CAUDIT01"

// auditPosts returns the messages posted in the audit channel so far.
func (h *harness) auditPosts() []fakeslack.Call {
	var posts []fakeslack.Call
	for _, c := range h.slack.Calls("chat.postMessage") {
		if c.Arg("channel") == auditChannel {
			posts = append(posts, c)
		}
	}
	return posts
}

// waitAuditPosts waits for n messages in the audit channel that Slack
// accepted and returns their texts.
func (h *harness) waitAuditPosts(n int) []string {
	h.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		var texts []string
		for _, c := range h.auditPosts() {
			if ok(c) {
				texts = append(texts, viewText([]byte(c.Arg("text"))))
			}
		}
		if len(texts) >= n {
			return texts
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("wanted %d lines in the audit channel, got %d: %q", n, len(texts), texts)
		}
		time.Sleep(5 * time.Millisecond) // polling the fake's record with a deadline
	}
}

// Every request that writes an audit line posts one line in the audit
// channel: a transfer with its thread, a refusal with its reason, invalid
// input with what was wrong; nothing else is posted there.
func TestAuditChannelGetsOneLinePerRequest(t *testing.T) {
	h, _ := startWithDirectory(t, floorDirectory, options{auditChannel: auditChannel})
	h.command(supervisor, floorChannel, "billing from <@UAGENT01|alice>")
	tr := h.threadOf(floorChannel, supervisor)
	h.audit(1)
	h.command(stranger, floorChannel, "billing from +14152223333")
	h.audit(2)
	h.command(supervisor, floorChannel, "+1 415")
	h.audit(3)
	h.command(supervisor, floorChannel, "list") // not a request that is audited
	h.command(supervisor, floorChannel, "help")

	lines := h.waitAuditPosts(3)
	link := fakeslack.Permalink(floorChannel, tr.announcement.AnswerArg("ts"), "")
	wantIn(t, "the transfer's line", lines[0], []string{
		"<!date^", "<@" + supervisor + "> :white_check_mark: `transferred` · cold transfer in <#" + floorChannel + ">",
		"to Billing queue · `+14155550100`", "agent <@" + alice + "> · `sip:alice@floor.example.com`", "<" + link + "|thread>",
	}, []string{"reason"})
	wantIn(t, "the refusal's line", lines[1], []string{
		"<@" + stranger + "> :no_entry: `refused`", "to Billing queue · `+14155550100`", "agent `+14152223333`",
		"reason: user " + stranger + " not allowed by id or in any allowed group",
	}, []string{"|thread>"})
	wantIn(t, "the invalid command's line", lines[2], []string{"<@" + supervisor + "> :warning: `invalid`", "reason: "}, nil)

	if err := h.shutdown(); err != nil {
		t.Fatal(err)
	}
	if n, audits := len(h.auditPosts()), h.logs.FilterMessage("transfer").Len(); n != audits {
		t.Errorf("%d lines in the audit channel for %d audit lines", n, audits)
	}
}

// An audit channel the bot cannot post in changes nothing for the
// requester; it is logged once with how to fix it, then each line that
// could not be posted at warning level.
func TestAuditChannelFailingIsNotShown(t *testing.T) {
	h := start(t, options{auditChannel: auditChannel})
	h.slack.SetNotInChannel(auditChannel)
	h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	tr := h.threadOf(floorChannel, supervisor)
	h.command(stranger, floorChannel, "+14152225555 from +14152223334")
	if told := h.responses(1)[0]; !strings.Contains(told, "You are not allowed to transfer calls") {
		t.Errorf("the stranger was told %q", told)
	}
	if !strings.Contains(tr.reply.Arg("text"), "Plivo accepted") {
		t.Errorf("reply %q", tr.reply.Arg("text"))
	}
	if err := h.shutdown(); err != nil {
		t.Fatal(err)
	}
	if n := len(h.auditPosts()); n != 2 {
		t.Errorf("%d posts tried in the audit channel, want 2", n)
	}
	if n := h.logs.FilterMessage("transfer").Len(); n != 2 {
		t.Errorf("%d audit lines, want 2", n)
	}
	fix := h.logs.FilterMessageSnippet("cannot post in the audit channel: invite the bot").All()
	if len(fix) != 1 {
		t.Errorf("%d errors saying how to fix the audit channel, want 1", len(fix))
	}
	if n := h.logs.FilterMessageSnippet("audit line not posted in the audit channel").Len(); n != 1 {
		t.Errorf("%d warnings of a line not posted, want 1 (the second line)", n)
	}
	// Only the requester's own messages: none in the audit channel told them
	// anything, and none of theirs mentions it.
	for _, c := range append(h.slack.Calls("response_url"), h.slack.Calls("chat.postEphemeral")...) {
		if strings.Contains(c.Arg("text"), auditChannel) || strings.Contains(c.Arg("text"), "audit") {
			t.Errorf("the requester was told about the audit channel: %q", c.Arg("text"))
		}
	}
}

// slowChannel is a Slack that takes its time with the messages of one
// channel.
type slowChannel struct {
	channel string
	latency time.Duration
}

func (s slowChannel) Latency(c fakeslack.Call) time.Duration {
	if c.Method == "chat.postMessage" && c.Arg("channel") == s.channel {
		return s.latency
	}
	return 0
}

func (slowChannel) Admit(fakeslack.Call) (int, bool) { return 0, true }

// An audit channel that hangs holds up no transfer: each post there takes
// Slack a minute, the bot gives one up after 30 s, and the transfers run to
// their replies and audit lines (which the harness waits 10 s for) all the
// same.
func TestAuditChannelNeverDelaysATransfer(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{BotToken: botToken, AppToken: appToken, BotUserID: "UBOT0001",
		Throttle: slowChannel{channel: auditChannel, latency: time.Minute}})
	t.Cleanup(fs.Close)
	h := start(t, options{slack: fs, auditChannel: auditChannel})
	for i, from := range []string{"+14152223333", "+14152223334", "+14152223335"} {
		h.command(supervisor, floorChannel, "+14152225555 from "+from)
		h.audit(i + 1)
	}
	replies := 0
	for _, c := range h.slack.Calls("chat.postMessage") {
		if c.Arg("channel") == floorChannel && c.Arg("thread_ts") != "" && ok(c) {
			replies++
		}
	}
	if replies != 3 {
		t.Errorf("%d thread replies, want 3", replies)
	}
	// The fake records a call once its latency is over.
	if n := len(h.auditPosts()); n != 0 {
		t.Errorf("%d audit-channel posts answered already; the test proves nothing", n)
	}
}
