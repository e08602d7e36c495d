package slackapi

import (
	"context"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/keepwarm"
)

// A transfer that finds no open connection to Slack pays for a new one
// before its announcement leaves: a TCP handshake and a TLS handshake, two
// round trips, some 100–200 ms from most places. Servers close a
// connection left idle (load balancers commonly after 60 s; Slack does not
// document its own), so after a quiet minute every transfer would pay
// them. KeepWarm sends cheap requests often enough that the connections
// the next transfer takes are still open.

// KeepWarm calls auth.test every `every`, conns calls at once, as long as
// wanted (nil: always) reports true at that moment, until ctx ends. It
// keeps conns connections open: net/http hands out the most recently used
// idle connections first, and those are the ones the calls have just used,
// so the next transfer's requests take them. conns should be as many as a
// transfer sends at once (the bot: 2, the thread reply and the ✅ go side
// by side; with one, whichever of them comes second dials). every should
// be shorter than the server's idle time-out (45 s against the common
// 60 s); wanted says whether transfers are expected (the bot: in the hour
// after the last one), so that a bot nobody uses stays quiet.
//
// auth.test goes through the bot's own HTTP client, so it uses the same
// pool of connections; it posts in no channel, so it never waits on a
// channel's lane; Slack allows hundreds of them a minute. It is counted in
// the metrics as any other auth.test. It is tried once, never retried:
// the next tick is the retry. Its outcome, good or bad, is logged at debug
// level only, with whether the connection was still open (reused) and how
// long it had been idle: reused=false at every line means the server
// closes idle connections sooner than every, which should then be
// shortened. KeepWarm returns when ctx ends; nothing it meets is fatal.
func (a *API) KeepWarm(ctx context.Context, every time.Duration, conns int, wanted func() bool, log *zap.Logger) {
	if log == nil {
		log = zap.NewNop()
	}
	once := *a.http
	once.maxAttempts = 1
	client := slack.New(a.token, slack.OptionAPIURL(a.url), slack.OptionHTTPClient(&once))
	n := max(conns, 1)
	keepwarm.Every(ctx, every, wanted, func(ctx context.Context) {
		m := newMeeting(n)
		var calls sync.WaitGroup
		for range n {
			calls.Go(func() { warmSlack(ctx, client, min(every, 10*time.Second), m, log) })
		}
		calls.Wait()
	})
}

// meeting holds a tick's calls, once each has a connection, until all have
// one (or have failed without), so that no call takes a connection another
// has just given back: n calls use n connections.
type meeting struct {
	arrived sync.WaitGroup
	all     chan struct{} // closed once every call has arrived
}

func newMeeting(n int) *meeting {
	m := &meeting{all: make(chan struct{})}
	m.arrived.Add(n)
	go func() {
		m.arrived.Wait()
		close(m.all)
	}()
	return m
}

// warmSlack sends one auth.test within timeout, meeting the tick's other
// calls once it has a connection, and logs what became of it.
func warmSlack(ctx context.Context, client *slack.Client, timeout time.Duration, m *meeting, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var arrive sync.Once
	defer arrive.Do(m.arrived.Done) // failed without a connection
	var conn httptrace.GotConnInfo
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		conn = info
		arrive.Do(m.arrived.Done)
		select {
		case <-m.all:
		case <-ctx.Done():
		}
	}})
	start := time.Now()
	_, err := client.AuthTestContext(ctx)
	fields := []zap.Field{
		zap.Bool("reused", conn.Reused),
		zap.Duration("idle_for", conn.IdleTime),
		zap.Duration("took", time.Since(start)),
	}
	if err != nil {
		fields = append(fields, zap.Error(err))
	}
	log.Debug("slack connection kept warm (auth.test)", fields...)
}
