package slackbot_test

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
)

// shortcut uses "Transfer this caller" as user on a message that author
// posted in channel, and returns the message's ts and the ack.
func (h *harness) shortcut(user string, channel slack.Channel, author string) (string, fakeslack.Ack) {
	h.t.Helper()
	ts := h.slack.AddUserMessage(channel.ID, author, "caller on line 2 asks for billing")
	env, err := h.slack.SendMessageAction(h.ctx(), slack.InteractionCallback{
		CallbackID: "transfer_from_message",
		User:       slack.User{ID: user},
		Channel:    channel,
		Message:    slack.Message{Msg: slack.Msg{User: author, Timestamp: ts, Text: "caller on line 2 asks for billing"}},
	})
	if err != nil {
		h.t.Fatalf("send the message shortcut: %v", err)
	}
	return ts, h.ack(env)
}

var floor = slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: floorChannel}, Name: "floor"}}

// On a message of an agent, the form opens for the message's channel with
// that agent on the call; the announcement answers the message, with its
// link.
func TestShortcutPresetsTheAgentAndLinksTheMessage(t *testing.T) {
	h, _ := startWithDirectory(t, floorDirectory, options{})
	ts, ack := h.shortcut(supervisor, floor, alice)
	if ack.Payload != nil {
		t.Errorf("shortcut acked with %s, want an empty ack", ack.Payload)
	}
	v, raw := h.rawView()
	rv := h.slack.Calls("views.open")[0].Arg("view")
	if !strings.Contains(rv, `"initial_user":"`+alice+`"`) {
		t.Errorf("the form does not start with the message's author as the agent on the call: %s", rv)
	}
	if strings.HasPrefix(raw.layout(), "channel:") {
		t.Errorf("the form asks for a channel; it is the message's: %s", raw.layout())
	}
	link := fakeslack.Permalink(floorChannel, ts, "")
	if !strings.Contains(v.view.PrivateMetadata, floorChannel) || !strings.Contains(v.view.PrivateMetadata, link) {
		t.Errorf("private_metadata %s lacks the channel or the message's link %s", v.view.PrivateMetadata, link)
	}

	if _, ack := h.submit(v.pickSubmission(supervisor, "V1", pick{to: "billing", agent: alice})); ack.Payload != nil {
		t.Fatalf("submission refused: %s", ack.Payload)
	}
	tr := h.threadOf(floorChannel, supervisor)
	blocks := viewText([]byte(tr.announcement.Arg("blocks")))
	if !strings.Contains(blocks, "<"+link+"|in answer to this message>") {
		t.Errorf("the announcement does not answer the message %s: %s", link, blocks)
	}
	if upd := viewText([]byte(tr.update.Arg("blocks"))); !strings.Contains(upd, link) {
		t.Errorf("the marked announcement lost the link: %s", upd)
	}
	if body, want := h.plivoBody(1), `{"action":"cold_transfer","to":"+14155550100","role":"agent","trigger_source":"sip:alice@floor.example.com"}`; body != want {
		t.Errorf("Plivo body\n got %s\nwant %s", body, want)
	}
}

// On a message of someone with no agent entry the form opens with no agent.
func TestShortcutOnAMessageOfANonAgent(t *testing.T) {
	h, _ := startWithDirectory(t, floorDirectory, options{})
	h.shortcut(supervisor, floor, stranger)
	h.rawView()
	if rv := h.slack.Calls("views.open")[0].Arg("view"); strings.Contains(rv, "initial_user") {
		t.Errorf("the form starts with an agent: %s", rv)
	}
}

// Refused before any form opens, each with its reason: a channel where
// transfers are not allowed, a direct message, a user not allowed.
func TestShortcutRefusals(t *testing.T) {
	policy := authz.Policy{Users: []string{supervisor}, Groups: []string{floorGroup}, Channels: []string{floorChannel}}
	cases := []struct {
		name    string
		user    string
		channel slack.Channel
		want    string
		reason  string
	}{
		{"channel not allowed", supervisor, slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: otherChannel}, Name: "other"}},
			"can't be transferred from this channel", "channel " + otherChannel + " not allowed"},
		{"direct message between people", supervisor, slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: "D0PEOPLE1"}, Name: "directmessage"}},
			"This message is in a direct message", "shortcut on a message in a direct message D0PEOPLE1"},
		{"group direct message", supervisor, slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: "C0MPDM001"}, Name: "mpdm-ann--bob-1"}},
			"This message is in a direct message", "shortcut on a message in a direct message C0MPDM001"},
		{"user not allowed", stranger, floor, "You are not allowed to transfer calls", "user " + stranger + " not allowed by id or in any allowed group"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := startWithDirectory(t, floorDirectory, options{policy: &policy})
			_, ack := h.shortcut(tc.user, tc.channel, alice)
			if ack.Payload != nil {
				t.Errorf("shortcut acked with %s, want an empty ack", ack.Payload)
			}
			if told := h.responses(1)[0]; !strings.Contains(told, tc.want) {
				t.Errorf("the requester was told %q, want %q", told, tc.want)
			}
			wantAudit(t, h.audit(1), map[string]any{"outcome": "refused", "requester": tc.user, "reason": tc.reason, "path": "modal"})
			h.noneOf("views.open", "chat.postMessage")
			h.noPlivo()
		})
	}
}

// A warm transfer asked for from a message, then aborted: the redrawn
// announcement still answers the message.
func TestShortcutLinkSurvivesAnAbort(t *testing.T) {
	h, _ := startWithDirectory(t, floorDirectory, options{})
	ts, _ := h.shortcut(supervisor, floor, alice)
	link := fakeslack.Permalink(floorChannel, ts, "")
	v, _ := h.rawView()
	sub := v.pickSubmission(supervisor, "V1", pick{to: "billing", agent: alice})
	sub.View.State.Values["how"] = map[string]slack.BlockAction{"how": {Type: "radio_buttons", SelectedOption: slack.OptionBlockObject{Value: "warm"}}}
	if _, ack := h.submit(sub); ack.Payload != nil {
		t.Fatalf("submission refused: %s", ack.Payload)
	}
	tr := h.threadOf(floorChannel, supervisor)
	h.audit(1)
	if body := h.plivoBody(1); !strings.Contains(body, `"action":"warm_transfer"`) {
		t.Fatalf("Plivo body %s, want a warm transfer", body)
	}

	h.press(supervisor, tr, findButton(t, buttonsOf(t, tr.reply.Arg("blocks")), "abort_transfer"))
	aborted, err := h.slack.WaitCall(h.ctx(), "chat.update", func(c fakeslack.Call) bool {
		return c.Arg("ts") == tr.announcement.AnswerArg("ts") && strings.Contains(c.Arg("blocks"), "Transfer aborted")
	})
	if err != nil {
		t.Fatal(err)
	}
	if blocks := viewText([]byte(aborted.Arg("blocks"))); !strings.Contains(blocks, "<"+link+"|in answer to this message>") {
		t.Errorf("the aborted announcement lost its link %s: %s", link, blocks)
	}
}
