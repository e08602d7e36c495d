package slackbot

import (
	"context"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/intake"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/wording"
)

// The message shortcut "Transfer this caller": on a message about a call,
// it opens the form for the message's channel with the agent on the call
// set to the message's author when they have an agent entry, and the
// transfer's announcement answers that message with a link to it.

// shortcutCallbackID is the shortcut's callback_id in manifest.yml.
const shortcutCallbackID = "transfer_from_message"

// permalinkBudget bounds the wait for the message's link, asked for while
// the form's decision is made: the link travels in the form, which must
// open within Slack's 3 s.
// A link not had in time is left out; the transfer does not need it.
const permalinkBudget = 500 * time.Millisecond

// onMessageAction handles the shortcut: acked at once, then, like the form
// of /transfer, a requester refused on what is known gets no form. A
// message in a direct message is refused before anything else: the
// transfer would be announced where the floor cannot see it.
func (b *Bot) onMessageAction(evt socketmode.Event, cb slack.InteractionCallback) {
	if cb.CallbackID != shortcutCallbackID {
		b.ack(evt.Request, nil)
		return
	}
	j := &request{path: outcome.Modal, userID: cb.User.ID, channelID: cb.Channel.ID, responseURL: cb.ResponseURL,
		received: time.Now(), dir: b.cfg.Directory(), preset: intake.Preset{AgentUser: cb.Message.User}}
	first := func() bool { return b.firstTime(evt.Request, "trigger", cb.TriggerID) }
	if ok, busy := b.tryStart(""); !ok {
		b.busy(evt.Request, j, "trigger", cb.TriggerID, busy, false)
		return
	}
	if isDirectMessage(cb.Channel) {
		b.ackThenRun(evt.Request, j, "", func() {
			if first() {
				e := j.entry(outcome.Refused)
				e.refuse("shortcut on a message in a direct message " + cb.Channel.ID)
				b.audit(e)
				b.tell(j, wording.ShortcutDM)
			}
		})
		return
	}
	ts := cb.Message.Timestamp
	if ts == "" {
		ts = cb.MessageTs
	}
	b.ackThenRun(evt.Request, j, "", func() {
		// The link is asked for beside the decision, not before it: the
		// form's 3 s hold one round trip, not two.
		link := make(chan string, 1)
		go func() { link <- b.messageLink(j, ts) }()
		j.awaitLink = func() string { return <-link }
		b.openModal(j, cb.TriggerID, first)
	})
}

// messageLink is the link to the message ts of j's channel, within
// permalinkBudget; "" when Slack gave none in time.
func (b *Bot) messageLink(j *request, ts string) string {
	if ts == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(b.work, permalinkBudget)
	defer cancel()
	link, err := b.api.Permalink(ctx, j.channelID, ts)
	if err != nil {
		b.log.Warn("no link to the message of a shortcut: the announcement goes without it",
			zap.String("channel", j.channelID), zap.String("ts", ts), zap.Error(err))
		return ""
	}
	return link
}

// isDirectMessage reports whether a shortcut came from a direct message,
// one to one (D…) or between several people (mpdm-…, whose ids look like
// channels').
func isDirectMessage(c slack.Channel) bool {
	return strings.HasPrefix(c.ID, "D") || c.Name == "directmessage" || strings.HasPrefix(c.Name, "mpdm-")
}
