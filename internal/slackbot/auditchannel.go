package slackbot

import (
	"context"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/intake"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/slackapi"
)

// The audit channel (AUDIT_CHANNEL): every audit line is also posted there,
// one message each, so that whoever watches the floor's security sees the
// refusals too, which only their requester saw. The posts go through one
// queue and one worker, in the order the lines were written, as the
// channel's least urgent messages: a request only puts its line in the
// queue and goes on, and a post that fails is logged, never shown to the
// requester.

// auditQueue bounds the lines waiting to be posted; past it, a line is
// dropped from the channel (never from the log) and counted.
const auditQueue = 1024

// auditChannel is the queue of lines on their way to the audit channel.
type auditChannel struct {
	channel string // "" for none
	queue   chan auditItem
	stop    chan struct{}
	done    chan struct{}
	ctx     context.Context // ends surfacesFlush after stop: a post in flight is given up
	cancel  context.CancelFunc

	posted, failed, dropped atomic.Int64
	// unreachable is set once the fix for a channel the bot cannot post
	// in has been logged: once, not at every line.
	unreachable atomic.Bool
}

// auditItem is what the channel's line says of one request: a copy, taken
// when its audit line is written.
type auditItem struct {
	at        time.Time
	requester string
	channel   string
	action    outcome.Action
	outcome   outcome.Outcome
	spec      intake.Spec
	reason    string // why it was refused, or what was wrong with it
	thread    string // ts of the transfer's announcement, "" for none
}

func newAuditChannel(channel string) *auditChannel {
	a := &auditChannel{channel: channel}
	if channel != "" {
		a.queue = make(chan auditItem, auditQueue)
	}
	return a
}

// start starts the worker; stop posts what is queued, within
// surfacesFlush, and returns once the worker is done.
func (a *auditChannel) start(b *Bot) (stop func()) {
	if a.channel == "" {
		return func() {}
	}
	a.stop, a.done = make(chan struct{}), make(chan struct{})
	a.ctx, a.cancel = context.WithCancel(context.Background())
	// Slack has no way to check that the bot may post in a channel without
	// a scope the bot does not otherwise need (conversations.info needs
	// channels:read and groups:read): the first post that fails says how
	// to fix it (postAudit).
	b.log.Info("audit channel set: every audit line is also posted there", zap.String("audit_channel", a.channel))
	go b.postAuditLines()
	return func() {
		close(a.stop)
		flushed := time.AfterFunc(surfacesFlush, a.cancel)
		<-a.done
		flushed.Stop()
		a.cancel()
		if n := a.dropped.Load() + a.failed.Load(); n > 0 {
			b.log.Warn("audit lines missing from the audit channel (they are all in this log)", zap.String("audit_channel", a.channel),
				zap.Int64("posted", a.posted.Load()), zap.Int64("failed", a.failed.Load()), zap.Int64("dropped", a.dropped.Load()))
		}
	}
}

// queueAudit puts e's line in the audit channel's queue. It never waits: a
// full queue drops the line from the channel and counts it.
func (b *Bot) queueAudit(e *auditLine) {
	a := b.auditPost
	if a.channel == "" {
		return
	}
	it := auditItem{at: e.start, requester: e.requester, channel: e.channel, action: e.spec.PlivoAction(),
		outcome: e.outcome, spec: e.spec, reason: e.problem, thread: e.thread}
	if e.decision != nil && !e.decision.Allowed {
		it.reason = e.decision.Reason
	}
	if it.at.IsZero() {
		it.at = time.Now()
	}
	select {
	case a.queue <- it:
	default:
		b.metrics.AuditChannelPost("dropped")
		if n := a.dropped.Add(1); n == 1 || n%100 == 0 {
			b.log.Warn("audit line not posted in the audit channel: too many waiting", zap.String("audit_channel", a.channel),
				zap.Int("queued", auditQueue), zap.Int64("dropped", n))
		}
	}
}

// postAuditLines is the worker: one post at a time, in order. Once stopped
// it posts what is queued until surfacesFlush has passed (the post then in
// flight is given up), and drops the rest.
func (b *Bot) postAuditLines() {
	a := b.auditPost
	defer close(a.done)
	for {
		select {
		case it := <-a.queue:
			b.postAudit(it)
		case <-a.stop:
			for {
				select {
				case it := <-a.queue:
					if a.ctx.Err() != nil {
						b.metrics.AuditChannelPost("dropped")
						a.dropped.Add(1)
						continue
					}
					b.postAudit(it)
				default:
					return
				}
			}
		}
	}
}

// postAudit posts one line. Its thread's link, when it has one, is made
// here, off the request's path.
func (b *Bot) postAudit(it auditItem) {
	a := b.auditPost
	ctx, cancel := context.WithTimeout(a.ctx, b.cfg.SlackTimeout)
	defer cancel()
	link := ""
	if it.thread != "" {
		link = b.threadLink(ctx, it.channel, it.thread)
	}
	// Its own channel, hence its own lane: while Slack holds it back, the
	// lines wait there, behind nothing of a transfer's and in nothing's
	// way.
	_, err := b.api.PostMessage(ctx, slackapi.PriorityMark, slackapi.Message{Channel: a.channel, Text: auditChannelText(it, link)})
	if err == nil {
		b.metrics.AuditChannelPost("ok")
		a.posted.Add(1)
		return
	}
	b.metrics.AuditChannelPost("failed")
	a.failed.Add(1)
	fields := []zap.Field{zap.String("audit_channel", a.channel), zap.String("requester", it.requester),
		zap.String("outcome", string(it.outcome)), zap.Error(err)}
	switch slackapi.ErrorCode(err) {
	case "not_in_channel", "channel_not_found", "is_archived":
		if a.unreachable.CompareAndSwap(false, true) {
			b.log.Error("cannot post in the audit channel: invite the bot there (/invite in the channel; a private channel needs it), "+
				"or set AUDIT_CHANNEL to the id of a channel it is in (channel details → About, at the bottom); "+
				"audit lines stay in this log", fields...)
			return
		}
	}
	b.log.Warn("audit line not posted in the audit channel (it is in this log)", fields...)
}
