package slackbot

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/auditchannel"
	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/home"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/wording"
)

// The bot's side of the Home tab (internal/home) and the audit channel
// (internal/auditchannel): the events and the press that reach them, the
// audit lines that feed them, and the links to transfers' threads they
// both show. Both work beside the requests, never in their way.

// startSurfaces starts the Home tab's and the audit channel's workers; the
// function it returns stops them, after a last flush of what is queued.
func (b *Bot) startSurfaces() (stop func()) {
	stopHome := b.home.Start()
	stopAudit := b.auditPost.Start()
	return func() {
		stopAudit()
		stopHome()
	}
}

// onEvent handles an Events API event, already acked: the Home tab. It runs
// on the event loop: the tab is built and published in its own goroutine.
func (b *Bot) onEvent(evt socketmode.Event) {
	e, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		return
	}
	var open *slackevents.AppHomeOpenedEvent
	switch d := e.InnerEvent.Data.(type) {
	case *slackevents.AppHomeOpenedEvent:
		open = d
	case slackevents.AppHomeOpenedEvent:
		open = &d
	}
	if open == nil || open.Tab != "home" || open.User == "" {
		return // the Messages tab, or another event
	}
	b.home.Opened(open.User, open.Channel, open.View)
}

// onHomeAction handles the tab's New transfer button: the form, with a
// channel picker that starts at the first allowed channel. The button's
// value is the app's direct message with the presser, where they are told
// what keeps the form from opening (a Home tab has no response_url).
func (b *Bot) onHomeAction(evt socketmode.Event, cb slack.InteractionCallback, press *slack.BlockAction) {
	dm := press.Value
	j := &request{path: outcome.Modal, userID: cb.User.ID, channelID: b.home.Channel(), received: time.Now(),
		dir: b.cfg.Directory(), pickChannel: true}
	if ok, busy := b.tryStart(""); !ok {
		b.ack(evt.Request, nil)
		b.inflight.Add(1)
		go func() {
			defer b.inflight.Done()
			b.tellInDM(j.userID, dm, busy)
		}()
		return
	}
	first := func() bool { return b.firstTime(evt.Request, "trigger", cb.TriggerID) }
	b.ackThenRun(evt.Request, j, "", func() {
		// Decided here first, so that a refusal is told in the DM; the form
		// then finds the decision in the group cache.
		ctx, cancel := context.WithDeadline(b.work, j.received.Add(formBudget))
		d := b.authorizer.Decide(ctx, j.userID, j.channelID)
		pending := d.Denial == authz.DeniedLookup && ctx.Err() != nil
		cancel()
		if d.Allowed || pending {
			b.openModal(j, cb.TriggerID, first)
			return
		}
		if first() {
			e := j.entry(outcome.Refused)
			e.decision = &d
			b.audit(e)
			b.tellInDM(j.userID, dm, wording.Refusal(d))
			b.home.Opened(j.userID, dm, nil) // the tab still offers the button: redraw it
		}
	})
}

// tellInDM tells userID text in the app's direct message dm, seen by them
// only; without a dm it can only be logged.
func (b *Bot) tellInDM(userID, dm, text string) {
	if dm == "" {
		b.log.Warn("requester not told: no direct message with them known", zap.String("requester", userID), zap.String("message", text))
		return
	}
	ctx, cancel := b.slackCtx()
	defer cancel()
	if err := b.api.PostEphemeral(ctx, dm, userID, text); err != nil {
		b.log.Error("requester not told", zap.String("requester", userID), zap.String("channel", dm),
			zap.String("message", text), zap.Error(err))
	}
}

// toSurfaces hands e's line to the audit channel and e's transfer to its
// requester's Home tab. Neither waits: each puts it in a queue of its own.
func (b *Bot) toSurfaces(e *auditLine) {
	it := auditchannel.Item{At: e.start, Requester: e.requester, Channel: e.channel, Action: e.spec.PlivoAction(),
		Outcome: e.outcome, Spec: e.spec, Reason: e.problem, Thread: e.thread}
	if e.decision != nil && !e.decision.Allowed {
		it.Reason = e.decision.Reason
	}
	b.auditPost.Post(it)
	b.home.Record(home.Transfer{Requester: e.requester, At: e.start, Channel: e.channel, Thread: e.thread,
		Outcome: e.outcome, Spec: e.spec})
}

// threadLinks makes the links to transfers' threads for the Home tab and
// the audit channel. A message's link is its workspace's archive URL, the
// channel and the ts without its dot: one chat.getPermalink answer teaches
// the archive URL, and the rest are made without asking Slack again.
type threadLinks struct {
	api interface {
		Permalink(ctx context.Context, channel, ts string) (string, error)
	}
	log *zap.Logger

	mu      sync.Mutex
	archive string // e.g. "https://acme.slack.com/archives/"; "" until learnt
}

// ThreadLink returns the link to the message ts of channel (a thread's
// parent), or "" when Slack could not say.
func (l *threadLinks) ThreadLink(ctx context.Context, channel, ts string) string {
	l.mu.Lock()
	archive := l.archive
	l.mu.Unlock()
	if archive != "" {
		return archive + channel + "/p" + strings.Replace(ts, ".", "", 1)
	}
	link, err := l.api.Permalink(ctx, channel, ts)
	if err != nil {
		l.log.Warn("no link to a transfer's thread", zap.String("channel", channel), zap.String("ts", ts), zap.Error(err))
		return ""
	}
	// Learnt only when the answer is exactly what the rule makes of it.
	if i := strings.Index(link, "/archives/"); i > 0 {
		if guess := link[:i+len("/archives/")]; guess+channel+"/p"+strings.Replace(ts, ".", "", 1) == link {
			l.mu.Lock()
			l.archive = guess
			l.mu.Unlock()
		}
	}
	return link
}
