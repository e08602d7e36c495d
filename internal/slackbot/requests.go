package slackbot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
)

// How a request reached the bot, as the audit line says it.
const (
	pathCommand = "command"
	pathModal   = "modal"
)

// job is one request being worked on, after its ack.
type job struct {
	path        string
	userID      string
	channelID   string
	responseURL string // where to tell the requester things only they see
	transfer    transfer
	received    time.Time
	dir         *directory.Directory // the floor directory as the request found it; nil for none
}

// entry starts the request's audit entry with what the job knows.
func (j *job) entry(outcome string) *auditEntry {
	return &auditEntry{start: j.received, path: j.path, requester: j.userID, channel: j.channelID,
		transfer: j.transfer, outcome: outcome}
}

// ephemeral is a slash command ack's payload: a message only the requester
// sees, answered with no Web API call at all.
type ephemeral struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

func ephemeralAck(text string) ephemeral { return ephemeral{ResponseType: "ephemeral", Text: text} }

// onSlashCommand answers /transfer. Help and invalid input are answered in
// the ack itself; anything that runs is acked first and done in its own
// goroutine, which begins by checking, in the shared store, that the
// request is not a redelivery.
func (b *Bot) onSlashCommand(evt socketmode.Event) {
	cmd, _ := evt.Data.(slack.SlashCommand)
	now := time.Now()
	dir := b.cfg.Directory()
	parsed := parseCommand(cmd.Text, dir, cmd.UserID)

	j := &job{path: pathCommand, userID: cmd.UserID, channelID: cmd.ChannelID, responseURL: cmd.ResponseURL,
		transfer: parsed.transfer, received: now, dir: dir}
	switch parsed.kind {
	case commandHelp:
		b.ack(evt.Request, ephemeralAck(usage(dir)))
		return
	case commandList:
		if text, ok := b.listNow(j); ok {
			b.ack(evt.Request, ephemeralAck(text))
			return
		}
	case commandInvalid:
		b.ack(evt.Request, ephemeralAck(invalidText(parsed.problems, dir)))
		e := j.entry(outcomeInvalid)
		e.problem = strings.Join(parsed.problems, " ")
		if !b.tryStart() {
			b.audit(e) // no room to check for a redelivery: a second line at worst
			return
		}
		go func() {
			defer b.finish()
			if b.firstTime(evt.Request, "trigger", cmd.TriggerID) {
				b.audit(e)
			}
		}()
		return
	case commandModal:
		j.path = pathModal
	}

	if !b.tryStart() {
		b.ack(evt.Request, ephemeralAck(busyText))
		if parsed.kind != commandList { // a list transfers nothing: no audit line
			b.audit(j.entry(outcomeBusy))
		}
		return
	}
	b.ackThenRun(evt.Request, func() {
		if !b.firstTime(evt.Request, "trigger", cmd.TriggerID) {
			return
		}
		switch parsed.kind {
		case commandModal:
			b.openModal(j, cmd.TriggerID)
		case commandList:
			b.list(j)
		default:
			b.run(j)
		}
	})
}

// onInteraction answers form submissions. Invalid input is answered in the
// ack, under the fields; a valid submission closes the form and runs, unless
// the store knows the view (or the envelope) already: a second submission of
// the same form, through any replica, closes it and runs nothing.
func (b *Bot) onInteraction(evt socketmode.Event) {
	cb, _ := evt.Data.(slack.InteractionCallback)
	if cb.Type == slack.InteractionTypeBlockSuggestion && cb.View.CallbackID == modalCallbackID {
		b.onBlockSuggestion(evt, cb)
		return
	}
	if cb.Type != slack.InteractionTypeViewSubmission || cb.View.CallbackID != modalCallbackID {
		b.ack(evt.Request, nil)
		return
	}
	now := time.Now()
	dir := b.cfg.Directory()
	origin, t, fieldErrs := parseSubmission(cb.View, dir)
	if fieldErrs != nil {
		b.ack(evt.Request, slack.NewErrorsViewSubmissionResponse(fieldErrs))
		b.log.Debug("form input refused", zap.String("requester", cb.User.ID), zap.Any("errors", fieldErrs))
		return
	}
	j := &job{path: pathModal, userID: cb.User.ID, channelID: origin.ChannelID, responseURL: origin.ResponseURL,
		transfer: t, received: now, dir: dir}
	if !b.tryStart() {
		// The form stays open, so pressing Transfer again is the retry.
		b.ack(evt.Request, slack.NewErrorsViewSubmissionResponse(map[string]string{blockTo: busyText}))
		b.audit(j.entry(outcomeBusy))
		return
	}
	b.ackThenRun(evt.Request, func() {
		if b.firstTime(evt.Request, "view", cb.View.ID) {
			b.run(j)
		}
	})
}

// slackCtx bounds one Web API call of an in-flight request.
func (b *Bot) slackCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.work, b.cfg.SlackTimeout)
}

// openModal authorises the requester, then opens the form. The trigger id
// lives 3 s, so nothing else runs in between.
func (b *Bot) openModal(j *job, triggerID string) {
	if d := b.decide(j); !d.Allowed {
		e := j.entry(outcomeRefused)
		e.decision = &d
		b.audit(e)
		b.tell(j, refusalText(d))
		return
	}
	ctx, cancel := b.slackCtx()
	defer cancel()
	view, err := b.modalFor(ctx, j)
	if errors.Is(err, errNoDestinations) {
		b.tell(j, noDestinationsText)
		return
	}
	if err == nil {
		_, err = b.api.client.OpenViewContext(ctx, triggerID, view)
	}
	if err != nil {
		b.log.Warn("form not opened", zap.String("requester", j.userID), zap.String("channel", j.channelID), zap.Error(err))
		b.tell(j, modalFailedText(err))
		return
	}
	b.log.Debug("form opened", zap.String("requester", j.userID), zap.String("channel", j.channelID))
}

// run carries out a transfer (SPEC §5): authorise, announce in the channel,
// transfer, and report in the announcement's thread. Each step runs only if
// the one before it succeeded, and the request ends with one audit line.
func (b *Bot) run(j *job) {
	e := j.entry("")
	defer b.audit(e)

	d := b.decide(j)
	e.decide(d)
	if !d.Allowed {
		e.outcome = outcomeRefused
		b.tell(j, refusalText(d))
		return
	}
	if dd, checked := b.checkDestination(j); checked {
		e.decide(dd)
		if !dd.Allowed {
			e.outcome = outcomeRefusedDestination
			b.tell(j, b.destinationRefusalText(j, dd))
			return
		}
	}

	claim, ok := b.checkRateAndClaim(j, e)
	if !ok {
		return
	}

	status := statusPending
	if b.cfg.DryRun {
		status = statusDryRun
	}
	ts, err := b.announce(j, status)
	if err != nil {
		e.outcome, e.err = outcomeNotAnnounced, err
		b.release(claim, e.outcome)
		b.tell(j, announceFailedText(err, b.botUserID, j.channelID))
		return
	}

	o := b.transfer(j)
	e.outcome, e.result, e.err = o.name(), o.result, o.err

	e.replyErr = b.reply(j, ts, o.replyText())
	b.release(claim, e.outcome)
	if e.replyErr != nil {
		b.tell(j, replyLostText(o))
	} else {
		b.metrics.TransferDone(time.Since(j.received))
	}
	b.markAnnouncement(j, ts, o.statusLine())
}

func (b *Bot) decide(j *job) authz.Decision {
	ctx, cancel := b.slackCtx()
	defer cancel()
	return b.authorizer.Decide(ctx, j.userID, j.channelID)
}

// announce posts the message that opens the transfer's thread and returns
// its timestamp.
func (b *Bot) announce(j *job, status string) (string, error) {
	ctx, cancel := b.slackCtx()
	defer cancel()
	text, blocks := announcement(j, status)
	ts, err := b.api.postMessage(ctx, prioAnnounce, chatMessage{Channel: j.channelID, Text: text, Blocks: blocks})
	if err != nil {
		return "", fmt.Errorf("announce transfer: %w", err)
	}
	return ts, nil
}

// transfer asks Plivo for the cold transfer, or in a dry run says what it
// would have asked.
func (b *Bot) transfer(j *job) outcome {
	t := j.transfer
	if b.cfg.DryRun {
		return outcome{dryRun: fmt.Sprintf("cold_transfer to=%s trigger_source=%s role=%s",
			t.to.Format(b.cfg.NumberFormat), t.triggerSource.Format(b.cfg.NumberFormat), t.role)}
	}
	// The Plivo client bounds the call with its own timeout.
	res, err := b.transferer.ColdTransfer(b.work, t.to, t.triggerSource, t.role)
	return outcome{result: res, err: err}
}

func (b *Bot) reply(j *job, ts, text string) error {
	ctx, cancel := b.slackCtx()
	defer cancel()
	_, err := b.api.postMessage(ctx, prioReply, chatMessage{Channel: j.channelID, ThreadTS: ts, Text: text})
	if err != nil {
		return fmt.Errorf("reply in thread: %w", err)
	}
	return nil
}

// markAnnouncement replaces the announcement's status line with the
// outcome. The thread reply already holds the result, so a failure here is
// only logged.
func (b *Bot) markAnnouncement(j *job, ts, status string) {
	ctx, cancel := b.slackCtx()
	defer cancel()
	text, blocks := announcement(j, status)
	if err := b.api.updateMessage(ctx, chatMessage{Channel: j.channelID, TS: ts, Text: text, Blocks: blocks}); err != nil {
		b.log.Warn("announcement not marked", zap.String("channel", j.channelID), zap.String("ts", ts), zap.Error(err))
	}
}

// tell sends the requester a message only they see, through the command's
// response_url, which works even where the bot cannot post; when that fails
// (it expires after 30 minutes), through chat.postEphemeral.
func (b *Bot) tell(j *job, text string) {
	ctx, cancel := b.slackCtx()
	defer cancel()
	var errs []error
	if j.responseURL != "" {
		err := b.api.respond(ctx, j.responseURL, text)
		if err == nil {
			return
		}
		errs = append(errs, err)
	}
	_, err := b.api.client.PostEphemeralContext(ctx, j.channelID, j.userID, slack.MsgOptionText(text, false))
	if err == nil {
		return
	}
	errs = append(errs, fmt.Errorf("chat.postEphemeral: %w", err))
	b.log.Error("requester not told", zap.String("requester", j.userID), zap.String("channel", j.channelID),
		zap.String("message", text), zap.Error(errors.Join(errs...)))
}
