// Package auditchannel posts every audit line in the audit channel
// (AUDIT_CHANNEL) too, one message each, so that whoever watches the
// floor's security sees the refusals too, which only their requester saw.
//
// The posts go through one queue and one worker, in the order the lines
// were written, as the channel's least urgent messages: a request only
// puts its line in the queue and goes on, and a post that fails is logged,
// never shown to the requester.
package auditchannel

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/intake"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/slackapi"
	"github.com/coldtransfer/coldtransfer/internal/wording"
)

// Poster posts a message in a channel: *slackapi.API.
type Poster interface {
	PostMessage(ctx context.Context, prio slackapi.Priority, msg slackapi.Message) (ts string, err error)
}

// Linker makes the link to a transfer's thread, the message ts of channel;
// "" when Slack could not say.
type Linker interface {
	ThreadLink(ctx context.Context, channel, ts string) string
}

// Counter counts the posts by result (ok, failed, dropped): a
// *metrics.Metrics, which counts nothing when nil.
type Counter interface {
	AuditChannelPost(result string)
}

// Config holds the audit channel's settings.
type Config struct {
	// Channel is AUDIT_CHANNEL, a channel id; "" for none: Post then does
	// nothing.
	Channel string
	// SlackTimeout bounds one post, retries included. Default 30 s.
	SlackTimeout time.Duration
}

const (
	// queueSize bounds the lines waiting to be posted; past it, a line is
	// dropped from the channel (never from the log) and counted.
	queueSize = 1024
	// flushTimeout bounds how long a shutdown waits for the lines still
	// queued.
	flushTimeout = 5 * time.Second
)

// Channel is the queue of lines on their way to the audit channel.
type Channel struct {
	cfg     Config
	api     Poster
	links   Linker
	metrics Counter
	log     *zap.Logger

	queue  chan Item
	stop   chan struct{}
	done   chan struct{}
	ctx    context.Context // ends flushTimeout after stop: a post in flight is given up
	cancel context.CancelFunc

	posted, failed, dropped atomic.Int64
	// unreachable is set once the fix for a channel the bot cannot post
	// in has been logged: once, not at every line.
	unreachable atomic.Bool
}

// Item is what the channel's line says of one request: a copy, taken when
// its audit line is written.
type Item struct {
	At        time.Time // zero: when it is queued
	Requester string
	Channel   string
	Action    outcome.Action
	Outcome   outcome.Outcome
	Spec      intake.Spec
	Reason    string // why it was refused, or what was wrong with it
	Thread    string // ts of the transfer's announcement, "" for none
}

// New returns the audit channel's queue; it posts nothing until Start. A
// nil m counts nothing.
func New(cfg Config, api Poster, links Linker, m Counter, log *zap.Logger) *Channel {
	if cfg.SlackTimeout <= 0 {
		cfg.SlackTimeout = 30 * time.Second
	}
	if m == nil {
		m = uncounted{}
	}
	a := &Channel{cfg: cfg, api: api, links: links, metrics: m, log: log}
	if cfg.Channel != "" {
		a.queue = make(chan Item, queueSize)
	}
	return a
}

type uncounted struct{}

func (uncounted) AuditChannelPost(string) {}

// Start starts the worker; stop posts what is queued, within 5 s, and
// returns once the worker is done. Without a channel, both do nothing.
func (a *Channel) Start() (stop func()) {
	if a.cfg.Channel == "" {
		return func() {}
	}
	a.stop, a.done = make(chan struct{}), make(chan struct{})
	a.ctx, a.cancel = context.WithCancel(context.Background())
	// Slack has no way to check that the bot may post in a channel without
	// a scope the bot does not otherwise need (conversations.info needs
	// channels:read and groups:read): the first post that fails says how
	// to fix it (post).
	a.log.Info("audit channel set: every audit line is also posted there", zap.String("audit_channel", a.cfg.Channel))
	go a.work()
	return func() {
		close(a.stop)
		flushed := time.AfterFunc(flushTimeout, a.cancel)
		<-a.done
		flushed.Stop()
		a.cancel()
		if n := a.dropped.Load() + a.failed.Load(); n > 0 {
			a.log.Warn("audit lines missing from the audit channel (they are all in this log)", zap.String("audit_channel", a.cfg.Channel),
				zap.Int64("posted", a.posted.Load()), zap.Int64("failed", a.failed.Load()), zap.Int64("dropped", a.dropped.Load()))
		}
	}
}

// Post puts the line of it in the queue. It never waits: a full queue drops the
// line from the channel and counts it.
func (a *Channel) Post(it Item) {
	if a.cfg.Channel == "" {
		return
	}
	if it.At.IsZero() {
		it.At = time.Now()
	}
	select {
	case a.queue <- it:
	default:
		a.metrics.AuditChannelPost("dropped")
		if n := a.dropped.Add(1); n == 1 || n%100 == 0 {
			a.log.Warn("audit line not posted in the audit channel: too many waiting", zap.String("audit_channel", a.cfg.Channel),
				zap.Int("queued", queueSize), zap.Int64("dropped", n))
		}
	}
}

// work is the worker: one post at a time, in order. Once stopped it posts
// what is queued until flushTimeout has passed (the post then in flight is
// given up), and drops the rest.
func (a *Channel) work() {
	defer close(a.done)
	for {
		select {
		case it := <-a.queue:
			a.post(it)
		case <-a.stop:
			for {
				select {
				case it := <-a.queue:
					if a.ctx.Err() != nil {
						a.metrics.AuditChannelPost("dropped")
						a.dropped.Add(1)
						continue
					}
					a.post(it)
				default:
					return
				}
			}
		}
	}
}

// post posts one line. Its thread's link, when it has one, is made here,
// off the request's path.
func (a *Channel) post(it Item) {
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.SlackTimeout)
	defer cancel()
	link := ""
	if it.Thread != "" {
		link = a.links.ThreadLink(ctx, it.Channel, it.Thread)
	}
	// Its own channel, hence its own lane: while Slack holds it back, the
	// lines wait there, behind nothing of a transfer's and in nothing's
	// way.
	_, err := a.api.PostMessage(ctx, slackapi.PriorityMark, slackapi.Message{Channel: a.cfg.Channel, Text: line(it, link)})
	if err == nil {
		a.metrics.AuditChannelPost("ok")
		a.posted.Add(1)
		return
	}
	a.metrics.AuditChannelPost("failed")
	a.failed.Add(1)
	fields := []zap.Field{zap.String("audit_channel", a.cfg.Channel), zap.String("requester", it.Requester),
		zap.String("outcome", string(it.Outcome)), zap.Error(err)}
	switch slackapi.ErrorCode(err) {
	case "not_in_channel", "channel_not_found", "is_archived":
		if a.unreachable.CompareAndSwap(false, true) {
			a.log.Error("cannot post in the audit channel: invite the bot there (/invite in the channel; a private channel needs it), "+
				"or set AUDIT_CHANNEL to the id of a channel it is in (channel details → About, at the bottom); "+
				"audit lines stay in this log", fields...)
			return
		}
	}
	a.log.Warn("audit line not posted in the audit channel (it is in this log)", fields...)
}

// line is the audit channel's line of one request: when, who, how it
// ended, what it asked (as the announcement shows it), why it was refused,
// and its thread.
func line(it Item, link string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!date^%d^{date_short} {time_secs}|%s> <@%s> %s `%s` · %s", it.At.Unix(), it.At.UTC().Format("2006-01-02 15:04:05 UTC"),
		it.Requester, wording.Mark(it.Outcome), it.Outcome, wording.Kind(it.Action))
	if it.Channel != "" {
		fmt.Fprintf(&b, " in <#%s>", it.Channel)
	}
	t := it.Spec
	if to := t.To.String(); to != "" {
		dest := wording.Code(to)
		if t.Destination != "" {
			dest = fmt.Sprintf("%s · %s", wording.Esc(t.Label), dest)
		}
		b.WriteString(" · to " + dest)
	}
	if from := t.TriggerSource.String(); from != "" {
		agent := wording.Code(from)
		if t.Agent != "" {
			agent = fmt.Sprintf("<@%s> · %s", t.Agent, agent)
		}
		b.WriteString(" · agent " + agent)
	}
	if it.Reason != "" {
		b.WriteString(" · reason: " + wording.Esc(it.Reason))
	}
	if link != "" {
		b.WriteString(" · <" + wording.LinkURL(link) + "|thread>")
	}
	return b.String()
}
