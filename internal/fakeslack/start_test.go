package fakeslack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// TestStartTLS checks that a fake started with StartTLS hands out https://
// and wss:// URLs only, and that slack-go reaches it on both: the Web API
// and Socket Mode, as the bot does when it trusts the fake's certificate.
func TestStartTLS(t *testing.T) {
	s := newServer(t, Options{Start: func(hs *httptest.Server) {
		hs.Config.IdleTimeout = time.Minute
		hs.StartTLS()
	}})
	for _, u := range []string{s.APIURL(), s.ResponseURL()} {
		if !strings.HasPrefix(u, "https://") {
			t.Errorf("URL %s under TLS, want https://", u)
		}
	}
	tlsConfig := s.hs.Client().Transport.(*http.Transport).TLSClientConfig
	api := slack.New(botToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(appToken), slack.OptionHTTPClient(s.hs.Client()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := api.AuthTestContext(ctx); err != nil {
		t.Fatalf("auth.test over TLS: %v", err)
	}
	if c := s.Calls("auth.test"); len(c) != 1 || !strings.HasPrefix(c[0].URL, "https://") {
		t.Errorf("auth.test recorded as %+v, want one call to an https:// URL", c)
	}

	client := socketmode.New(api, socketmode.OptionDialer(&websocket.Dialer{TLSClientConfig: tlsConfig}))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = client.RunContext(runCtx)
	}()
	go func() {
		for range client.Events {
		}
	}()
	defer func() { stop(); <-done }()
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatalf("Socket Mode over wss://: %v", err)
	}
	if c := s.Calls("apps.connections.open"); len(c) == 0 || !strings.Contains(string(c[0].Answer), `"wss://`) {
		t.Errorf("apps.connections.open answered %+v, want a wss:// URL", c)
	}
}
