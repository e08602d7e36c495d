package slackbot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
	"github.com/coldtransfer/coldtransfer/internal/slackapi"
	"github.com/coldtransfer/coldtransfer/internal/slackbot"
)

// gatedPlivo is a Plivo that holds every request whose body contains hold
// until release is closed, and answers the others at once.
type gatedPlivo struct {
	*httptest.Server
	hold    string
	release chan struct{}
	mu      sync.Mutex
	bodies  []string
	arrived chan struct{} // one send per request
}

func newGatedPlivo(t *testing.T, hold string) *gatedPlivo {
	g := &gatedPlivo{hold: hold, release: make(chan struct{}), arrived: make(chan struct{}, 1000)}
	var n int
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.bodies = append(g.bodies, string(body))
		n++
		id := n
		g.mu.Unlock()
		g.arrived <- struct{}{}
		if strings.Contains(string(body), g.hold) {
			select {
			case <-g.release:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"api_id":"gated-%d","error":""}`, id)
	}))
	t.Cleanup(func() {
		g.open()
		g.Close()
	})
	return g
}

// open releases every held request; it may be called more than once.
func (g *gatedPlivo) open() {
	select {
	case <-g.release:
	default:
		close(g.release)
	}
}

// waitArrivals waits until n requests have arrived.
func (g *gatedPlivo) waitArrivals(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for range n {
		select {
		case <-g.arrived:
		case <-deadline:
			t.Fatalf("Plivo never received %d requests", n)
		}
	}
}

func (g *gatedPlivo) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.bodies)
}

// The ack never waits on Slack's Web API: it arrives while the first Web
// API call of the request is still hanging.
func TestAckDoesNotWaitOnTheWebAPI(t *testing.T) {
	h := start(t, options{})
	const hang = 3 * time.Second
	h.slack.Fail("usergroups.users.list", fakeslack.Failure{Delay: hang})
	h.slack.Fail("views.open", fakeslack.Failure{Delay: hang})

	_, ack := h.command(groupMember, floorChannel, "+14152225555 from +14152223333")
	groupCall, err := h.slack.WaitCalls(h.ctx(), "usergroups.users.list", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !ack.Received.Before(groupCall[0].Time.Add(hang)) {
		t.Errorf("ack came at %v, after the group lookup answered", ack.Received)
	}

	_, ack = h.command(supervisor, floorChannel, "")
	open, err := h.slack.WaitCalls(h.ctx(), "views.open", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !ack.Received.Before(open[0].Time.Add(hang)) {
		t.Errorf("ack came at %v, after views.open answered", ack.Received)
	}
}

// A slow Plivo call delays nothing else: a second transfer is acked and
// completes while the first still waits on Plivo.
func TestSlowTransferDelaysNoOther(t *testing.T) {
	g := newGatedPlivo(t, "+14152225555")
	h := start(t, options{plivoURL: g.URL})
	h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	g.waitArrivals(t, 1)

	h.command(groupMember, floorChannel, "+14152226666 from +14152224444")
	tr := h.threadOf(floorChannel, groupMember)
	if !strings.Contains(tr.reply.Arg("text"), "gated-2") {
		t.Errorf("second transfer's reply %q", tr.reply.Arg("text"))
	}
	if a := h.audit(1); a["requester"] != groupMember || a["outcome"] != "transferred" {
		t.Errorf("first audit line %v; want the second transfer, done while the first waits on Plivo", a)
	}
	g.open()
	h.threadOf(floorChannel, supervisor)
}

// Redelivered envelopes, with the same envelope id or the same trigger,
// and resubmitted forms run nothing twice.
func TestRedeliveryRunsNothingTwice(t *testing.T) {
	h := start(t, options{})
	env, _ := h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	h.threadOf(floorChannel, supervisor)

	again := env
	again.RetryAttempt, again.RetryReason = 1, "timeout"
	if err := h.slack.Send(h.ctx(), again); err != nil {
		t.Fatal(err)
	}
	sameTrigger := env
	sameTrigger.EnvelopeID = "redelivered-under-a-new-id"
	if err := h.slack.Send(h.ctx(), sameTrigger); err != nil {
		t.Fatal(err)
	}
	h.ack(sameTrigger)
	if acks := h.slack.Acks(env.EnvelopeID); len(acks) != 2 || acks[1].Payload != nil {
		t.Errorf("redelivered envelope acked %d times (%v); want a second, empty ack", len(acks), acks)
	}

	h.command(supervisor, floorChannel, "")
	v := h.openedView()
	cb := v.submission(supervisor, "VONCE", "+14152224444", "+14152227777", "agent")
	h.submit(cb)
	_, ack := h.submit(cb) // a second submission of the same view
	if ack.Payload != nil {
		t.Errorf("resubmission acked with %s; want an empty ack that closes the form", ack.Payload)
	}

	if err := h.shutdown(); err != nil {
		t.Fatal(err)
	}
	// Shutdown waited for every request in flight: what ran has run.
	if n := h.plivo.Count(); n != 2 {
		t.Errorf("Plivo received %d requests, want 2 (one command, one form)", n)
	}
	if n := len(h.logs.FilterMessage("transfer").All()); n != 2 {
		t.Errorf("%d audit lines, want 2", n)
	}
}

// The Socket Mode connection comes back after a drop or a disconnect
// envelope, /readyz follows it, and requests keep working, including one
// in flight when the socket dropped.
func TestReconnects(t *testing.T) {
	g := newGatedPlivo(t, "+14152225555")
	h := start(t, options{plivoURL: g.URL})
	waitUntil(t, "readiness after hello", h.bot.Ready)

	// Dropped mid-transfer: the result is still posted.
	h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	g.waitArrivals(t, 1)
	h.slack.Fail("apps.connections.open", fakeslack.Failure{Delay: 500 * time.Millisecond})
	h.slack.DropConnection()
	waitUntil(t, "readiness to drop while reconnecting", func() bool { return !h.bot.Ready() })
	if err := h.slack.WaitConnects(h.ctx(), 2); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "readiness after reconnecting", h.bot.Ready)
	g.open()
	h.threadOf(floorChannel, supervisor)

	for i, reason := range []string{"refresh_requested", "warning"} {
		if err := h.slack.SendDisconnect(h.ctx(), reason); err != nil {
			t.Fatal(err)
		}
		if err := h.slack.WaitConnects(h.ctx(), 3+i); err != nil {
			t.Fatalf("no reconnect after disconnect %s: %v", reason, err)
		}
		user := []string{groupMember, "USUPER1"}[i]
		h.command(user, otherChannel, fmt.Sprintf("+1415222%04d from +1415777%04d", 7000+i, i))
		h.threadOf(otherChannel, user)
	}
	if n := len(h.slack.Calls("apps.connections.open")); n != 4 {
		t.Errorf("apps.connections.open called %d times, want 4", n)
	}
}

// A rate-limited or failing Slack loses no result: the reply is retried,
// after Retry-After for a 429.
func TestReplySurvivesSlack429And5xx(t *testing.T) {
	g := newGatedPlivo(t, "+14152225555")
	h := start(t, options{plivoURL: g.URL})
	h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	g.waitArrivals(t, 1) // announced, and waiting on Plivo
	h.slack.Fail("chat.postMessage", fakeslack.Failure{Status: 429, RetryAfter: 1})
	h.slack.Fail("chat.postMessage", fakeslack.Failure{Status: 503})
	h.slack.Fail("chat.postMessage", fakeslack.Failure{Error: "internal_error", Status: 500})
	g.open()

	tr := h.threadOf(floorChannel, supervisor)
	var attempts []fakeslack.Call
	for _, c := range h.slack.Calls("chat.postMessage") {
		if c.Arg("thread_ts") != "" {
			attempts = append(attempts, c)
		}
	}
	if len(attempts) != 4 {
		t.Fatalf("reply posted in %d attempts, want 4 (429, 503, 500, ok)", len(attempts))
	}
	if gap := attempts[1].Time.Sub(attempts[0].Time); gap < time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
	if !strings.Contains(tr.reply.Arg("text"), "gated-1") {
		t.Errorf("reply %q", tr.reply.Arg("text"))
	}
	if a := h.audit(1); a["outcome"] != "transferred" || a["reply_error"] != nil {
		t.Errorf("audit %v", a)
	}
}

// A reply that cannot be posted at all is logged at error level with every
// field, and the requester is told the result directly.
func TestLostReplyIsLoggedAndToldToTheRequester(t *testing.T) {
	g := newGatedPlivo(t, "+14152225555")
	h := start(t, options{plivoURL: g.URL})
	h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	g.waitArrivals(t, 1)
	h.slack.Fail("chat.postMessage", fakeslack.Failure{Status: 500, Times: 100})
	g.open()

	msgs := h.responses(1)
	if !strings.Contains(msgs[0], "could not post the result") || !strings.Contains(msgs[0], "gated-1") {
		t.Errorf("requester told %q", msgs[0])
	}
	h.audit(1)
	lines := h.logs.FilterMessage("transfer").All()
	if lines[0].Level.String() != "error" {
		t.Errorf("audit line of a lost reply logged at %s, want error", lines[0].Level)
	}
	fields := lines[0].ContextMap()
	for _, k := range []string{"requester", "channel", "path", "to", "trigger_source", "role", "decision", "reason", "outcome", "api_id", "plivo_status", "error", "duration", "reply_error"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("error line lacks %s: %v", k, fields)
		}
	}
	if fields["api_id"] != "gated-1" {
		t.Errorf("api_id %v", fields["api_id"])
	}
}

// Past the in-flight bound, the requester is told to retry: nothing queues.
func TestBusyBotSaysRetry(t *testing.T) {
	g := newGatedPlivo(t, "+14152225555")
	h := start(t, options{plivoURL: g.URL, maxInFlight: 1})
	h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	g.waitArrivals(t, 1)

	_, ack := h.command(groupMember, floorChannel, "+14152226666 from +14152224444")
	if text := ackText(t, ack); text != "" {
		t.Errorf("busy command acked with %q; want an empty ack, the answer after its redelivery check", text)
	}
	if msgs := h.responses(1); !strings.Contains(msgs[0], "Try again in a few seconds") {
		t.Errorf("busy command answered %q", msgs[0])
	}
	v := openedView{view: slack.ModalViewRequest{CallbackID: "cold_transfer", PrivateMetadata: `{"c":"` + floorChannel + `"}`}}
	_, ack = h.submit(v.submission(groupMember, "VBUSY", "+14152224444", "+14152226666", "agent"))
	var resp slack.ViewSubmissionResponse
	if err := json.Unmarshal(ack.Payload, &resp); err != nil || !strings.Contains(resp.Errors["to"], "Try again") {
		t.Errorf("busy submission acked with %s; want an error under the field, so the form stays open", ack.Payload)
	}
	if a := h.audit(1); a["outcome"] != "busy" {
		t.Errorf("audit outcome %v, want busy", a["outcome"])
	}
	g.open()
	h.threadOf(floorChannel, supervisor)

	// The same form, submitted again once there is room, runs. The slot is
	// given back just after the first transfer's last Slack call, so press
	// Transfer until the form closes, as a supervisor would.
	waitUntil(t, "the form to be taken once there is room", func() bool {
		_, ack := h.submit(v.submission(groupMember, "VBUSY", "+14152224444", "+14152226666", "agent"))
		return ack.Payload == nil
	})
	h.threadOf(floorChannel, groupMember)
	if n := g.count(); n != 2 {
		t.Errorf("Plivo received %d requests, want 2", n)
	}
}

// A command and its twin (the same command under a new envelope id, as a
// replica that was frozen reads them) past the in-flight bound: the twin is
// not answered "busy, nothing was sent" while the command transfers the
// call.
func TestBusyTwinOfARunningCommandSaysNothing(t *testing.T) {
	g := newGatedPlivo(t, "+14152225555")
	h := start(t, options{plivoURL: g.URL, maxInFlight: 1})
	cmd := slack.SlashCommand{UserID: supervisor, ChannelID: floorChannel, Text: "+14152225555 from +14152223333",
		TriggerID: "TWIN.1", ResponseURL: h.slack.ResponseURL()}
	env, err := h.slack.SendSlashCommand(h.ctx(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	h.ack(env)
	g.waitArrivals(t, 1)

	twin, err := h.slack.SendSlashCommand(h.ctx(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	if text := ackText(t, h.ack(twin)); text != "" {
		t.Errorf("the twin was acked with %q while its command transfers the call", text)
	}
	g.open()
	h.threadOf(floorChannel, supervisor)
	if a := h.audit(1); a["outcome"] != "transferred" {
		t.Errorf("audit outcome %v, want transferred", a["outcome"])
	}
	waitUntil(t, "the twin's redelivery to be counted", func() bool {
		return h.logs.FilterMessage("redelivered request ignored").Len() == 1
	})
	if calls := h.slack.Calls("response_url"); len(calls) > 0 {
		t.Errorf("the requester was told %q about the twin of a transfer that ran", calls[0].Arg("text"))
	}
	if n := len(h.logs.FilterMessage("transfer").All()); n != 1 {
		t.Errorf("%d audit lines, want 1 (the twin ran nothing)", n)
	}
}

// 150 transfers at once overlap: while Plivo holds every answer, all 150
// are acked and all 150 requests reach Plivo. Transfers queued behind one
// another would leave Plivo with one request, and acks that waited on Plivo
// would never come.
func TestManyTransfersOverlap(t *testing.T) {
	const n = 150
	// Only the gate holds Plivo's answers: on a loaded machine, sending 150
	// commands and reading their acks may take longer than a short Plivo
	// time-out, which would end the first transfers early.
	h := start(t, options{plivoTimeout: 5 * time.Minute})
	gate := make(chan struct{})
	h.plivo.Respond(fakeplivo.Response{Gate: gate})

	envs := make([]fakeslack.Envelope, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			env, err := h.slack.SendSlashCommand(h.ctx(), slack.SlashCommand{
				UserID: supervisor, ChannelID: floorChannel, Text: fmt.Sprintf("+1415333%04d from +1415777%04d", i, i),
			})
			envs[i] = env
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
	for _, env := range envs {
		h.ack(env) // fails the test if an ack never comes while Plivo holds every answer
	}
	if _, err := h.plivo.WaitRequests(h.ctx(), n); err != nil {
		t.Fatalf("Plivo holds %d requests before answering any, want all %d at once: %v", h.plivo.Count(), n, err)
	}
	if got := len(h.slack.Calls("chat.update")); got != 0 {
		t.Fatalf("%d announcements marked before Plivo answered", got)
	}
	close(gate)
	// The announcement is marked last, after the reply.
	if _, err := h.slack.WaitCalls(h.ctx(), "chat.update", n); err != nil {
		t.Fatal(err)
	}
	if got := h.plivo.Count(); got != n {
		t.Errorf("Plivo received %d requests, want %d", got, n)
	}
}

// SIGTERM: new work stops, transfers in flight finish and post their
// replies, and Run returns nil.
func TestShutdownFinishesInFlightTransfers(t *testing.T) {
	h := start(t, options{})
	h.plivo.Respond(fakeplivo.Response{Delay: 300 * time.Millisecond})
	for i := range 5 {
		h.command(supervisor, floorChannel, fmt.Sprintf("+1415444%04d from +1415888%04d", i, i))
	}
	if _, err := h.plivo.WaitRequests(h.ctx(), 5); err != nil {
		t.Fatal(err)
	}
	if err := h.shutdown(); err != nil {
		t.Fatalf("Run returned %v, want nil", err)
	}
	replies := 0
	for _, c := range h.slack.Calls("chat.postMessage") {
		if c.Arg("thread_ts") != "" && ok(c) {
			replies++
		}
	}
	if replies != 5 {
		t.Errorf("%d replies posted by the time Run returned, want 5", replies)
	}
	if h.bot.Ready() {
		t.Error("bot still ready after shutdown")
	}
	// No new work: the bot has let go of the socket.
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := h.slack.SendSlashCommand(short, slack.SlashCommand{UserID: supervisor, ChannelID: floorChannel, Text: "help"}); err == nil {
		t.Error("a command was delivered after shutdown")
	}
}

// A transfer that outlives the shutdown grace is cancelled, and its audit
// line says what the supervisor must check.
func TestShutdownGraceIsBounded(t *testing.T) {
	g := newGatedPlivo(t, "+14152225555")
	h := start(t, options{plivoURL: g.URL, grace: 200 * time.Millisecond})
	h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	g.waitArrivals(t, 1)
	began := time.Now()
	if err := h.shutdown(); err != nil {
		t.Fatal(err)
	}
	// Without a bound it would wait for the gated Plivo for ever; the
	// margin over the 200ms grace is for a loaded machine.
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("shutdown took %v with a 200ms grace", took)
	}
	a := h.audit(1)
	if a["outcome"] != "unknown" || !strings.Contains(a["error"].(string), "cancelled") {
		t.Errorf("audit %v; want an unknown outcome from the cancelled request", a)
	}
}

// A rejected app-level token ends Run with an error naming it.
func TestRejectedAppTokenEndsRun(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{BotToken: botToken, AppToken: "xapp-the-right-one"})
	defer fs.Close()
	api := slackapi.New(slackapi.Config{BotToken: botToken, AppToken: appToken, URL: fs.APIURL()})
	bot := slackbot.New(slackbot.Config{}, api, nil, nil, discardLogger())
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	err := bot.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "Slack rejected SLACK_APP_TOKEN (invalid_auth)") {
		t.Errorf("Run = %v; want the app token named", err)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling with a deadline
	}
}

func discardLogger() *zap.Logger { return zap.NewNop() }
