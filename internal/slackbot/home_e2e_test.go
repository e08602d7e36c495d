package slackbot_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
	"github.com/coldtransfer/coldtransfer/internal/store"
)

// The floor of the Home tab tests: the directory tests' floor, with typed
// numbers for the supervisor only, within limits.
const homeDirectory = floorDirectory + `
typed:
  allow: true
  who: [USUPER1]
  prefixes: ["+1", "+44"]
  deny_prefixes: ["+1900"]
  sip_domains: ["pbx.example.com"]
`

// openHome opens user's Home tab, as Slack tells the bot when they click
// the app, and waits for the ack.
func (h *harness) openHome(user string) {
	h.t.Helper()
	env, err := h.slack.SendAppHomeOpened(h.ctx(), user)
	if err != nil {
		h.t.Fatalf("send app_home_opened: %v", err)
	}
	h.ack(env)
}

// homeResult waits for the n-th "home tab" log line about user and returns
// what came of the open: published, unchanged or later.
func (h *harness) homeResult(user string, n int) string {
	h.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		var results []string
		for _, l := range h.logs.FilterMessage("home tab").All() {
			if m := l.ContextMap(); m["user"] == user {
				results = append(results, m["result"].(string))
			}
		}
		if len(results) >= n {
			return results[n-1]
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("wanted %d home tab lines about %s, got %v", n, user, results)
		}
		time.Sleep(5 * time.Millisecond) // polling a log with a deadline
	}
}

// homeTab waits for a Home tab of user that Slack accepted and whose text
// contains want ("" for any), and returns that text.
func (h *harness) homeTab(user, want string) (fakeslack.HomeTab, string) {
	h.t.Helper()
	tab, err := h.slack.WaitHomeView(h.ctx(), user, func(t fakeslack.HomeTab) bool { return strings.Contains(viewText(t.View), want) })
	if err != nil {
		last, _ := h.slack.HomeView(user)
		h.t.Fatalf("no Home tab of %s showing %q: %v; the tab shows:\n%s", user, want, err, viewText(last.View))
	}
	return tab, viewText(tab.View)
}

// viewText is a view's JSON with Go's escapes of <, > and & undone, so
// that mrkdwn reads as written.
func viewText(b []byte) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b))
}

func wantIn(t *testing.T, what, text string, want, absent []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
	for _, a := range absent {
		if strings.Contains(text, a) {
			t.Errorf("%s shows %q, which it must not:\n%s", what, a, text)
		}
	}
}

// A supervisor allowed by id sees where they may transfer, their
// destinations (label, name, endpoint), the limits of typed numbers, the
// agents, and the New transfer button, which opens the form with a channel
// picker starting at the first allowed channel; the form transfers in the
// channel picked.
func TestHomeForAnAllowedUser(t *testing.T) {
	policy := authz.Policy{Users: []string{supervisor}, Groups: []string{floorGroup, leadsGroup}, Channels: []string{floorChannel, otherChannel}}
	h, _ := startWithDirectory(t, homeDirectory, options{policy: &policy})

	h.openHome(supervisor)
	tab, text := h.homeTab(supervisor, "")
	wantIn(t, "the supervisor's Home tab", text, []string{
		"You may transfer calls* in <#" + floorChannel + "> or <#" + otherChannel + ">",
		`"action_id":"home_new_transfer"`, `"value":"` + fakeslack.DMChannel(supervisor) + `"`, "New transfer",
		"Billing queue · `billing` → `+14155550100`", "VIP desk · `vip` → `sip:vip@pbx.example.com`",
		"You may also type a number or SIP address*: numbers starting `+1` or `+44`; never numbers starting `+1900`; SIP addresses only at `pbx.example.com`.",
		"Agents on the floor", "<@" + supervisor + "> · `+14152223333`",
		"Your last transfers", "None in the last 7 days",
	}, []string{"Team leads", "may not"})
	if r := h.homeResult(supervisor, 1); r != "published" {
		t.Errorf("home tab result %q, want published", r)
	}

	// A member of the leads group: their destinations, no typed numbers.
	h.openHome(groupMember)
	_, text = h.homeTab(groupMember, "")
	wantIn(t, "the group member's Home tab", text,
		[]string{"You may transfer calls", "Team leads &amp; seniors · `leads`", "You may not type numbers or SIP addresses"},
		[]string{"VIP desk", "You are one of them"})

	// New transfer: the form, asking for the channel.
	h.pressNewTransfer(supervisor, tab)
	v, raw := h.rawView()
	if got, want := raw.layout(), "channel:conversations_select agent:users_select:optional trigger_source:plain_text_input:optional to:static_select:optional to_typed:plain_text_input:optional role:static_select:optional how:radio_buttons:optional"; got != want {
		t.Errorf("form layout\n got %s\nwant %s", got, want)
	}
	if rv := h.slack.Calls("views.open")[0].Arg("view"); !strings.Contains(rv, `"initial_conversation":"`+floorChannel+`"`) {
		t.Errorf("the channel picker does not start at the first allowed channel: %s", rv)
	}
	cb := v.pickSubmission(supervisor, "V1", pick{to: "billing", agent: alice})
	cb.View.State.Values["channel"] = map[string]slack.BlockAction{"channel": {Type: "conversations_select", SelectedConversation: otherChannel}}
	if _, ack := h.submit(cb); ack.Payload != nil {
		t.Fatalf("submission refused: %s", ack.Payload)
	}
	h.threadOf(otherChannel, supervisor)
	wantAudit(t, h.audit(1), map[string]any{"outcome": "transferred", "channel": otherChannel, "path": "modal", "destination": "billing"})

	// Without a channel picked: under the field, nothing runs.
	cb = v.pickSubmission(supervisor, "V2", pick{to: "billing", agent: alice})
	_, ack := h.submit(cb)
	if errs := fieldErrors(t, ack); !strings.Contains(errs["channel"], "Choose the channel") {
		t.Errorf("submission without a channel answered %v, want an error under the channel", errs)
	}
}

// Someone not allowed sees that, and whom to ask, and nothing of the
// floor: no destinations, agents or button.
func TestHomeForARefusedUser(t *testing.T) {
	h, _ := startWithDirectory(t, homeDirectory, options{})
	h.openHome(stranger)
	_, text := h.homeTab(stranger, "")
	wantIn(t, "a stranger's Home tab", text,
		[]string{"You may not transfer calls", "ask the bot's operator", "TRANSFER_ALLOWED_USERS", "None in the last 7 days"},
		[]string{"home_new_transfer", "Billing queue", "Agents on the floor", "+14152223333", "type a number"})

	// A press of a button the tab never showed them: told why in the
	// app's direct message, no form.
	tab, _ := h.slack.HomeView(stranger)
	h.pressNewTransfer(stranger, tab)
	told, err := h.slack.WaitCall(h.ctx(), "chat.postEphemeral", func(c fakeslack.Call) bool { return c.Arg("user") == stranger })
	if err != nil {
		t.Fatal(err)
	}
	if c := told.Arg("channel"); c != fakeslack.DMChannel(stranger) {
		t.Errorf("refusal told in %s, want the app's direct message %s", c, fakeslack.DMChannel(stranger))
	}
	wantIn(t, "the refusal", told.Arg("text"), []string{"not allowed to transfer"}, nil)
	wantAudit(t, h.audit(1), map[string]any{"outcome": "refused", "requester": stranger, "path": "modal"})
	h.noneOf("views.open")
}

// pressNewTransfer presses the New transfer button of user's Home tab.
func (h *harness) pressNewTransfer(user string, tab fakeslack.HomeTab) {
	h.t.Helper()
	env, err := h.slack.SendInteraction(h.ctx(), slack.InteractionCallback{
		Type: slack.InteractionTypeBlockActions,
		User: slack.User{ID: user},
		View: slack.View{ID: tab.ID, Type: slack.VTHomeTab},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{
			{ActionID: "home_new_transfer", BlockID: "home_actions", Value: fakeslack.DMChannel(user)},
		}},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if ack := h.ack(env); ack.Payload != nil {
		h.t.Errorf("button press acked with %s, want an empty ack", ack.Payload)
	}
}

// When Slack cannot say who is in a group, the tab says so and grants
// nothing that depends on it: a group member sees no rights at all; the
// supervisor, allowed by id, sees their destinations but not those of
// a group that could not be checked, and is told some are missing.
func TestHomeWhenAGroupLookupFails(t *testing.T) {
	policy := authz.Policy{Users: []string{supervisor}, Groups: []string{floorGroup, leadsGroup}}
	h, _ := startWithDirectory(t, homeDirectory, options{policy: &policy})
	h.slack.Fail("usergroups.users.list", fakeslack.Failure{Error: "fatal_error", Times: 1000})

	h.openHome(groupMember)
	_, text := h.homeTab(groupMember, "")
	wantIn(t, "the group member's Home tab", text,
		[]string{"Slack could not confirm your user-group membership just now", "shows nothing that depends on it", "Your last transfers"},
		[]string{"home_new_transfer", "Billing queue", "Team leads", "You may transfer"})

	h.openHome(supervisor)
	_, text = h.homeTab(supervisor, "")
	wantIn(t, "the supervisor's Home tab", text,
		[]string{"You may transfer calls", "VIP desk", "1 more are limited to user groups Slack could not confirm just now", "home_new_transfer"},
		[]string{"Team leads"})
}

// Opening the tab again within 10 s publishes nothing (a publish waits
// its turn); opening it again after that, with nothing changed, publishes
// nothing either.
func TestHomePublishesAtMostOnceIn10sAndOnlyWhenChanged(t *testing.T) {
	t.Run("within 10 s", func(t *testing.T) {
		h := start(t, options{})
		h.openHome(supervisor)
		if r := h.homeResult(supervisor, 1); r != "published" {
			t.Fatalf("first open: %q, want published", r)
		}
		h.openHome(supervisor)
		if r := h.homeResult(supervisor, 2); r != "later" {
			t.Errorf("second open within 10 s: %q, want later", r)
		}
		if n := len(h.slack.Calls("views.publish")); n != 1 {
			t.Errorf("views.publish called %d times, want once", n)
		}
	})
	t.Run("unchanged", func(t *testing.T) {
		h := start(t, options{homeInterval: time.Millisecond})
		h.openHome(supervisor)
		if r := h.homeResult(supervisor, 1); r != "published" {
			t.Fatalf("first open: %q, want published", r)
		}
		h.openHome(supervisor)
		if r := h.homeResult(supervisor, 2); r != "unchanged" {
			t.Errorf("second open: %q, want unchanged", r)
		}
		if n := len(h.slack.Calls("views.publish")); n != 1 {
			t.Errorf("views.publish called %d times, want once", n)
		}
	})
}

// A transfer shows in its requester's open tab, with its outcome and a
// link to its thread, and in nobody else's.
func TestHomeShowsTheRequestersOwnTransfers(t *testing.T) {
	h := start(t, options{homeInterval: 20 * time.Millisecond})
	h.openHome(supervisor)
	h.homeTab(supervisor, "None in the last 7 days")

	h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	tr := h.threadOf(floorChannel, supervisor)
	link := fakeslack.Permalink(floorChannel, tr.announcement.AnswerArg("ts"), "")
	_, text := h.homeTab(supervisor, "+14152225555")
	wantIn(t, "the requester's Home tab", text, []string{
		":white_check_mark: Transferred · Cold transfer to `+14152225555` · agent `+14152223333` · <#" + floorChannel + "> · <" + link + "|thread>",
		"<!date^",
	}, []string{"None in the last 7 days"})

	h.openHome(groupMember)
	_, text = h.homeTab(groupMember, "")
	wantIn(t, "another supervisor's Home tab", text, []string{"None in the last 7 days"}, []string{"14152225555", "14152223333"})
}

// The recent transfers are in the shared store: a replica shows the
// transfers another one made.
func TestHomeTransfersAreSharedByReplicas(t *testing.T) {
	shared := store.NewMemory(store.MemoryConfig{})
	a := start(t, options{store: shared})
	b := start(t, options{store: shared})
	a.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	a.threadOf(floorChannel, supervisor)
	a.audit(1)
	deadline := time.Now().Add(waitTimeout)
	for {
		if r, _ := shared.Recent(a.ctx(), supervisor, 1); len(r) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the transfer was never recorded for the Home tab")
		}
		time.Sleep(5 * time.Millisecond) // polling the store with a deadline
	}
	b.openHome(supervisor)
	b.homeTab(supervisor, "Cold transfer to `+14152225555`")
}

// views.publish failing is logged and tried again later; a publish that
// hangs holds up no transfer.
func TestHomePublishFailuresNeverBlockATransfer(t *testing.T) {
	t.Run("failing, then retried", func(t *testing.T) {
		h := start(t, options{homeInterval: 20 * time.Millisecond})
		h.slack.Fail("views.publish", fakeslack.Failure{Status: 500, Times: 5})
		h.openHome(supervisor)
		h.homeTab(supervisor, "You may transfer calls")
		if n := h.logs.FilterMessage("home tab not published; trying again later").Len(); n != 1 {
			t.Errorf("%d warnings that the tab was not published, want 1", n)
		}
	})
	t.Run("hanging", func(t *testing.T) {
		h := start(t, options{})
		h.slack.Fail("views.publish", fakeslack.Failure{Delay: 3 * time.Second})
		h.openHome(supervisor)
		if _, err := h.slack.WaitCalls(h.ctx(), "views.publish", 1); err != nil {
			t.Fatal(err)
		}
		h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
		h.threadOf(floorChannel, supervisor)
		if _, published := h.slack.HomeView(supervisor); published {
			t.Error("the Home tab was published before the transfer ended; the test proves nothing")
		}
	})
}

// fieldErrors reads a view_submission ack's errors by block id.
func fieldErrors(t *testing.T, ack fakeslack.Ack) map[string]string {
	t.Helper()
	var p struct {
		Action string            `json:"response_action"`
		Errors map[string]string `json:"errors"`
	}
	if ack.Payload == nil {
		return nil
	}
	if err := json.Unmarshal(ack.Payload, &p); err != nil {
		t.Fatalf("ack payload %s: %v", ack.Payload, err)
	}
	return p.Errors
}
