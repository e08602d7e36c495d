package slackbot

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"go.uber.org/zap"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/intake"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/slackapi"
	"github.com/coldtransfer/coldtransfer/internal/wording"
)

// The transfer pipeline: authorise, claim, announce, ask Plivo, reply and
// mark, release, and one audit line, whatever happens.

// request is one request being worked on, after its ack: who asked, where,
// how, for what, and the floor directory it found.
type request struct {
	path        outcome.Path
	userID      string
	channelID   string
	responseURL string // where to tell the requester things only they see
	spec        intake.Spec
	received    time.Time
	dir         *directory.Directory // the floor directory as the request found it; nil for none
	preset      intake.Preset        // what the form opens with filled in
	pickChannel bool                 // the form asks for the channel: channelID is where it starts (the Home tab)
	permalink   string               // the message a shortcut was used on: the announcement answers it
	awaitLink   func() string        // a shortcut's form: the permalink being asked for, waited on as the form is built
}

// entry starts the request's audit line with what the request knows.
func (j *request) entry(o outcome.Outcome) *auditLine {
	return &auditLine{start: j.received, path: j.path, requester: j.userID, channel: j.channelID,
		spec: j.spec, outcome: o}
}

// announced is what j's announcement shows of it.
func (j *request) announced() wording.Transfer {
	return wording.Transfer{Requester: j.userID, Path: j.path, Spec: j.spec, Permalink: j.permalink}
}

// slackCtx bounds one Web API call of an in-flight request.
func (b *Bot) slackCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.work, b.cfg.SlackTimeout)
}

// run carries out a spec: authorise, announce in the channel,
// transfer, and report in the announcement's thread. Each step runs only if
// the one before it succeeded, and the request ends with one audit line,
// even if it panics.
func (b *Bot) run(j *request) {
	e := j.entry("")
	var claim *callClaim
	plivoAsked := false
	defer func() {
		if r := recover(); r != nil {
			e.outcome, e.err = outcome.Failed, fmt.Errorf("panic: %v", r)
			if plivoAsked {
				e.outcome = outcome.Unknown
			}
			b.panicked(j, r, auditFields(e))
			b.tell(j, wording.Panic(plivoAsked))
			if claim != nil {
				b.release(claim, e.outcome)
			}
		}
		b.audit(e)
	}()

	if !b.authorize(j, e) {
		return
	}
	if dd, checked := b.mayTransferTo(j); checked {
		e.addDecision(dd)
		if !dd.Allowed {
			e.outcome = outcome.RefusedDestination
			b.tell(j, b.destinationRefusalText(j, dd))
			return
		}
	}

	claim, ok := b.checkRateAndClaim(j, e)
	if !ok {
		return
	}

	status := wording.StatusPending
	if b.cfg.DryRun {
		status = wording.StatusDryRun
	}
	ann := announcementOf(j)
	ts, err := b.announce(ann, status)
	if err != nil {
		e.outcome, e.err = outcome.NotAnnounced, err
		b.release(claim, e.outcome)
		claim = nil
		b.tell(j, wording.AnnounceFailed(err, b.botUserID, j.channelID))
		return
	}
	e.thread = ts

	var o wording.Result
	if h, lost := claim.lost(); lost {
		o = wording.Result{Action: j.spec.PlivoAction(), LostTo: &h}
	} else {
		plivoAsked = true
		o = b.askPlivo(j)
	}
	e.outcome, e.result, e.err = o.Outcome(), o.Plivo, o.Err

	// The reply and the ✅/❌ mark go side by side: the mark never delays
	// the reply by a round trip, and in a channel Slack holds back, the
	// lanes still send the reply first.
	marked := make(chan struct{})
	go func() {
		defer close(marked)
		status := o.Status()
		b.markAnnouncement(ann.message(ts, status), status)
	}()
	text := o.Reply()
	var controls []slack.Block
	if e.outcome == outcome.Transferred {
		controls = replyBlocks(text, controlOf(j, ts, time.Now()), o.Action == outcome.WarmTransfer)
	}
	e.replyErr = b.reply(j, ts, text, controls...)
	b.release(claim, e.outcome)
	claim = nil
	if e.replyErr != nil {
		b.tell(j, wording.ReplyLost(o, e.replyErr))
	} else {
		b.metrics.TransferDone(time.Since(j.received))
	}
	<-marked
}

// panicked logs a panic that one request's goroutine recovered from, with
// the request's fields and the stack, and counts it: the bot goes on with
// every other request.
func (b *Bot) panicked(j *request, r any, fields []zap.Field) {
	b.metrics.Panic()
	b.log.Error("panic while handling a request; the request failed, the bot goes on",
		append(fields, zap.Any("panic", r), zap.String("stack", string(debug.Stack())))...)
}

// mayTransferTo applies the directory's destination policy to j.
func (b *Bot) mayTransferTo(j *request) (authz.Decision, bool) {
	ctx, cancel := b.slackCtx()
	defer cancel()
	return b.authorizer.MayTransferTo(ctx, j.userID, j.dir, j.spec.Destination, j.spec.To)
}

// authorize decides whether j's requester may transfer in j's channel, and
// writes the decision on e; a refusal is told to the requester and ends
// the request as refused.
func (b *Bot) authorize(j *request, e *auditLine) bool {
	ctx, cancel := b.slackCtx()
	defer cancel()
	d := b.authorizer.Decide(ctx, j.userID, j.channelID)
	e.addDecision(d)
	if !d.Allowed {
		e.outcome = outcome.Refused
		b.tell(j, wording.Refusal(d))
	}
	return d.Allowed
}

// announcement is a transfer's announcement but its status line, drawn
// once: its post and its mark differ only in the status line.
type announcement struct {
	channel string
	text    string
	head    []slack.Block
}

// announcementOf draws j's announcement.
func announcementOf(j *request) announcement {
	text, head := wording.AnnouncementHead(j.announced())
	return announcement{channel: j.channelID, text: text, head: head}
}

// message is the announcement with status as its status line; ts is the
// message it replaces, "" for the post.
func (a announcement) message(ts, status string) slackapi.Message {
	blocks := append(a.head[:len(a.head):len(a.head)], wording.StatusLine(status))
	return slackapi.Message{Channel: a.channel, TS: ts, Text: a.text, Blocks: blocks}
}

// announce posts the message that opens the transfer's thread and returns
// its timestamp.
func (b *Bot) announce(ann announcement, status string) (string, error) {
	ctx, cancel := b.slackCtx()
	defer cancel()
	ts, err := b.api.PostMessage(ctx, slackapi.PriorityAnnounce, ann.message("", status))
	if err != nil {
		return "", fmt.Errorf("announce spec: %w", err)
	}
	return ts, nil
}

// transfer asks Plivo for the cold transfer, or in a dry run says what it
// would have asked.
func (b *Bot) askPlivo(j *request) wording.Result {
	t := j.spec
	action := t.PlivoAction()
	if b.cfg.DryRun {
		return wording.Result{Action: action, DryRun: fmt.Sprintf("%s to=%s trigger_source=%s role=%s", action,
			t.To.Format(b.cfg.NumberFormat), t.TriggerSource.Format(b.cfg.NumberFormat), t.Role)}
	}
	// The Plivo client bounds the call with its own timeout.
	ask := b.transferer.ColdTransfer
	if action == outcome.WarmTransfer {
		ask = b.transferer.WarmTransfer
	}
	res, err := ask(b.work, t.To, t.TriggerSource, t.Role)
	return wording.Result{Action: action, Plivo: res, Err: err}
}

// reply posts text in the thread of the announcement ts, with blocks when
// there are any (a ✅ reply's buttons).
func (b *Bot) reply(j *request, ts, text string, blocks ...slack.Block) error {
	ctx, cancel := b.slackCtx()
	defer cancel()
	_, err := b.api.PostMessage(ctx, slackapi.PriorityReply, slackapi.Message{Channel: j.channelID, ThreadTS: ts, Text: text, Blocks: blocks})
	if err != nil {
		return fmt.Errorf("reply in thread: %w", err)
	}
	return nil
}

// markTimeout bounds the ✅/❌ mark. It is the least urgent message of a
// channel that Slack rate-limits, and waits its turn (slackapi's lanes) behind
// announcements and replies for longer than one Web API call's bound; a
// mark dropped early would leave ⏳ in the channel's history.
const markTimeout = 3 * time.Minute

// markAnnouncement replaces the announcement with mark, its message with
// the outcome as its status line (announcement.message). The thread reply
// already holds the result, so a failure here is logged, at error level
// with what the channel still shows.
func (b *Bot) markAnnouncement(mark slackapi.Message, status string) {
	ctx, cancel := context.WithTimeout(b.work, markTimeout)
	defer cancel()
	if err := b.api.UpdateMessage(ctx, mark); err != nil {
		b.log.Error("announcement not marked: it still shows that Plivo is being asked; the thread has the result",
			zap.String("channel", mark.Channel), zap.String("ts", mark.TS), zap.String("status", status), zap.Error(err))
	}
}

// tell sends the requester a message only they see, through the command's
// response_url, which works even where the bot cannot post; when that fails
// (it expires after 30 minutes), through chat.postEphemeral.
func (b *Bot) tell(j *request, text string) {
	ctx, cancel := b.slackCtx()
	defer cancel()
	var errs []error
	if j.responseURL != "" {
		err := b.api.Respond(ctx, j.responseURL, text)
		if err == nil {
			return
		}
		errs = append(errs, err)
	}
	err := b.api.PostEphemeral(ctx, j.channelID, j.userID, text)
	if err == nil {
		return
	}
	errs = append(errs, err)
	b.log.Error("requester not told", zap.String("requester", j.userID), zap.String("channel", j.channelID),
		zap.String("message", text), zap.Error(errors.Join(errs...)))
}
