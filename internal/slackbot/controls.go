package slackbot

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/intake"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
	"github.com/coldtransfer/coldtransfer/internal/slackapi"
	"github.com/coldtransfer/coldtransfer/internal/store"
	"github.com/coldtransfer/coldtransfer/internal/wording"
)

// A transfer's controls: the buttons under its ✅ thread reply. "Abort
// transfer" (a warm transfer only) asks Plivo to abort it, on the member
// who started it; "Transfer again" opens the form with the agent on the
// call set to where the call just went. A press runs at most once, however
// often it is pressed or redelivered, on any replica.

// The buttons' action ids.
const (
	actionAbort   = "abort_transfer"
	actionAgain   = "transfer_again"
	blockControls = "controls"
)

// staleAfter is how long after its transfer a button still acts: past it
// the call has long moved on.
const staleAfter = 30 * time.Minute

// control is what a button carries (as JSON in its value, under Slack's
// 2000 characters): enough to act, and to redraw the announcement, without
// anything kept in one replica's memory.
type control struct {
	Announcement string `json:"a"`           // the announcement's ts: the thread
	Channel      string `json:"c"`           // where the transfer was asked for
	Requester    string `json:"u"`           // who asked for it
	Path         string `json:"p"`           // how they asked
	To           string `json:"to"`          // where the call went
	From         string `json:"f"`           // the agent who started it: abort's member
	Role         string `json:"r"`           // as what To joined
	Destination  string `json:"d,omitempty"` // its directory name, label and agent id, to redraw
	Label        string `json:"l,omitempty"`
	Agent        string `json:"g,omitempty"`
	Warm         bool   `json:"w,omitempty"`
	At           int64  `json:"at"`          // when Plivo accepted it, Unix seconds
	Permalink    string `json:"m,omitempty"` // the message a shortcut answered, which the redrawn announcement still links
}

// controlOf is the control of j's transfer, announced at ts.
func controlOf(j *request, ts string, at time.Time) control {
	t := j.spec
	return control{Announcement: ts, Channel: j.channelID, Requester: j.userID, Path: string(j.path),
		To: t.To.String(), From: t.TriggerSource.String(), Role: string(t.Role),
		Destination: t.Destination, Label: t.Label, Agent: t.Agent,
		Warm: t.PlivoAction() == outcome.WarmTransfer, At: at.Unix(), Permalink: j.permalink}
}

// request is the transfer c controls, as the announcement showed it.
func (c control) request() (*request, error) {
	to, err := plivo.ParseEndpoint(c.To)
	if err != nil {
		return nil, err
	}
	from, err := plivo.ParseEndpoint(c.From)
	if err != nil {
		return nil, err
	}
	action := outcome.ColdTransfer
	if c.Warm {
		action = outcome.WarmTransfer
	}
	return &request{path: outcome.Path(c.Path), userID: c.Requester, channelID: c.Channel, permalink: c.Permalink, spec: intake.Spec{
		To: to, TriggerSource: from, Role: plivo.Role(c.Role), Destination: c.Destination, Label: c.Label,
		Agent: c.Agent, Action: action}}, nil
}

// replyBlocks are a ✅ thread reply's blocks: its text, then the buttons
// still to press (abort: a warm transfer not yet aborted).
func replyBlocks(text string, c control, abort bool) []slack.Block {
	value, _ := json.Marshal(c)
	var buttons []slack.BlockElement
	if abort {
		b := slack.NewButtonBlockElement(actionAbort, string(value), wording.Plain("Abort transfer"))
		b.Style = slack.StyleDanger
		b.Confirm = slack.NewConfirmationBlockObject(wording.Plain("Abort this transfer?"),
			wording.Plain("Plivo is asked to abort the warm transfer: the agent goes back to the caller."),
			wording.Plain("Abort it"), wording.Plain("Keep it"))
		buttons = append(buttons, b)
	}
	buttons = append(buttons, slack.NewButtonBlockElement(actionAgain, string(value), wording.Plain("Transfer again")))
	return []slack.Block{
		slack.NewSectionBlock(wording.Mrkdwn(text), nil, nil),
		slack.NewActionBlock(blockControls, buttons...),
	}
}

// onBlockActions handles a press of a button under a transfer's thread
// reply: acked at once, then worked on in its own goroutine.
func (b *Bot) onBlockActions(evt socketmode.Event, cb slack.InteractionCallback) {
	i := slices.IndexFunc(cb.ActionCallback.BlockActions, func(a *slack.BlockAction) bool {
		return a.ActionID == actionAbort || a.ActionID == actionAgain
	})
	if i < 0 {
		b.ack(evt.Request, nil)
		return
	}
	press := cb.ActionCallback.BlockActions[i]
	j := &request{path: outcome.Button, userID: cb.User.ID, channelID: cb.Channel.ID, responseURL: cb.ResponseURL,
		received: time.Now(), dir: b.cfg.Directory()}
	var c control
	if err := json.Unmarshal([]byte(press.Value), &c); err != nil || c.Channel == "" {
		b.ack(evt.Request, nil)
		b.log.Warn("button press with an unreadable value ignored", zap.String("presser", cb.User.ID), zap.String("action", press.ActionID))
		return
	}
	j.channelID = c.Channel
	if press.ActionID == actionAgain {
		j.path, j.preset = outcome.Modal, intake.Preset{AgentEndpoint: c.To}
		if ok, busy := b.tryStart(""); !ok {
			b.busy(evt.Request, j, "trigger", cb.TriggerID, busy, false)
			return
		}
		b.ackThenRun(evt.Request, j, "", func() {
			b.openModal(j, cb.TriggerID, func() bool { return b.firstTime(evt.Request, "trigger", cb.TriggerID) })
		})
		return
	}
	j.spec.Action = outcome.AbortTransfer
	if ok, busy := b.tryStart(c.Channel); !ok {
		b.busy(evt.Request, j, "trigger", cb.TriggerID, busy, true)
		return
	}
	b.ackThenRun(evt.Request, j, c.Channel, func() {
		// A redelivered press (same envelope, or same trigger id) runs
		// nothing; a second press is a new request, refused by pressOnce.
		if b.firstTime(evt.Request, "trigger", cb.TriggerID) {
			b.abort(j, c, cb.Container.MessageTs)
		}
	})
}

// abort carries out an Abort transfer press: not stale, the presser
// allowed like a transfer in that channel, at most once for this button on
// any replica; then abort_transfer on the member who started the transfer,
// the result in the thread, the announcement's status line, and the spent
// button removed. One audit line, whatever happens.
func (b *Bot) abort(j *request, c control, replyTS string) {
	e := j.entry("")
	defer b.audit(e)
	if from, err := plivo.ParseEndpoint(c.From); err == nil {
		j.spec.TriggerSource = from
		e.spec = j.spec
	}
	if time.Since(time.Unix(c.At, 0)) > staleAfter {
		e.outcome = outcome.Refused
		e.refuse("stale: the transfer is more than 30 minutes old")
		b.tell(j, wording.Stale)
		return
	}
	if !b.authorize(j, e) {
		return
	}
	if !b.pressOnce(j, e, replyTS) {
		return
	}

	var o wording.Result
	if b.cfg.DryRun {
		o = wording.Result{Action: outcome.AbortTransfer, DryRun: fmt.Sprintf("abort_transfer member=%s", j.spec.TriggerSource.Format(b.cfg.NumberFormat))}
	} else {
		res, err := b.transferer.AbortTransfer(b.work, j.spec.TriggerSource)
		o = wording.Result{Action: outcome.AbortTransfer, Plivo: res, Err: err}
	}
	e.outcome, e.result, e.err = o.Outcome(), o.Plivo, o.Err
	text := wording.AbortReply(o, j.userID)
	if e.replyErr = b.reply(j, c.Announcement, text); e.replyErr != nil {
		b.tell(j, wording.ReplyLost(o, e.replyErr))
	}
	if o.Outcome() != outcome.Transferred {
		return // the announcement stands; the thread says why
	}
	// The announcement says the transfer was aborted; the spent button goes.
	if orig, err := c.request(); err == nil {
		status := wording.AbortedStatus(o)
		b.markAnnouncement(announcementOf(orig).message(c.Announcement, status), status)
	}
	ctx, cancel := b.slackCtx()
	defer cancel()
	if err := b.api.UpdateMessage(ctx, slackapi.Message{Channel: c.Channel, TS: replyTS,
		Text: wording.AbortedReply, Blocks: replyBlocks(wording.AbortedReply, c, false)}); err != nil {
		b.log.Warn("spent Abort button not removed", zap.String("channel", c.Channel), zap.String("ts", replyTS), zap.Error(err))
	}
}

// pressOnce takes this button for j's presser, in the shared store: a
// claim that is never given back, so that two presses together, on any
// replica, run one abort; and, like every claim, it fails closed when the
// store cannot answer. When it refuses, it has filled e and told the
// presser.
func (b *Bot) pressOnce(j *request, e *auditLine, replyTS string) bool {
	ctx, cancel := context.WithTimeout(b.work, storeTimeout)
	defer cancel()
	key := "press:" + j.channelID + ":" + replyTS + ":" + actionAbort
	holder := store.Holder{Token: rand.Text(), User: j.userID, Channel: j.channelID}
	cur, ok, err := b.store.Claim(ctx, key, holder, staleAfter)
	switch {
	case ok:
		return true
	case err != nil:
		e.outcome, e.err = outcome.ClaimUnchecked, fmt.Errorf("take the button: %w", err)
		e.refuse("button press not checked")
		b.tell(j, wording.ClaimUnchecked)
	default:
		e.outcome = outcome.CallClaimed
		e.refuse("abort already pressed by user " + cur.User)
		b.tell(j, wording.AlreadyPressed(cur))
	}
	return false
}
