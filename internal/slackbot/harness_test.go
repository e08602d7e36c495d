package slackbot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
	"github.com/coldtransfer/coldtransfer/internal/metrics"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
	"github.com/coldtransfer/coldtransfer/internal/slackapi"
	"github.com/coldtransfer/coldtransfer/internal/slackbot"
	"github.com/coldtransfer/coldtransfer/internal/store"
)

// The secrets of the test world; none of them may ever show up in a log
// line or a Slack message.
const (
	botToken       = "xoxb-1111-2222-bottokensecret"
	appToken       = "xapp-1-A1-3333-apptokensecret"
	plivoAuthID    = "MAFAKEAUTHID00000001"
	plivoAuthToken = "plivoAuthTokenSecret0123456789abcdefABCD"
	phloID         = "2f6e7c1a-8d7b-4f2e-9a51-0c3e5d7b9a12"
	nodeID         = "7b3c2d1e-0f9a-4b8c-9d7e-6f5a4b3c2d1e"
)

// The people and places of the test world.
const (
	supervisor   = "USUPER1"  // allowed by id
	groupMember  = "UGROUP01" // allowed through floorGroup
	stranger     = "USTRANGE" // allowed by nothing
	floorGroup   = "SFLOOR01"
	floorChannel = "CFLOOR01"
	otherChannel = "COTHER01"
)

// waitTimeout bounds every wait of a test: long enough for a slow CI
// machine under -race, short enough to fail a hung test quickly.
const waitTimeout = 10 * time.Second

type options struct {
	dryRun       bool
	maxInFlight  int
	policy       *authz.Policy
	plivoTimeout time.Duration
	plivoURL     string // instead of the fake Plivo's
	grace        time.Duration
	directory    func() *directory.Directory                   // the floor directory in force; nil for none
	authorizer   func(slackbot.Authorizer) slackbot.Authorizer // wraps the real one, e.g. to hold a request
	metrics      *metrics.Metrics                              // wired as cmd/bot wires it; nil: none
	store        store.Store                                   // instead of the bot's own memory
	rate         authz.RateLimit                               // TRANSFER_RATE_PER_USER; zero: no bound
	claimHold    time.Duration                                 // how long a call stays claimed after ✅/⚠️; zero: 15 s
	slack        *fakeslack.Server                             // a fake Slack shared with other bots (replicas); nil: one of its own
	httpTimeout  time.Duration                                 // one Slack HTTP attempt's bound; zero: the bot's default
	slackTimeout time.Duration                                 // one Web API call's bound, retries included; zero: the bot's default
	auditChannel string                                        // AUDIT_CHANNEL; "" for none
	homeInterval time.Duration                                 // least time between two publishes of one Home tab; zero: 10 s
}

// newFakeSlack returns the fake Slack of the test world.
func newFakeSlack() *fakeslack.Server {
	return fakeslack.New(fakeslack.Options{BotToken: botToken, AppToken: appToken, BotUserID: "UBOT0001"})
}

// harness is one bot wired to a fake Slack and a fake Plivo on loopback.
type harness struct {
	t      *testing.T
	slack  *fakeslack.Server
	plivo  *fakeplivo.Server
	bot    *slackbot.Bot
	logs   *observer.ObservedLogs
	raw    *syncBuffer // every log line, JSON-encoded, at debug level
	stop   context.CancelFunc
	done   chan error
	stopMu sync.Once
}

func start(t *testing.T, opts options) *harness {
	t.Helper()
	fs, ownSlack := opts.slack, opts.slack == nil
	if ownSlack {
		fs = newFakeSlack()
	}
	connsBefore := len(fs.Conns())
	fs.SetGroupMembers(floorGroup, groupMember)
	fp := fakeplivo.New(plivoAuthID, plivoAuthToken)

	policy := authz.Policy{Users: []string{supervisor}, Groups: []string{floorGroup}}
	if opts.policy != nil {
		policy = *opts.policy
	}
	if opts.plivoTimeout == 0 {
		opts.plivoTimeout = 5 * time.Second
	}
	plivoURL := fp.URL()
	if opts.plivoURL != "" {
		plivoURL = opts.plivoURL
	}
	pc, err := plivo.New(plivo.Config{
		BaseURL: plivoURL, AuthID: plivoAuthID, AuthToken: plivoAuthToken,
		PhloID: phloID, NodeID: nodeID, Timeout: opts.plivoTimeout,
		Observe: opts.metrics.PlivoRequest,
	})
	if err != nil {
		t.Fatalf("plivo.New: %v", err)
	}

	core, logs := observer.New(zapcore.DebugLevel)
	raw := &syncBuffer{}
	jsonCore := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(raw), zapcore.DebugLevel)
	log := zap.New(zapcore.NewTee(core, jsonCore))

	var hc *http.Client
	if opts.httpTimeout > 0 {
		hc = &http.Client{Timeout: opts.httpTimeout}
	}
	api := slackapi.New(slackapi.Config{
		BotToken: botToken, AppToken: appToken, URL: fs.APIURL(),
		RetryBaseDelay: 10 * time.Millisecond,
		Metrics:        opts.metrics,
		HTTPClient:     hc,
	})
	var az slackbot.Authorizer = authz.New(policy, api)
	if opts.authorizer != nil {
		az = opts.authorizer(az)
	}
	bot := slackbot.New(slackbot.Config{
		DryRun:        opts.dryRun,
		MaxInFlight:   opts.maxInFlight,
		ShutdownGrace: opts.grace,
		Directory:     opts.directory,
		Metrics:       opts.metrics,
		Store:         opts.store,
		Rate:          opts.rate,
		ClaimHold:     opts.claimHold,
		PlivoTimeout:  opts.plivoTimeout,
		SlackTimeout:  opts.slackTimeout,

		AllowedChannels: policy.Channels,
		AuditChannel:    opts.auditChannel,
		HomeInterval:    opts.homeInterval,
	}, api, az, pc, log)

	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, slack: fs, plivo: fp, bot: bot, logs: logs, raw: raw, stop: cancel, done: make(chan error, 1)}
	if _, err := bot.CheckAuth(ctx); err != nil {
		t.Fatalf("CheckAuth: %v", err)
	}
	go func() { h.done <- bot.Run(ctx) }()
	t.Cleanup(func() {
		h.shutdown()
		if ownSlack {
			fs.Close()
		}
		fp.Close()
	})
	if err := fs.WaitConns(h.ctx(), connsBefore+1); err != nil {
		t.Fatalf("bot never connected: %v", err)
	}
	return h
}

// ctx is a context for one wait of the test.
func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	h.t.Cleanup(cancel)
	return ctx
}

// shutdown stops the bot as SIGTERM would and returns what Run returned.
func (h *harness) shutdown() error {
	h.stopMu.Do(h.stop)
	select {
	case err := <-h.done:
		h.done <- err // let a second call see it too
		return err
	case <-time.After(40 * time.Second):
		h.t.Fatal("Run did not return after its context ended")
		return nil
	}
}

// command types /transfer text as user in channel and returns the envelope
// and its ack.
func (h *harness) command(user, channel, text string) (fakeslack.Envelope, fakeslack.Ack) {
	h.t.Helper()
	env, err := h.slack.SendSlashCommand(h.ctx(), slack.SlashCommand{UserID: user, UserName: "name-" + user, ChannelID: channel, Text: text})
	if err != nil {
		h.t.Fatalf("send /transfer %s: %v", text, err)
	}
	return env, h.ack(env)
}

func (h *harness) ack(env fakeslack.Envelope) fakeslack.Ack {
	h.t.Helper()
	ack, err := h.slack.WaitAck(h.ctx(), env.EnvelopeID)
	if err != nil {
		h.t.Fatalf("envelope %s never acked: %v", env.EnvelopeID, err)
	}
	return ack
}

// ackText is the ephemeral text a slash command's ack carried, "" for none.
func ackText(t *testing.T, ack fakeslack.Ack) string {
	t.Helper()
	if ack.Payload == nil {
		return ""
	}
	var p struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.Unmarshal(ack.Payload, &p); err != nil {
		t.Fatalf("ack payload %s: %v", ack.Payload, err)
	}
	if p.ResponseType != "ephemeral" {
		t.Errorf("ack payload response_type = %q, want ephemeral (only the requester may see it)", p.ResponseType)
	}
	return p.Text
}

// thread is what one transfer left in the channel.
type thread struct {
	announcement fakeslack.Call
	reply        fakeslack.Call
	update       fakeslack.Call
}

// threadOf waits for the announcement in channel that mentions requester,
// the reply under it and the update marking it.
func (h *harness) threadOf(channel, requester string) thread {
	h.t.Helper()
	ctx := h.ctx()
	ann, err := h.slack.WaitCall(ctx, "chat.postMessage", func(c fakeslack.Call) bool {
		return c.Arg("channel") == channel && c.Arg("thread_ts") == "" && strings.Contains(c.Arg("text"), "<@"+requester+">") && ok(c)
	})
	if err != nil {
		h.t.Fatalf("no announcement by %s in %s: %v", requester, channel, err)
	}
	ts := ann.AnswerArg("ts")
	if ts == "" {
		h.t.Fatalf("the announcement was not posted: Slack answered %s", ann.Answer)
	}
	tr := thread{announcement: ann}
	tr.reply, err = h.slack.WaitCall(ctx, "chat.postMessage", func(c fakeslack.Call) bool {
		return c.Arg("channel") == channel && c.Arg("thread_ts") == ts && ok(c)
	})
	if err != nil {
		h.t.Fatalf("no reply in the announcement's thread: %v", err)
	}
	tr.update, err = h.slack.WaitCall(ctx, "chat.update", func(c fakeslack.Call) bool {
		return c.Arg("channel") == channel && c.Arg("ts") == ts && ok(c)
	})
	if err != nil {
		h.t.Fatalf("announcement never marked: %v", err)
	}
	return tr
}

// ok reports whether Slack answered the call with ok:true.
func ok(c fakeslack.Call) bool { return c.AnswerArg("ok") == "true" }

// audit waits for the n-th `transfer` audit line and returns its fields.
func (h *harness) audit(n int) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		lines := h.logs.FilterMessage("transfer").All()
		if len(lines) >= n {
			return lines[n-1].ContextMap()
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("wanted %d transfer audit lines, got %d", n, len(lines))
		}
		time.Sleep(5 * time.Millisecond) // polling a log with a deadline
	}
}

// responses waits for n posts to response URLs and returns their texts.
func (h *harness) responses(n int) []string {
	h.t.Helper()
	calls, err := h.slack.WaitCalls(h.ctx(), "response_url", n)
	if err != nil {
		h.t.Fatalf("wanted %d ephemeral messages: %v", n, err)
	}
	texts := make([]string, len(calls))
	for i, c := range calls {
		texts[i] = c.Arg("text")
		if rt := c.Arg("response_type"); rt != "ephemeral" {
			h.t.Errorf("response_url post has response_type %q, want ephemeral", rt)
		}
	}
	return texts
}

// noneOf fails the test when Slack saw any call of the methods.
func (h *harness) noneOf(methods ...string) {
	h.t.Helper()
	for _, m := range methods {
		if calls := h.slack.Calls(m); len(calls) > 0 {
			h.t.Errorf("%s was called %d times, want none: %v", m, len(calls), calls[0].Form)
		}
	}
}

// noPlivo fails the test when Plivo received anything.
func (h *harness) noPlivo() {
	h.t.Helper()
	if n := h.plivo.Count(); n != 0 {
		h.t.Errorf("Plivo received %d requests, want none", n)
	}
}

// refusedURL returns the URL of a loopback port nobody listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
