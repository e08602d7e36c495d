package slackbot_test

// The promises that hold under faults: what a Slack that hangs, answers
// too much or rate-limits a channel, a panic, or a slow group lookup do to
// one request, and never to the others.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
	"github.com/coldtransfer/coldtransfer/internal/metrics"
	"github.com/coldtransfer/coldtransfer/internal/slackbot"
	"github.com/coldtransfer/coldtransfer/internal/store"
)

// An announcement that reached Slack but whose answer never came is not
// posted again (a second announcement, and the first stuck at ⏳), and
// nothing is transferred: the requester is told that an announcement
// without a transfer may stand in the channel.
func TestAnnouncementSentButUnansweredIsNotPostedAgain(t *testing.T) {
	h := start(t, options{httpTimeout: 300 * time.Millisecond})
	h.slack.Fail("chat.postMessage", fakeslack.Failure{Delay: 3 * time.Second})
	h.command(supervisor, floorChannel, "+14152225555 from +14152223333")

	msg := h.responses(1)[0]
	for _, want := range []string{"did not confirm", "nothing was transferred", "Plivo was never asked"} {
		if !strings.Contains(msg, want) {
			t.Errorf("requester told %q; want it to say %q", msg, want)
		}
	}
	if a := h.audit(1); a["outcome"] != "not_announced" {
		t.Errorf("audit outcome %v, want not_announced", a["outcome"])
	}
	if n := len(h.slack.Calls("chat.postMessage")); n != 1 {
		t.Errorf("chat.postMessage sent %d times, want once: a second announcement would stand beside the first", n)
	}
	h.noPlivo()
}

// Every Slack answer is read within the same bound whether or not metrics
// are on: a group too large to read is a failed lookup (fail closed), with
// metrics and without.
func TestOneBoundWithOrWithoutMetrics(t *testing.T) {
	members := make([]string, 90_000)
	for i := range members {
		members[i] = fmt.Sprintf("U%08d", i)
	}
	members = append(members, groupMember)
	for _, tc := range []struct {
		name    string
		metrics *metrics.Metrics
	}{{"without metrics", nil}, {"with metrics", metrics.New("test")}} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, options{metrics: tc.metrics})
			h.slack.SetGroupMembers(floorGroup, members...)
			h.command(groupMember, floorChannel, "+14152225555 from +14152223333")
			if msg := h.responses(1)[0]; !strings.Contains(msg, "could not") {
				t.Errorf("member of a group whose list is past the bound told %q; want refused, the lookup failed", msg)
			}
			if a := h.audit(1); a["outcome"] != "refused" {
				t.Errorf("audit outcome %v, want refused", a["outcome"])
			}
			h.noPlivo()
		})
	}
}

// panickingAuthorizer panics when it decides for one user.
type panickingAuthorizer struct {
	slackbot.Authorizer
	user string
}

func (a panickingAuthorizer) Decide(ctx context.Context, userID, channelID string) authz.Decision {
	if userID == a.user {
		panic("test: a bug while deciding")
	}
	return a.Authorizer.Decide(ctx, userID, channelID)
}

// A panic while handling one request fails that request, tells its
// requester, logs it with the request's fields and the stack, and counts
// it; the other requests and the process go on.
func TestPanicIsOneRequestsProblem(t *testing.T) {
	m := metrics.New("test")
	h := start(t, options{metrics: m, authorizer: func(a slackbot.Authorizer) slackbot.Authorizer {
		return panickingAuthorizer{Authorizer: a, user: groupMember}
	}})
	h.command(groupMember, floorChannel, "+14152225555 from +14152223333")
	if msg := h.responses(1)[0]; !strings.Contains(msg, "went wrong inside the bot") || !strings.Contains(msg, "nothing was transferred") {
		t.Errorf("requester of the request that panicked told %q", msg)
	}
	lines := h.logs.FilterMessageSnippet("panic while handling a request").All()
	if len(lines) != 1 || lines[0].Level.String() != "error" {
		t.Fatalf("panic lines %v, want one at error level", lines)
	}
	fields := lines[0].ContextMap()
	if fields["requester"] != groupMember || !strings.Contains(fmt.Sprint(fields["stack"]), "panickingAuthorizer.Decide") {
		t.Errorf("panic line without the request or the stack: %v", fields)
	}
	if a := h.audit(1); a["outcome"] != "failed" || !strings.Contains(fmt.Sprint(a["error"]), "panic") {
		t.Errorf("audit of the request that panicked: %v", a)
	}
	if got := value(t, m.Gatherer(), "coldtransfer_panics_total", ""); got != 1 {
		t.Errorf("coldtransfer_panics_total = %v, want 1", got)
	}

	h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	h.threadOf(floorChannel, supervisor)
	if a := h.audit(2); a["outcome"] != "transferred" {
		t.Errorf("the next request after a panic: %v", a)
	}
}

// Slack's trigger id expires 3 s after the command: a form whose decision
// waits on a 4 s group lookup opens in time, and the decision is made on
// submission; a requester refused on what is known gets no form.
func TestFormOpensInTimeWhileAGroupLookupWaits(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{BotToken: botToken, AppToken: appToken, BotUserID: "UBOT0001", TriggerTTL: 3 * time.Second})
	t.Cleanup(fs.Close)
	h := start(t, options{slack: fs, policy: &authz.Policy{
		Users: []string{supervisor}, Groups: []string{floorGroup}, Channels: []string{floorChannel},
	}})
	fs.Fail("usergroups.users.list", fakeslack.Failure{Delay: 4 * time.Second})

	h.command(groupMember, floorChannel, "")
	opened, err := fs.WaitCalls(h.ctx(), "views.open", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !ok(opened[0]) {
		t.Fatalf("views.open answered %s; the form must open before the trigger id expires", opened[0].Answer)
	}
	v := h.openedView()
	h.submit(v.submission(groupMember, "VLATE", "+14152223333", "+14152225555", "agent"))
	h.threadOf(floorChannel, groupMember)

	// Refused on the channel alone, and, once the group is known, on it.
	h.command(groupMember, otherChannel, "")
	h.command(stranger, floorChannel, "")
	msgs := strings.Join(h.responses(2), "\n")
	for _, want := range []string{"can't be transferred from this channel", "You are not allowed to transfer calls"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("refused requesters told %q; want %q", msgs, want)
		}
	}
	if n := len(fs.Calls("views.open")); n != 1 {
		t.Errorf("views.open called %d times, want once: a refused requester gets no form", n)
	}
}

// blockingStore is a store whose Release waits for the test.
type blockingStore struct {
	store.Store
	entered, release chan struct{}
	once             sync.Once
}

func (s *blockingStore) Release(ctx context.Context, key string, h store.Holder, keep time.Duration) error {
	s.once.Do(func() { close(s.entered) })
	<-s.release // ignores ctx: a store call that takes its time
	return s.Store.Release(ctx, key, h, keep)
}

// Run returns only once every request has returned, however long past the
// shutdown grace: the store is closed after Run, and must not be closed
// under running work.
func TestShutdownWaitsForEveryRequest(t *testing.T) {
	st := &blockingStore{Store: store.NewMemory(store.MemoryConfig{}), entered: make(chan struct{}), release: make(chan struct{})}
	h := start(t, options{store: st, grace: 100 * time.Millisecond})
	h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	select {
	case <-st.entered:
	case <-h.ctx().Done():
		t.Fatal("the transfer never released its claim")
	}
	returned := make(chan error, 1)
	go func() { returned <- h.shutdown() }()
	select {
	case <-returned:
		t.Fatal("Run returned while a request was still using the store")
	case <-time.After(3 * time.Second): // past the grace and any fixed allowance after it
	}
	close(st.release)
	select {
	case err := <-returned:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-h.ctx().Done():
		t.Fatal("Run did not return once the request was done")
	}
	if a := h.audit(1); a["outcome"] != "transferred" {
		t.Errorf("audit %v", a)
	}
}

// One channel that Slack rate-limits, with more transfers asked for there
// than it can take, does not make the bot busy for the floor's other
// channels: its own extra transfers are told Slack is holding the channel.
func TestOneRateLimitedChannelDoesNotTakeTheFloorDown(t *testing.T) {
	m := metrics.New("test")
	h := start(t, options{maxInFlight: 12, grace: 200 * time.Millisecond, metrics: m})
	h.slack.Fail("chat.postMessage", fakeslack.Failure{Status: 429, RetryAfter: 20})
	h.command(supervisor, floorChannel, "+14155550100 from +14152220100")
	waitUntil(t, "Slack's 429 in the channel", func() bool {
		return values(t, m.Gatherer(), "coldtransfer_slack_api_requests_total")["method=chat.postMessage,result=http_429"] == 1
	})
	for i := 1; i <= 11; i++ {
		h.command(supervisor, floorChannel, fmt.Sprintf("+141555501%02d from +141522201%02d", i, i))
	}
	busy := 0
	for _, m := range h.responses(11 - 7) {
		if strings.Contains(m, "Slack is holding back the bot's messages in this channel") {
			busy++
		}
	}
	if busy != 4 {
		t.Errorf("%d of the channel's extra transfers told the channel is held, want 4", busy)
	}
	for i := range 3 {
		h.command(supervisor, otherChannel, fmt.Sprintf("+141555502%02d from +141522202%02d", i, i))
	}
	for range 3 {
		h.threadOf(otherChannel, supervisor)
	}
	if n := len(h.slack.Calls("response_url")); n != 4 {
		t.Errorf("%d ephemeral answers, want the 4 busy ones of the held channel only", n)
	}
}

// A ✅/❌ mark that waits its turn in a rate-limited channel for longer
// than one Web API call's bound is not dropped.
func TestMarkOutwaitsTheChannelsRateLimit(t *testing.T) {
	h := start(t, options{slackTimeout: time.Second})
	h.slack.Fail("chat.update", fakeslack.Failure{Status: 429, RetryAfter: 2})
	h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	tr := h.threadOf(floorChannel, supervisor)
	if !strings.Contains(tr.update.Arg("blocks"), "Transferred") {
		t.Errorf("mark %q", tr.update.Arg("blocks"))
	}
	if n := h.logs.FilterMessageSnippet("not marked").Len(); n != 0 {
		t.Errorf("%d lines saying the announcement was not marked", n)
	}
}
