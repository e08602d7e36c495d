// Package fakeslack is a Slack on loopback for tests: the Socket Mode websocket protocol and the Web API methods the bot uses, recording everything.
//
// A Server answers the real slack-go client: point slack.OptionAPIURL at
// APIURL, run a socketmode.Client against it, then push envelopes with
// SendSlashCommand, SendInteraction, SendMessageAction, SendEvent,
// SendAppHomeOpened or Send and read the acks back with WaitAck. The Web
// API is package webapi's, served beside the websockets, and its methods
// are the Server's: every call is recorded (Calls, WaitCalls, WaitCall),
// failures can be injected per method (Fail), and what those calls change
// is kept as Slack would keep it: messages and their edits (Message), each
// user's Home tab (HomeView), the views it opened.
//
// Several clients may be connected at once, as replicas of one app are:
// each envelope goes to one of them (round-robin, or at random for a seed),
// SendTo picks one by number (Conns), an envelope not acked in time is
// redelivered to another with retry_attempt and retry_reason (Deliveries),
// and past MaxConnections a new connection gets a disconnect of reason
// too_many_websockets.
//
// All methods are safe for concurrent use.
package fakeslack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/fakeslack/webapi"
)

// ErrClosed is returned by waits and sends that were cut short by Close.
var ErrClosed = webapi.ErrClosed

// Options configures a Server. The zero value works: any non-empty token is
// accepted then.
type Options struct {
	// BotToken (xoxb-…) must be carried by every Web API call, as the form
	// field "token" or as "Authorization: Bearer"; otherwise the call is
	// answered ok:false "invalid_auth". Empty accepts any non-empty token.
	BotToken string
	// AppToken (xapp-…) must be sent as "Authorization: Bearer" to
	// apps.connections.open; otherwise ok:false "invalid_auth". Empty accepts
	// any non-empty token.
	AppToken string
	// PingInterval is how often the server sends websocket PING control
	// frames; default 1s. slack-go drops a connection that got no ping for
	// 30s (socketmode.OptionPingInterval).
	PingInterval time.Duration
	// BotUserID is auth.test's user_id; default "UBOT".
	BotUserID string
	// TriggerTTL, when positive, makes views.open refuse a trigger id older
	// than this with "expired_trigger_id" (Slack's is 3s). Zero: trigger ids
	// never expire (they still open only one view).
	TriggerTTL time.Duration

	// Several clients may hold a connection at once, as replicas of one app
	// do: each envelope goes to one of them.

	// MaxConnections is how many connections may be live at once; one more
	// is sent a disconnect of reason "too_many_websockets" and closed.
	// Default DefaultMaxConnections (10, as on Slack).
	MaxConnections int
	// AckTimeout is how long an envelope may wait for its ack before it is
	// redelivered to another live connection (the same one if it is the only
	// one) with retry_attempt one more and retry_reason "timeout", up to 3
	// times. Default DefaultAckTimeout (3s, as on Slack); negative: never.
	AckTimeout time.Duration
	// Seed picks the connection of each envelope: 0 takes the live
	// connections in turn (round-robin); any other value picks at random,
	// reproducibly for that seed.
	Seed int64

	// Throttle, when set, makes every Web API call wait and may refuse it
	// with HTTP 429, as a slower, busier Slack would. Nil: calls are
	// answered at loopback speed.
	Throttle Throttle

	// Start, when set, starts the server in place of httptest's Start,
	// for a Slack that is not a plain loopback one: it may wrap the
	// Listener (a distant network), set Config.IdleTimeout, and call
	// StartTLS, after which every URL the server hands out is https:// or
	// wss:// (see start.go).
	Start func(*httptest.Server)
}

// Call, Failure, Throttle, PostedMessage and HomeTab are the Web API's
// (package webapi), named here too for the tests that use a Server.
type (
	Call          = webapi.Call
	Failure       = webapi.Failure
	Throttle      = webapi.Throttle
	PostedMessage = webapi.PostedMessage
	HomeTab       = webapi.HomeTab
)

// Permalink is the link chat.getPermalink gives for the message ts of
// channel (thread: the parent's ts for a reply, else "").
func Permalink(channel, ts, thread string) string { return webapi.Permalink(channel, ts, thread) }

// Server is a fake Slack: the Web API under APIURL (every method of
// webapi.API is the Server's), Socket Mode websockets handed out by
// apps.connections.open, and response URLs.
type Server struct {
	*webapi.API

	opts    Options
	hs      *httptest.Server
	closing chan struct{}
	once    sync.Once

	seqResp, seqEnv, seqWS, seqPing, seqEvent atomic.Int64

	sm    socketState
	ack   ackState
	route router
}

// New starts a fake Slack on 127.0.0.1. Close it when done.
func New(opts Options) *Server {
	if opts.PingInterval <= 0 {
		opts.PingInterval = time.Second
	}
	if opts.BotUserID == "" {
		opts.BotUserID = "UBOT"
	}
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = DefaultMaxConnections
	}
	if opts.AckTimeout == 0 {
		opts.AckTimeout = DefaultAckTimeout
	}
	s := &Server{opts: opts, closing: make(chan struct{}), route: newRouter(opts.Seed)}
	s.API = webapi.New(webapi.Options{BotToken: opts.BotToken, AppToken: opts.AppToken, BotUserID: opts.BotUserID,
		TriggerTTL: opts.TriggerTTL, Throttle: opts.Throttle, ConnectionsOpen: s.wsURL})
	s.sm.init()
	s.ack.init()

	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.ServeAPI)
	mux.HandleFunc("/ws/{id}", s.serveWS)
	mux.HandleFunc("/response/{id}", s.ServeResponseURL)
	s.hs = startServer(mux, opts.Start)
	return s
}

// Close closes the websockets, stops the pingers, cuts short every pending
// wait and delayed answer, and shuts the server down. When it returns, no
// goroutine of the server is left. It is idempotent.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.API.Close()
		s.stopRedeliveries()
		conns := s.sm.shutdown()
		for _, c := range conns {
			c.close()
		}
		// httptest waits for ordinary handlers (delayed answers return on
		// s.closing); it forgets hijacked websocket connections, which is why
		// their goroutines are counted in s.sm.wg.
		s.hs.Close()
		s.sm.wg.Wait()
	})
}

// APIURL is the Web API base URL, with the trailing slash that
// slack.OptionAPIURL needs: "http://127.0.0.1:PORT/api/".
func (s *Server) APIURL() string { return s.hs.URL + "/api/" }

// ResponseURL returns a fresh response_url on this server
// (http://127.0.0.1:PORT/response/<n>). JSON POSTs to it are recorded as
// Calls with Method "response_url" and answered 200 "ok" (text/plain, like
// Slack).
func (s *Server) ResponseURL() string {
	return s.hs.URL + "/response/" + strconv.FormatInt(s.seqResp.Add(1), 10)
}

// wsURL returns a fresh, single-use websocket URL.
func (s *Server) wsURL() string {
	id := strconv.FormatInt(s.seqWS.Add(1), 10)
	s.sm.issue(id)
	return "ws" + s.hs.URL[len("http"):] + "/ws/" + id
}

// wait blocks until ch is closed, ctx ends or the server closes.
func (s *Server) wait(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return ErrClosed
	}
}
