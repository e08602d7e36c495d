package slackbot_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/redistest"
	"github.com/coldtransfer/coldtransfer/internal/store"
)

// typedForLeads lets the leads' group type numbers within +1 and +44 but
// not premium ranges, and SIP addresses only on the floor's domain.
const typedForLeads = floorDirectory + `typed:
  allow: true
  who: [SLEADS01]
  prefixes: ["+1", "+44"]
  deny_prefixes: ["+1900", "+1976"]
  sip_domains: ["floor.example.com"]
`

// Each rule of the typed policy refuses with its own sentence, privately,
// with nothing in the channel and nothing sent to Plivo, and the audit
// line says which rule.
func TestTypedPolicyRefusals(t *testing.T) {
	cases := []struct {
		name, text string
		user       string // default: a lead, who may type
		wantMsg    []string
		wantReason string
	}{
		{"outside typed.who", "+1 415 555 0100 from +1 415 222 4444", supervisor,
			[]string{"You may not send calls to a number or SIP address typed by hand (`+14155550100`), so nothing was transferred.", "Destinations you may use: `billing`, `vip`"},
			"typed destinations not allowed to user USUPER1"},
		{"deny prefix beats prefixes", "+1 900 555 0100 from +1 415 222 4444", "",
			[]string{"Numbers starting `+1900` are barred on this floor (`+19005550100`)", "Destinations you may use: `billing`, `leads`"},
			"typed number +19005550100 starts with +1900, one of typed.deny_prefixes"},
		{"outside the prefixes", "+33 1 45 55 01 00 from +1 415 222 4444", "",
			[]string{"Typed numbers must start with `+1` or `+44`; `+33145550100` does not"},
			"typed number +33145550100 starts with none of typed.prefixes +1, +44"},
		{"SIP host not allowed", "sip:someone@PBX.Example.com from +1 415 222 4444", "",
			[]string{"Typed SIP addresses must be at `floor.example.com`, not `pbx.example.com`"},
			"typed SIP host pbx.example.com is not one of typed.sip_domains floor.example.com"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := startWithDirectory(t, typedForLeads, options{})
			user := tc.user
			if user == "" {
				user = groupMember
			}
			h.command(user, floorChannel, tc.text)
			msg := h.responses(1)[0]
			for _, w := range tc.wantMsg {
				if !strings.Contains(msg, w) {
					t.Errorf("requester told\n%s\nwant %q", msg, w)
				}
			}
			a := h.audit(1)
			wantAudit(t, a, map[string]any{"outcome": "refused_destination", "decision": "refused"})
			if r, _ := a["reason"].(string); !strings.Contains(r, tc.wantReason) {
				t.Errorf("audit reason %q, want %q", r, tc.wantReason)
			}
			h.noneOf("chat.postMessage", "chat.postEphemeral")
			h.noPlivo()
		})
	}

	t.Run("within the policy", func(t *testing.T) {
		h, _ := startWithDirectory(t, typedForLeads, options{})
		h.command(groupMember, floorChannel, "sip:desk@Floor.Example.com:5060 from +1 415 222 4444")
		h.threadOf(floorChannel, groupMember)
		wantAudit(t, h.audit(1), map[string]any{"outcome": "transferred"})
	})
}

// Two supervisors send the same call at the same moment, 100 times: each
// time Plivo receives exactly one transfer, and the other supervisor is
// told privately who holds the call and where.
func TestSameCallIsTransferredOnce(t *testing.T) {
	h := start(t, options{})
	requesters := []string{supervisor, groupMember}
	for round := 1; round <= 100; round++ {
		call := fmt.Sprintf("+1415222%04d", round)
		sendAtOnce(t, h, requesters, floorChannel, "+1 415 555 0100 from "+call)
		h.audit(2 * round)
		if got := h.plivo.Count(); got != round {
			t.Fatalf("round %d: Plivo received %d transfers in all, want %d (one per round)", round, got, round)
		}
	}
	outcomes := map[string]int{}
	for _, l := range h.logs.FilterMessage("transfer").All() {
		outcomes[l.ContextMap()["outcome"].(string)]++
	}
	if outcomes["transferred"] != 100 || outcomes["call_claimed"] != 100 {
		t.Errorf("outcomes %v, want 100 transferred and 100 call_claimed", outcomes)
	}
	claimed := regexp.MustCompile(`^:no_entry: <@(USUPER1|UGROUP01)> is transferring the call of ` + "`" + `\+1415222\d{4}` + "`" + `, or transferred it moments ago \(see <#CFLOOR01>\), so nothing was transferred`)
	for _, msg := range h.responses(100) {
		if !claimed.MatchString(msg) {
			t.Errorf("the second supervisor was told %q", msg)
		}
	}
	if n := len(h.slack.Calls("chat.postMessage")); n != 2*100 {
		t.Errorf("%d messages in the channel, want 200: an announcement and a reply per round, none for the refused", n)
	}
}

// The same race across two replicas sharing one Redis and one Slack app:
// Slack hands each envelope to one of their connections, each replica has
// its own Plivo client, and still each call is transferred once.
func TestSameCallIsTransferredOnceAcrossReplicas(t *testing.T) {
	rd := redistest.StartT(t)
	shared := func() store.Store {
		opt, err := store.ParseRedisURL(rd.URL())
		if err != nil {
			t.Fatal(err)
		}
		r := store.NewRedis(store.RedisConfig{Options: opt})
		t.Cleanup(func() { _ = r.Close() })
		return r
	}
	fs := newFakeSlack()
	t.Cleanup(fs.Close)
	a := start(t, options{store: shared(), slack: fs})
	b := start(t, options{store: shared(), slack: fs})
	lines := func() int {
		return a.logs.FilterMessage("transfer").Len() + b.logs.FilterMessage("transfer").Len()
	}
	for round := 1; round <= 100; round++ {
		sendAtOnce(t, a, []string{supervisor, groupMember}, floorChannel, fmt.Sprintf("+1 415 555 0100 from +1415333%04d", round))
		waitUntil(t, fmt.Sprintf("round %d's two audit lines", round), func() bool { return lines() >= 2*round })
		if got := a.plivo.Count() + b.plivo.Count(); got != round {
			t.Fatalf("round %d: the replicas sent Plivo %d transfers in all, want %d (one per round)", round, got, round)
		}
	}
	if a.plivo.Count() == 0 || b.plivo.Count() == 0 {
		t.Errorf("Plivo got %d transfers from one replica and %d from the other; want both to have served", a.plivo.Count(), b.plivo.Count())
	}
}

// sendAtOnce types text as each of users in channel at the same moment and
// waits for every ack.
func sendAtOnce(t *testing.T, h *harness, users []string, channel, text string) {
	t.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, len(users))
	for _, u := range users {
		wg.Go(func() {
			<-start
			env, err := h.slack.SendSlashCommand(h.ctx(), slack.SlashCommand{UserID: u, ChannelID: channel, Text: text})
			if err == nil {
				_, err = h.slack.WaitAck(h.ctx(), env.EnvelopeID)
			}
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A transfer that surely did nothing (❌) gives its call up at once; one
// that Plivo accepted holds it for the hold time, then lets it go.
func TestCallClaimRelease(t *testing.T) {
	t.Run("released at once after not transferred", func(t *testing.T) {
		h := start(t, options{})
		h.plivo.Respond(fakeplivo.Response{Status: 400, Body: `{"api_id":"x","error":"member not found"}`}, fakeplivo.Response{})
		h.command(supervisor, floorChannel, "+1 415 555 0100 from +1 415 222 3333")
		wantAudit(t, h.audit(1), map[string]any{"outcome": "failed"})
		h.command(groupMember, floorChannel, "+1 415 555 0101 from +1 415 222 3333")
		wantAudit(t, h.audit(2), map[string]any{"outcome": "transferred"})
		if got := h.plivo.Count(); got != 2 {
			t.Errorf("Plivo received %d requests, want 2", got)
		}
	})

	t.Run("held after transferred, then released", func(t *testing.T) {
		clock := newTestClock()
		mem := store.NewMemory(store.MemoryConfig{Now: clock.Now})
		h := start(t, options{store: mem})
		h.command(supervisor, floorChannel, "+1 415 555 0100 from +1 415 222 3333")
		wantAudit(t, h.audit(1), map[string]any{"outcome": "transferred"})

		h.command(groupMember, floorChannel, "+1 415 555 0101 from +1 415 222 3333")
		wantAudit(t, h.audit(2), map[string]any{"outcome": "call_claimed", "decision": "refused"})
		if msg := h.responses(1)[0]; !strings.Contains(msg, "<@USUPER1> is transferring the call of `+14152223333`, or transferred it moments ago (see <#CFLOOR01>)") {
			t.Errorf("second requester told %q", msg)
		}

		// The claim is held 15 s after the reply, and not longer.
		probe := store.Holder{Token: "probe", User: "UPROBE01", Channel: floorChannel}
		claimable := func() bool {
			_, ok, err := mem.Claim(context.Background(), "call:+14152223333", probe, time.Minute)
			return err == nil && ok
		}
		clock.Advance(14 * time.Second)
		if claimable() {
			t.Fatal("the call was free 14 s after the transfer; want it held 15 s")
		}
		clock.Advance(time.Second)
		if !claimable() {
			t.Fatal("the call was still claimed 15 s after the transfer")
		}
		if got := h.plivo.Count(); got != 1 {
			t.Errorf("Plivo received %d requests, want 1", got)
		}
	})

	t.Run("released at once when the announcement fails", func(t *testing.T) {
		h := start(t, options{})
		h.slack.SetNotInChannel(otherChannel)
		h.command(supervisor, otherChannel, "+1 415 555 0100 from +1 415 222 3333")
		wantAudit(t, h.audit(1), map[string]any{"outcome": "not_announced"})
		h.command(supervisor, floorChannel, "+1 415 555 0100 from +1 415 222 3333")
		wantAudit(t, h.audit(2), map[string]any{"outcome": "transferred"})
	})
}

// Past TRANSFER_RATE_PER_USER a requester is told when to try again, and
// nothing runs; a refusal by a later check counts nothing; the next window
// lets them transfer again.
func TestRatePerUser(t *testing.T) {
	clock := newTestClock()
	h := start(t, options{rate: authz.RateLimit{N: 2, Window: time.Minute},
		store: store.NewMemory(store.MemoryConfig{Now: clock.Now})})

	h.command(supervisor, floorChannel, "+1 415 555 0100 from +1 415 222 0001")
	wantAudit(t, h.audit(1), map[string]any{"outcome": "transferred"})
	// A second transfer of the same call is refused by its claim: it gives
	// back the count it took.
	h.command(supervisor, floorChannel, "+1 415 555 0100 from +1 415 222 0001")
	wantAudit(t, h.audit(2), map[string]any{"outcome": "call_claimed"})
	clock.Advance(20 * time.Second)
	h.command(supervisor, floorChannel, "+1 415 555 0100 from +1 415 222 0002")
	wantAudit(t, h.audit(3), map[string]any{"outcome": "transferred"})

	h.command(supervisor, floorChannel, "+1 415 555 0100 from +1 415 222 0003")
	a := h.audit(4)
	wantAudit(t, a, map[string]any{"outcome": "rate_limited", "decision": "refused"})
	if r, _ := a["reason"].(string); !strings.Contains(r, "user USUPER1 past 2/m, retry in 40s") {
		t.Errorf("audit reason %q", r)
	}
	msgs := h.responses(2)
	want := ":hourglass: You have started as many transfers as one person may in a short time (TRANSFER_RATE_PER_USER), so nothing was transferred. Try again in 40 seconds."
	if msgs[1] != want {
		t.Errorf("the requester was told\n%q\nwant\n%q", msgs[1], want)
	}
	if got := h.plivo.Count(); got != 2 {
		t.Errorf("Plivo received %d requests, want 2", got)
	}
	if n := len(h.slack.Calls("chat.postMessage")); n != 4 {
		t.Errorf("%d channel messages, want 4 (two transfers); the refusals post none", n)
	}

	// Another requester has a count of their own; the next window resets.
	h.command(groupMember, floorChannel, "+1 415 555 0100 from +1 415 222 0004")
	wantAudit(t, h.audit(5), map[string]any{"outcome": "transferred"})
	clock.Advance(40 * time.Second)
	h.command(supervisor, floorChannel, "+1 415 555 0100 from +1 415 222 0003")
	wantAudit(t, h.audit(6), map[string]any{"outcome": "transferred"})
}

// testClock is a clock that tests move by hand; it starts at the beginning
// of a minute, so that fixed windows line up with the test's steps.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
