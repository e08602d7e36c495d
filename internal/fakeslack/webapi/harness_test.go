package webapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

const (
	botToken = "xoxb-1-test"
	appToken = "xapp-1-test"
)

// server serves an API on loopback as package fakeslack does, without
// Socket Mode: apps.connections.open hands out a URL nothing listens on.
type server struct {
	*API
	hs      *httptest.Server
	seqResp atomic.Int64
}

func newServer(t testing.TB, opts Options) *server {
	t.Helper()
	if opts.BotToken == "" {
		opts.BotToken = botToken
	}
	if opts.AppToken == "" {
		opts.AppToken = appToken
	}
	if opts.BotUserID == "" {
		opts.BotUserID = "UBOT"
	}
	s := &server{}
	opts.ConnectionsOpen = func() string { return "ws" + s.hs.URL[len("http"):] + "/ws/1" }
	s.API = New(opts)
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.ServeAPI)
	mux.HandleFunc("/response/{id}", s.ServeResponseURL)
	s.hs = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.API.Close()
		s.hs.Close()
	})
	return s
}

func (s *server) APIURL() string { return s.hs.URL + "/api/" }

func (s *server) ResponseURL() string {
	return s.hs.URL + "/response/" + strconv.FormatInt(s.seqResp.Add(1), 10)
}

// Close ends pending waits and delayed answers, as the fake's Close does.
func (s *server) Close() { s.API.Close() }

func newAPI(s *server, token string) *slack.Client {
	return slack.New(token, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(appToken))
}

func timeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
