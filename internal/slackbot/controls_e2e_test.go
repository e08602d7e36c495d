package slackbot_test

// Warm transfer and the buttons under a transfer's ✅ reply: what a
// supervisor sees for each press, and that a press runs at most once.

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
)

// button is one button of a ✅ reply, as Slack would show it.
type button struct {
	actionID, value string
}

// buttonsOf reads the buttons of a posted message.
func buttonsOf(t *testing.T, blocksJSON string) []button {
	t.Helper()
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if blocksJSON == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(blocksJSON), &blocks); err != nil {
		t.Fatalf("blocks %s: %v", blocksJSON, err)
	}
	var out []button
	for _, b := range blocks {
		if b.Type == "actions" {
			for _, e := range b.Elements {
				out = append(out, button{e.ActionID, e.Value})
			}
		}
	}
	return out
}

// press sends a press of b on the reply message of tr, by user.
func (h *harness) press(user string, tr thread, b button) (fakeslack.Envelope, fakeslack.Ack) {
	h.t.Helper()
	cb := slack.InteractionCallback{
		Type:        slack.InteractionTypeBlockActions,
		User:        slack.User{ID: user},
		ResponseURL: h.slack.ResponseURL(),
		Channel:     slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: tr.reply.Arg("channel")}}},
		Container:   slack.Container{Type: "message", MessageTs: tr.reply.AnswerArg("ts"), ChannelID: tr.reply.Arg("channel")},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{
			{ActionID: b.actionID, BlockID: "controls", Value: b.value, Type: "button"},
		}},
	}
	env, err := h.slack.SendInteraction(h.ctx(), cb)
	if err != nil {
		h.t.Fatalf("press %s: %v", b.actionID, err)
	}
	ack := h.ack(env)
	if ack.Payload != nil {
		h.t.Errorf("press acked with %s, want an empty ack", ack.Payload)
	}
	return env, ack
}

func findButton(t *testing.T, bs []button, id string) button {
	t.Helper()
	for _, b := range bs {
		if b.actionID == id {
			return b
		}
	}
	t.Fatalf("no %s button among %v", id, bs)
	return button{}
}

// A warm transfer: Plivo is asked warm_transfer; the ✅ reply offers Abort
// and Transfer again; Abort asks abort_transfer on the agent who started
// it, answers in the thread, marks the announcement aborted and takes the
// spent button away; a second press and a redelivered press run nothing.
func TestWarmTransferAndAbort(t *testing.T) {
	h := start(t, options{})
	h.command(supervisor, floorChannel, "warm +14155550100 from +14152223333 as customer")
	tr := h.threadOf(floorChannel, supervisor)
	h.audit(1) // the transfer is over: its audit line follows its last message
	if body := h.plivoBody(1); body != `{"action":"warm_transfer","to":"+14155550100","role":"customer","trigger_source":"+14152223333"}` {
		t.Errorf("Plivo body %s", body)
	}
	if text := tr.announcement.Arg("text"); !strings.HasPrefix(text, "Warm transfer requested by") {
		t.Errorf("announcement %q; want it to say warm", text)
	}
	if text := tr.reply.Arg("text"); !strings.Contains(text, "accepted the warm transfer") || !strings.Contains(text, "waits on hold") {
		t.Errorf("reply %q", text)
	}
	bs := buttonsOf(t, tr.reply.Arg("blocks"))
	if len(bs) != 2 {
		t.Fatalf("buttons %v, want Abort and Transfer again", bs)
	}
	abort := findButton(t, bs, "abort_transfer")

	env, _ := h.press(groupMember, tr, abort)
	reqs, err := h.plivo.WaitRequests(h.ctx(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if r := reqs[1]; r.Member != "+14152223333" || r.Action != "abort_transfer" || !strings.HasSuffix(r.Path, "/members/+14152223333") {
		t.Errorf("Plivo got %s %s (member %q, action %q); want abort_transfer on +14152223333", r.Method, r.Path, r.Member, r.Action)
	}
	abortReply, err := h.slack.WaitCall(h.ctx(), "chat.postMessage", func(c fakeslack.Call) bool {
		return c.Arg("thread_ts") == tr.announcement.AnswerArg("ts") && strings.Contains(c.Arg("text"), "abort")
	})
	if err != nil {
		t.Fatal(err)
	}
	if text := abortReply.Arg("text"); !strings.Contains(text, "Plivo accepted the abort") || !strings.Contains(text, "<@"+groupMember+">") {
		t.Errorf("abort reply %q", text)
	}
	if _, err := h.slack.WaitCall(h.ctx(), "chat.update", func(c fakeslack.Call) bool {
		return c.Arg("ts") == tr.announcement.AnswerArg("ts") && strings.Contains(c.Arg("blocks"), "Transfer aborted")
	}); err != nil {
		t.Errorf("announcement never marked aborted: %v", err)
	}
	spent, err := h.slack.WaitCall(h.ctx(), "chat.update", func(c fakeslack.Call) bool { return c.Arg("ts") == tr.reply.AnswerArg("ts") })
	if err != nil {
		t.Fatal(err)
	}
	if left := buttonsOf(t, spent.Arg("blocks")); len(left) != 1 || left[0].actionID != "transfer_again" {
		t.Errorf("buttons after the abort %v, want Transfer again only", left)
	}
	a := h.audit(2)
	wantAudit(t, a, map[string]any{"path": "button", "action": "abort_transfer", "outcome": "transferred", "requester": groupMember})

	// Pressed again by someone else, and the first press redelivered.
	h.press(supervisor, tr, abort)
	if msg := h.responses(1)[0]; !strings.Contains(msg, "already pressed Abort") {
		t.Errorf("second presser told %q", msg)
	}
	if err := h.slack.Send(h.ctx(), env); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the redelivered press to be ignored", func() bool {
		return h.logs.FilterMessage("redelivered request ignored").Len() == 1
	})
	if n := h.plivo.Count(); n != 2 {
		t.Errorf("Plivo received %d requests, want 2 (the transfer and one abort)", n)
	}
}

// A cold transfer's ✅ reply offers Transfer again only, which opens the
// form with the agent on the call set to where the call went, in the same
// channel.
func TestTransferAgainOpensTheForm(t *testing.T) {
	h := start(t, options{})
	h.command(supervisor, floorChannel, "+14155550100 from +14152223333")
	tr := h.threadOf(floorChannel, supervisor)
	h.audit(1)
	bs := buttonsOf(t, tr.reply.Arg("blocks"))
	if len(bs) != 1 {
		t.Fatalf("buttons %v, want Transfer again only", bs)
	}
	h.press(supervisor, tr, findButton(t, bs, "transfer_again"))
	v := h.openedView()
	if !strings.Contains(v.view.PrivateMetadata, floorChannel) {
		t.Errorf("form private_metadata %q, want the transfer's channel", v.view.PrivateMetadata)
	}
	raw := h.slack.Calls("views.open")[0].Arg("view")
	if !strings.Contains(raw, `"initial_value":"+14155550100"`) {
		t.Errorf("form %s; want the agent on the call preset to +14155550100", raw)
	}
	// Refused to someone not allowed: no form.
	h.press(stranger, tr, findButton(t, bs, "transfer_again"))
	if msg := h.responses(1)[0]; !strings.Contains(msg, "not allowed") {
		t.Errorf("stranger told %q", msg)
	}
	if n := len(h.slack.Calls("views.open")); n != 1 {
		t.Errorf("views.open called %d times, want once", n)
	}
}

// Presses that must not reach Plivo: by someone not allowed, on a
// transfer past 30 minutes; and one Plivo refuses: the thread says why,
// the announcement and the button stay.
func TestAbortRefusalsAndFailures(t *testing.T) {
	h := start(t, options{})
	h.command(supervisor, floorChannel, "warm +14155550100 from +14152223333")
	tr := h.threadOf(floorChannel, supervisor)
	h.audit(1) // the transfer is over: its audit line follows its last message
	abort := findButton(t, buttonsOf(t, tr.reply.Arg("blocks")), "abort_transfer")

	h.press(stranger, tr, abort)
	if msg := h.responses(1)[0]; !strings.Contains(msg, "not allowed") {
		t.Errorf("stranger told %q", msg)
	}
	wantAudit(t, h.audit(2), map[string]any{"path": "button", "action": "abort_transfer", "outcome": "refused"})

	var c map[string]any
	if err := json.Unmarshal([]byte(abort.value), &c); err != nil {
		t.Fatal(err)
	}
	c["at"] = time.Now().Add(-31 * time.Minute).Unix()
	stale, _ := json.Marshal(c)
	h.press(supervisor, tr, button{"abort_transfer", string(stale)})
	if msg := h.responses(2)[1]; !strings.Contains(msg, "more than 30 minutes old") {
		t.Errorf("stale press answered %q", msg)
	}
	if n := h.plivo.Count(); n != 1 {
		t.Fatalf("Plivo received %d requests, want only the transfer", n)
	}

	h.plivo.Respond(fakeplivo.Response{Status: 404, Body: "{}"})
	h.press(supervisor, tr, abort)
	failed, err := h.slack.WaitCall(h.ctx(), "chat.postMessage", func(c fakeslack.Call) bool {
		return c.Arg("thread_ts") == tr.announcement.AnswerArg("ts") && strings.Contains(c.Arg("text"), "Not aborted")
	})
	if err != nil {
		t.Fatal(err)
	}
	if text := failed.Arg("text"); !strings.Contains(text, "HTTP 404") {
		t.Errorf("failed abort reply %q", text)
	}
	wantAudit(t, h.audit(4), map[string]any{"action": "abort_transfer", "outcome": "failed"})
	for _, c := range h.slack.Calls("chat.update") {
		if strings.Contains(c.Arg("blocks"), "aborted") {
			t.Errorf("announcement marked aborted after Plivo refused: %s", c.Arg("blocks"))
		}
	}
}
