// Package slackbot is the bot's Slack side: it takes /transfer commands and
// form submissions over Socket Mode, and answers in the channel and to the
// requester. Who may transfer and how a transfer is made are behind the
// small interfaces Authorizer and Transferer; what it says is in
// internal/wording. The Home tab (internal/home) and the audit channel
// (internal/auditchannel) are rooms of their own: this package routes their
// events to them and feeds them each request's audit line.
package slackbot

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/auditchannel"
	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/home"
	"github.com/coldtransfer/coldtransfer/internal/metrics"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
	"github.com/coldtransfer/coldtransfer/internal/slackapi"
	"github.com/coldtransfer/coldtransfer/internal/store"
)

// Authorizer answers every "may they?" question of a request:
// *authz.Authorizer. Each method may ask Slack for a group's members;
// CacheOnly is the same questions answered from what is known, for the
// paths that must not wait (an ack, a form's 3 s).
type Authorizer interface {
	policy
	Decide(ctx context.Context, userID, channelID string) authz.Decision
	MayTransferTo(ctx context.Context, userID string, dir *directory.Directory, name string, to plivo.Endpoint) (authz.Decision, bool)
	CacheOnly() *authz.Authorizer
}

// policy is what the bot asks to show a requester what they may use.
type policy interface {
	UsableDestinations(ctx context.Context, userID string, dir *directory.Directory) ([]directory.Destination, []int)
	MayType(ctx context.Context, userID string, t directory.Typed) authz.Decision
	MayUseDestination(ctx context.Context, userID string, d directory.Destination) authz.Decision
}

// SlackAPI is what the bot asks of Slack's Web API: *slackapi.API.
type SlackAPI interface {
	CheckAuth(ctx context.Context, log *zap.Logger) (slackapi.Identity, error)
	SocketMode(opts ...socketmode.Option) *socketmode.Client
	PostMessage(ctx context.Context, prio slackapi.Priority, msg slackapi.Message) (ts string, err error)
	UpdateMessage(ctx context.Context, msg slackapi.Message) error
	PostEphemeral(ctx context.Context, channel, user, text string) error
	Respond(ctx context.Context, responseURL, text string) error
	OpenView(ctx context.Context, triggerID string, view slack.ModalViewRequest) error
	ChannelHeld(channel string) bool
	URL() string
	PublishHome(ctx context.Context, userID string, view slack.HomeTabViewRequest) error
	Permalink(ctx context.Context, channel, ts string) (string, error)
}

// Transferer asks Plivo to move a live call: cold, warm, or to abort a
// transfer the agent started.
type Transferer interface {
	ColdTransfer(ctx context.Context, to, triggerSource plivo.Endpoint, role plivo.Role) (plivo.Result, error)
	WarmTransfer(ctx context.Context, to, triggerSource plivo.Endpoint, role plivo.Role) (plivo.Result, error)
	AbortTransfer(ctx context.Context, member plivo.Endpoint) (plivo.Result, error)
}

// Config holds the bot's settings; zero values take the defaults.
type Config struct {
	// DryRun does everything but the Plivo request, and says so.
	DryRun bool
	// NumberFormat is how a dry run shows the numbers it would have sent.
	NumberFormat plivo.NumberFormat
	// MaxInFlight bounds the requests being worked on at once; past it,
	// requesters are told to retry. Default 256.
	MaxInFlight int
	// ShutdownGrace is how long Run waits for in-flight transfers to finish
	// and post their replies once its context ends. Default 25 s.
	ShutdownGrace time.Duration
	// SlackTimeout bounds one Web API call, retries included. Default 30 s.
	SlackTimeout time.Duration
	// PingInterval is how long the Socket Mode client waits for Slack's
	// ping before it reconnects. Default: slack-go's 30 s.
	PingInterval time.Duration
	// Directory returns the floor directory in force, nil for
	// none; each request calls it once and keeps that snapshot. Nil: no
	// directory.
	Directory func() *directory.Directory
	// Metrics counts what the bot does; nil counts nothing.
	Metrics *metrics.Metrics
	// Store holds what several replicas share: the requests
	// already taken, so that a redelivery runs nothing twice, the calls
	// being transferred and the requesters' rates. Default: a
	// store in this process's memory.
	Store store.Store
	// Rate bounds the transfers one requester starts per window
	// (TRANSFER_RATE_PER_USER); the zero value is no bound.
	Rate authz.RateLimit
	// PlivoTimeout is the Plivo client's whole-request timeout
	// (PLIVO_TIMEOUT). A transfer's claim on its call lives that long plus
	// 30 s at most, should its replica die before giving it up. Default
	// 10 s.
	PlivoTimeout time.Duration
	// ClaimHold is how long a call stays claimed after a transfer that
	// Plivo accepted or may have. Default 15 s.
	ClaimHold time.Duration
	// AllowedChannels are TRANSFER_ALLOWED_CHANNELS: the Home tab says
	// where transfers may be asked for, and its form's channel picker
	// starts at the first. Empty: any channel.
	AllowedChannels []string
	// AuditChannel (AUDIT_CHANNEL) is a channel id where every audit line
	// is also posted, one message each; "" for none.
	AuditChannel string
	// HomeInterval is the least time between two publishes of one user's
	// Home tab. Default 10 s.
	HomeInterval time.Duration
}

// Bot answers /transfer over Socket Mode.
type Bot struct {
	cfg        Config
	api        SlackAPI
	sm         *socketmode.Client
	authorizer Authorizer
	transferer Transferer
	log        *zap.Logger
	metrics    *metrics.Metrics

	botUserID string // learnt by CheckAuth, to say whom to invite

	store    store.Store    // ids already taken, calls claimed, rates counted
	limiter  *authz.Limiter // the requesters' rate, on store
	slots    chan struct{}  // one token per request in flight
	overflow chan struct{}  // one token per busy answer being checked for a redelivery
	inflight sync.WaitGroup // every request goroutine, busy answers included

	chMu       sync.Mutex
	perChannel map[string]int // requests in flight that post in each channel
	ready      atomic.Bool
	// envelopeAt is when the event loop took the event it is handling. Only
	// the event loop touches it: handle sets it, ack reads it.
	envelopeAt time.Time

	home      *home.Service         // the Home tabs published, and the work of publishing them
	auditPost *auditchannel.Channel // the audit lines on their way to AUDIT_CHANNEL

	// work is the context of in-flight requests. It outlives Run's context,
	// so that a shutdown lets them finish, and ends when the grace is over.
	work       context.Context
	cancelWork context.CancelFunc
}

// New returns a bot that talks to Slack through api.
func New(cfg Config, api SlackAPI, authorizer Authorizer, transferer Transferer, log *zap.Logger) *Bot {
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 256
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 25 * time.Second
	}
	if cfg.SlackTimeout <= 0 {
		cfg.SlackTimeout = 30 * time.Second
	}
	if cfg.Directory == nil {
		cfg.Directory = func() *directory.Directory { return nil }
	}
	if cfg.Store == nil {
		cfg.Store = store.NewMemory(store.MemoryConfig{})
	}
	if cfg.PlivoTimeout <= 0 {
		cfg.PlivoTimeout = 10 * time.Second
	}
	if cfg.ClaimHold <= 0 {
		cfg.ClaimHold = defaultClaimHold
	}
	opts := []socketmode.Option{socketmode.OptionLog(zap.NewStdLog(log.Named("socketmode")))}
	if cfg.PingInterval > 0 {
		opts = append(opts, socketmode.OptionPingInterval(cfg.PingInterval))
	}
	work, cancel := context.WithCancel(context.Background())
	// The Home tab and the audit channel link to transfers' threads: one
	// set of links, learnt once for both.
	links := &threadLinks{api: api, log: log}
	return &Bot{
		cfg:        cfg,
		api:        api,
		sm:         api.SocketMode(opts...),
		authorizer: authorizer,
		transferer: transferer,
		log:        log,
		metrics:    cfg.Metrics,
		store:      cfg.Store,
		limiter:    authz.NewLimiter(cfg.Store, cfg.Rate),
		slots:      make(chan struct{}, cfg.MaxInFlight),
		overflow:   make(chan struct{}, cfg.MaxInFlight),
		perChannel: make(map[string]int),
		home: home.New(home.Config{Interval: cfg.HomeInterval, AllowedChannels: cfg.AllowedChannels,
			Directory: cfg.Directory, SlackTimeout: cfg.SlackTimeout}, api, authorizer, cfg.Store, links, log),
		auditPost: auditchannel.New(auditchannel.Config{Channel: cfg.AuditChannel, SlackTimeout: cfg.SlackTimeout},
			api, links, cfg.Metrics, log),
		work:       work,
		cancelWork: cancel,
	}
}

// CheckAuth checks the bot token with auth.test (see slackapi's
// API.CheckAuth) and learns the bot's own user id. Call it before Run.
func (b *Bot) CheckAuth(ctx context.Context) (slackapi.Identity, error) {
	id, err := b.api.CheckAuth(ctx, b.log)
	b.botUserID = id.UserID
	return id, err
}

// Ready reports whether the bot holds a live Socket Mode connection.
func (b *Bot) Ready() bool { return b.ready.Load() }

// Run connects to Slack and serves requests until ctx ends, then stops
// taking new work, lets in-flight transfers finish and post their replies
// (up to the shutdown grace), and returns nil. It returns early with a
// *slackapi.TokenRejectedError when Slack refuses the app-level token.
func (b *Bot) Run(ctx context.Context) error {
	conn, disconnect := context.WithCancel(ctx)
	defer disconnect()
	// The Home tab and the audit channel work beside the requests, never
	// in their way; they stop once the requests are done.
	stopSurfaces := b.startSurfaces()
	runErr := make(chan error, 1)
	go func() { runErr <- b.sm.RunContext(conn) }()

	var fatal error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-runErr:
			runErr = nil
			fatal = slackapi.SocketModeError(err)
			break loop
		case evt := <-b.sm.Events:
			if fatal = b.handle(evt); fatal != nil {
				break loop
			}
		}
	}

	b.setReady(false)
	disconnect()
	if runErr != nil {
		<-runErr
	}
	b.drain()
	stopSurfaces()
	return fatal
}

// drain waits for in-flight requests, for the shutdown grace at most; then
// it cancels them and waits until every one has returned, so that what they
// use (the store) can be closed after Run returns.
func (b *Bot) drain() {
	done := make(chan struct{})
	go func() {
		b.inflight.Wait()
		close(done)
	}()
	b.log.Info("stopping: waiting for in-flight transfers", zap.Int("in_flight", len(b.slots)))
	select {
	case <-done:
		return
	case <-time.After(b.cfg.ShutdownGrace):
	}
	b.log.Error("shutdown grace over: cancelling in-flight transfers",
		zap.Int("in_flight", len(b.slots)), zap.Duration("grace", b.cfg.ShutdownGrace))
	b.cancelWork()
	<-done
}
