package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

const (
	botToken = "xoxb-1-test"
	appToken = "xapp-1-test"
)

func newServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.BotToken == "" {
		opts.BotToken = botToken
	}
	if opts.AppToken == "" {
		opts.AppToken = appToken
	}
	s := New(opts)
	t.Cleanup(s.Close)
	return s
}

func newAPI(s *Server, token string) *slack.Client {
	return slack.New(token, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(appToken))
}

// bot is a real slack-go Socket Mode client running against the fake.
type bot struct {
	t      testing.TB
	client *socketmode.Client
	events chan socketmode.Event

	mu   sync.Mutex
	seen []socketmode.EventType
}

// startBot runs client.RunContext and drains client.Events until the test
// ends. It does not wait for the connection.
func startBot(t testing.TB, s *Server, opts ...socketmode.Option) *bot {
	t.Helper()
	b := &bot{t: t, client: socketmode.New(newAPI(s, botToken), opts...), events: make(chan socketmode.Event, 4096)}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- b.client.RunContext(ctx) }()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case evt := <-b.client.Events:
				b.mu.Lock()
				b.seen = append(b.seen, evt.Type)
				b.mu.Unlock()
				b.events <- evt // the buffer outlasts any test here
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-runDone:
		case <-time.After(5 * time.Second):
			t.Error("socketmode RunContext did not return 5s after its context ended")
		}
		<-drained
	})
	return b
}

// next returns the next event of type typ, skipping others.
func (b *bot) next(ctx context.Context, typ socketmode.EventType) socketmode.Event {
	b.t.Helper()
	for {
		select {
		case evt := <-b.events:
			if evt.Type == typ {
				return evt
			}
		case <-ctx.Done():
			b.t.Fatalf("no %q event from the client (events so far: %v)", typ, b.seenTypes())
			return socketmode.Event{}
		}
	}
}

func (b *bot) seenTypes() []socketmode.EventType {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.seen)
}

func timeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func connected(t *testing.T, opts Options, botOpts ...socketmode.Option) (*Server, *bot) {
	t.Helper()
	s := newServer(t, opts)
	b := startBot(t, s, botOpts...)
	if err := s.WaitConnected(timeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	return s, b
}

func jsonEqual(t testing.TB, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("payload %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("payload = %s, want %s", gb, wb)
	}
}

func TestConnectSendsHello(t *testing.T) {
	s, b := connected(t, Options{})
	ctx := timeout(t, 5*time.Second)
	b.next(ctx, socketmode.EventTypeConnected)
	hello := b.next(ctx, socketmode.EventTypeHello)
	if got := hello.Request.ConnectionInfo.AppID; got != "A1" {
		t.Errorf("hello app_id = %q, want A1", got)
	}
	if got := hello.Request.DebugInfo.Host; got != "fakeslack" {
		t.Errorf("hello debug_info.host = %q, want fakeslack", got)
	}
	want := []socketmode.EventType{socketmode.EventTypeConnecting, socketmode.EventTypeConnected, socketmode.EventTypeHello}
	if got := b.seenTypes(); !slices.Equal(got, want) {
		t.Errorf("client events = %v, want %v", got, want)
	}
	if n := s.Connects(); n != 1 {
		t.Errorf("Connects() = %d, want 1", n)
	}
	if n := len(s.Calls("apps.connections.open")); n != 1 {
		t.Errorf("apps.connections.open called %d times, want 1", n)
	}
}

func TestSlashCommandRoundTrip(t *testing.T) {
	s, b := connected(t, Options{})
	ctx := timeout(t, 5*time.Second)

	env, err := s.SendSlashCommand(ctx, slack.SlashCommand{
		ChannelID: "C1", ChannelName: "support", UserID: "U1", UserName: "sam", Text: "+14152225555 from +14155550100",
	})
	if err != nil {
		t.Fatal(err)
	}
	evt := b.next(ctx, socketmode.EventTypeSlashCommand)
	cmd := evt.Data.(slack.SlashCommand)
	if cmd.Command != "/transfer" || cmd.ChannelID != "C1" || cmd.UserID != "U1" || cmd.UserName != "sam" ||
		cmd.Text != "+14152225555 from +14155550100" || cmd.TeamID != "T1" {
		t.Errorf("slash command = %+v", cmd)
	}
	if !strings.HasPrefix(cmd.ResponseURL, strings.TrimSuffix(s.APIURL(), "api/")+"response/") || cmd.TriggerID == "" {
		t.Errorf("response_url %q / trigger_id %q not filled", cmd.ResponseURL, cmd.TriggerID)
	}
	if evt.Request.EnvelopeID != env.EnvelopeID || !evt.Request.AcceptsResponsePayload || evt.Request.Type != "slash_commands" {
		t.Errorf("request = %+v, want envelope %s accepting a payload", evt.Request, env.EnvelopeID)
	}
	if err := b.client.Ack(*evt.Request, map[string]string{"text": "working on it"}); err != nil {
		t.Fatal(err)
	}
	ack, err := s.WaitAck(ctx, env.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, ack.Payload, `{"text":"working on it"}`)
	if ack.Latency <= 0 || ack.Latency > 5*time.Second {
		t.Errorf("ack latency = %v", ack.Latency)
	}

	// An ack without payload reads back with a nil Payload; a second
	// command gets a fresh envelope, trigger and response URL.
	env2, err := s.SendSlashCommand(ctx, slack.SlashCommand{ChannelID: "C1", UserID: "U1"})
	if err != nil {
		t.Fatal(err)
	}
	evt2 := b.next(ctx, socketmode.EventTypeSlashCommand)
	cmd2 := evt2.Data.(slack.SlashCommand)
	if env2.EnvelopeID == env.EnvelopeID || cmd2.TriggerID == cmd.TriggerID || cmd2.ResponseURL == cmd.ResponseURL {
		t.Errorf("second command reused an id: %s %s %s", env2.EnvelopeID, cmd2.TriggerID, cmd2.ResponseURL)
	}
	if err := b.client.Ack(*evt2.Request); err != nil {
		t.Fatal(err)
	}
	if ack, err := s.WaitAck(ctx, env2.EnvelopeID); err != nil || ack.Payload != nil {
		t.Errorf("ack = %+v, %v; want one with no payload", ack, err)
	}
}

func TestViewSubmissionRoundTrip(t *testing.T) {
	s, b := connected(t, Options{})
	ctx := timeout(t, 5*time.Second)

	env, err := s.SendInteraction(ctx, slack.InteractionCallback{
		Type: slack.InteractionTypeViewSubmission,
		User: slack.User{ID: "U1", Name: "sam"},
		View: slack.View{
			ID: "V1", CallbackID: "cold_transfer", PrivateMetadata: `{"channel":"C1"}`,
			State: &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
				"to": {"to": {Type: "plain_text_input", Value: "+1 415 222 5555"}},
			}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	evt := b.next(ctx, socketmode.EventTypeInteractive)
	cb := evt.Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeViewSubmission || cb.User.ID != "U1" || cb.View.CallbackID != "cold_transfer" ||
		cb.View.PrivateMetadata != `{"channel":"C1"}` || cb.View.State.Values["to"]["to"].Value != "+1 415 222 5555" {
		t.Errorf("interaction = %+v", cb)
	}
	if !evt.Request.AcceptsResponsePayload || evt.Request.EnvelopeID != env.EnvelopeID {
		t.Errorf("request = %+v", evt.Request)
	}
	if err := b.client.Ack(*evt.Request, slack.NewErrorsViewSubmissionResponse(map[string]string{"to": "Add the country code"})); err != nil {
		t.Fatal(err)
	}
	ack, err := s.WaitAck(ctx, env.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, ack.Payload, `{"response_action":"errors","errors":{"to":"Add the country code"}}`)

	// block_actions does not accept a response payload.
	if _, err := s.SendInteraction(ctx, slack.InteractionCallback{Type: slack.InteractionTypeBlockActions}); err != nil {
		t.Fatal(err)
	}
	if evt := b.next(ctx, socketmode.EventTypeInteractive); evt.Request.AcceptsResponsePayload {
		t.Error("block_actions envelope accepts a response payload")
	}
}

func TestRedeliveryIsRecordedPerEnvelope(t *testing.T) {
	s, b := connected(t, Options{})
	ctx := timeout(t, 5*time.Second)

	env, err := s.SendSlashCommand(ctx, slack.SlashCommand{ChannelID: "C1", UserID: "U1"})
	if err != nil {
		t.Fatal(err)
	}
	evt := b.next(ctx, socketmode.EventTypeSlashCommand)
	if err := b.client.Ack(*evt.Request); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitAck(ctx, env.EnvelopeID); err != nil {
		t.Fatal(err)
	}

	env.RetryAttempt, env.RetryReason = 1, "timeout"
	if err := s.Send(ctx, env); err != nil {
		t.Fatal(err)
	}
	again := b.next(ctx, socketmode.EventTypeSlashCommand)
	if again.Request.EnvelopeID != env.EnvelopeID || again.Request.RetryAttempt != 1 || again.Request.RetryReason != "timeout" {
		t.Errorf("redelivered request = %+v", again.Request)
	}
	if err := b.client.Ack(*again.Request); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "two acks", func() bool { return len(s.Acks(env.EnvelopeID)) == 2 })
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t testing.TB, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestClientAnswersPings(t *testing.T) {
	s, _ := connected(t, Options{PingInterval: 100 * time.Millisecond})
	ctx := timeout(t, 3*time.Second)
	first, err := s.WaitPong(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.WaitPong(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !second.After(first) || !s.LastPong().Equal(second) {
		t.Errorf("pongs at %v then %v, LastPong %v: not advancing", first, second, s.LastPong())
	}
}

func TestPingTimeoutReconnects(t *testing.T) {
	s, b := connected(t, Options{PingInterval: 50 * time.Millisecond}, socketmode.OptionPingInterval(300*time.Millisecond))
	ctx := timeout(t, 5*time.Second)
	s.SetPingsPaused(true)
	if err := s.WaitConnects(ctx, 2); err != nil {
		t.Fatal(err)
	}
	s.SetPingsPaused(false)
	deliverAndAck(t, ctx, s, b)
	t.Logf("client events: %v", b.seenTypes())
}

// deliverAndAck sends a slash command and has the client ack it.
func deliverAndAck(t *testing.T, ctx context.Context, s *Server, b *bot) {
	t.Helper()
	env, err := s.SendSlashCommand(ctx, slack.SlashCommand{ChannelID: "C1", UserID: "U1"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		evt := b.next(ctx, socketmode.EventTypeSlashCommand)
		if evt.Request.EnvelopeID != env.EnvelopeID {
			continue
		}
		if err := b.client.Ack(*evt.Request); err != nil {
			t.Fatal(err)
		}
		break
	}
	if _, err := s.WaitAck(ctx, env.EnvelopeID); err != nil {
		t.Fatal(err)
	}
}

func TestReconnect(t *testing.T) {
	tests := []struct {
		name string
		lose func(context.Context, *Server) error
	}{
		{"drop", func(_ context.Context, s *Server) error { s.DropConnection(); return nil }},
		{"disconnect", func(ctx context.Context, s *Server) error { return s.SendDisconnect(ctx, "refresh_requested") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, b := connected(t, Options{})
			ctx := timeout(t, 5*time.Second)
			b.next(ctx, socketmode.EventTypeHello)
			if err := tt.lose(ctx, s); err != nil {
				t.Fatal(err)
			}
			if err := s.WaitConnects(ctx, 2); err != nil {
				t.Fatal(err)
			}
			if _, err := s.WaitCalls(ctx, "apps.connections.open", 2); err != nil {
				t.Fatal(err)
			}
			connecting := b.next(ctx, socketmode.EventTypeConnecting)
			if ce := connecting.Data.(*slack.ConnectingEvent); ce.ConnectionCount != 1 || ce.Attempt != 1 {
				t.Errorf("connecting event = %+v, want connection 1, attempt 1", ce)
			}
			if ce := b.next(ctx, socketmode.EventTypeConnected).Data.(*socketmode.ConnectedEvent); ce.ConnectionCount != 1 {
				t.Errorf("connected event = %+v, want connection 1", ce)
			}
			b.next(ctx, socketmode.EventTypeHello)
			deliverAndAck(t, ctx, s, b)
			if slices.Contains(b.seenTypes(), socketmode.EventTypeDisconnect) {
				t.Errorf("client emitted a disconnect event: %v", b.seenTypes())
			}
			t.Logf("client events: %v", b.seenTypes())
		})
	}
}

func TestBadAppTokenStopsClient(t *testing.T) {
	s := newServer(t, Options{})
	api := slack.New(botToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken("xapp-wrong"))
	client := socketmode.New(api)
	ctx := timeout(t, 5*time.Second)
	go func() {
		for range client.Events {
		}
	}()
	if err := client.RunContext(ctx); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("RunContext = %v, want invalid_auth", err)
	}
	if calls := s.Calls("apps.connections.open"); len(calls) != 1 {
		t.Errorf("apps.connections.open called %d times, want 1", len(calls))
	}
}

func TestManyConcurrentEnvelopes(t *testing.T) {
	const n = 500
	s, b := connected(t, Options{})
	ctx := timeout(t, 20*time.Second)
	go func() {
		for {
			select {
			case evt := <-b.events:
				if evt.Request != nil && evt.Request.EnvelopeID != "" {
					_ = b.client.AckCtx(ctx, evt.Request.EnvelopeID, nil)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			env, err := s.SendSlashCommand(ctx, slack.SlashCommand{ChannelID: "C1", UserID: "U1", Text: string(rune('a' + i%26))})
			if err == nil {
				_, err = s.WaitAck(ctx, env.EnvelopeID)
			}
			if err == nil && len(s.Acks(env.EnvelopeID)) != 1 {
				err = errors.New("envelope " + env.EnvelopeID + " acked more than once")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestCloseLeavesNothingRunning(t *testing.T) {
	s := New(Options{BotToken: botToken, AppToken: appToken, PingInterval: 10 * time.Millisecond})
	b := startBot(t, s)
	ctx := timeout(t, 5*time.Second)
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	waiting := make(chan error, 2)
	go func() { _, err := s.WaitCalls(ctx, "never.called", 1); waiting <- err }()
	go func() { _, err := s.WaitAck(ctx, "never-sent"); waiting <- err }()
	s.Fail("auth.test", Failure{Delay: time.Hour})
	delayed := make(chan error, 1)
	go func() { _, err := newAPI(s, botToken).AuthTestContext(ctx); delayed <- err }()
	if _, err := s.WaitCalls(ctx, "auth.test", 1); err != nil {
		t.Fatal(err)
	}

	s.Close()
	s.Close() // idempotent
	for range 2 {
		if err := <-waiting; !errors.Is(err, ErrClosed) {
			t.Errorf("pending wait = %v, want ErrClosed", err)
		}
	}
	if err := <-delayed; err == nil {
		t.Error("delayed call succeeded after Close")
	}
	if err := s.Send(ctx, Envelope{EnvelopeID: "x"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	_ = b

	// Close waited for every goroutine; the last may still be unwinding
	// its deferred Done.
	waitFor(t, ctx, "the server's goroutines to end", func() bool {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		return !strings.Contains(stacks, "fakeslack.(*Server)") && !strings.Contains(stacks, "fakeslack.(*wsConn)")
	})
}

func BenchmarkEnvelopeAck(b *testing.B) {
	s := newServer(b, Options{})
	bt := startBot(b, s)
	ctx := timeout(b, time.Minute)
	if err := s.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}
	go func() {
		for {
			select {
			case evt := <-bt.events:
				if evt.Request != nil && evt.Request.EnvelopeID != "" {
					_ = bt.client.AckCtx(ctx, evt.Request.EnvelopeID, nil)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			env, err := s.SendSlashCommand(ctx, slack.SlashCommand{ChannelID: "C1", UserID: "U1"})
			if err == nil {
				_, err = s.WaitAck(ctx, env.EnvelopeID)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func TestBlockSuggestionRoundTrip(t *testing.T) {
	s, b := connected(t, Options{})
	ctx := timeout(t, 5*time.Second)
	env, err := s.SendBlockSuggestion(ctx, slack.InteractionCallback{
		User: slack.User{ID: "U1"}, ActionID: "to", BlockID: "to", Value: "bil",
		View: slack.View{ID: "V1", CallbackID: "cold_transfer", PrivateMetadata: `{"c":"C1"}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	evt := b.next(ctx, socketmode.EventTypeInteractive)
	cb := evt.Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeBlockSuggestion || cb.ActionID != "to" || cb.Value != "bil" || cb.View.PrivateMetadata != `{"c":"C1"}` {
		t.Errorf("interaction = %+v", cb)
	}
	if !evt.Request.AcceptsResponsePayload {
		t.Error("block_suggestion envelope does not accept a response payload")
	}
	options := slack.OptionsResponse{Options: []*slack.OptionBlockObject{
		slack.NewOptionBlockObject("billing", slack.NewTextBlockObject(slack.PlainTextType, "Billing", false, false), nil),
	}}
	if err := b.client.Ack(*evt.Request, options); err != nil {
		t.Fatal(err)
	}
	ack, err := s.WaitAck(ctx, env.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, ack.Payload, `{"options":[{"text":{"type":"plain_text","text":"Billing","emoji":false},"value":"billing"}]}`)
	frame, _ := json.Marshal(map[string]any{"envelope_id": env.EnvelopeID, "payload": options})
	if ack.Size != len(frame) {
		t.Errorf("ack Size %d, want the frame's %d bytes", ack.Size, len(frame))
	}
}
