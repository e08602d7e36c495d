package slackbot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
	"github.com/coldtransfer/coldtransfer/internal/slackbot"
)

// The floor of the directory tests: supervisor may use billing and vip;
// groupMember, in leadsGroup, may use billing and leads; alice is an agent.
const (
	alice      = "UAGENT01"
	leadsGroup = "SLEADS01"
	otherGroup = "SOTHER01"
)

const floorDirectory = `
destinations:
  - name: billing
    label: Billing queue
    to: "+14155550100"
  - name: vip
    label: VIP desk
    to: "sip:vip@pbx.example.com"
    role: customer
    who: [USUPER1]
  - name: leads
    label: Team leads & seniors
    to: "+14155550102"
    who: [SLEADS01]
agents:
  - slack: USUPER1
    endpoint: "+14152223333"
  - slack: UAGENT01
    endpoint: "sip:alice@floor.example.com"
`

func mustDirectory(t *testing.T, file string) *directory.Directory {
	t.Helper()
	d, err := directory.Parse([]byte(file))
	if err != nil {
		t.Fatalf("directory.Parse:\n%v", err)
	}
	return d
}

// startWithDirectory starts a bot whose directory is file, and returns the
// harness and a function that puts another directory in force.
func startWithDirectory(t *testing.T, file string, opts options) (*harness, func(*directory.Directory)) {
	t.Helper()
	var cur atomic.Pointer[directory.Directory]
	cur.Store(mustDirectory(t, file))
	opts.directory = cur.Load
	h := start(t, opts)
	h.slack.SetGroupMembers(leadsGroup, groupMember)
	h.slack.SetGroupMembers(otherGroup, "UOTHER99")
	return h, cur.Store
}

// plivoBody waits for the n-th Plivo request and returns its body.
func (h *harness) plivoBody(n int) string {
	h.t.Helper()
	reqs, err := h.plivo.WaitRequests(h.ctx(), n)
	if err != nil {
		h.t.Fatal(err)
	}
	return string(reqs[n-1].Body)
}

func wantAudit(t *testing.T, a map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if a[k] != v {
			t.Errorf("audit %s = %v, want %v (line %v)", k, a[k], v, a)
		}
	}
}

// A destination by name, in any case, and the agent by mention: Plivo gets
// their endpoints, the channel sees the label and the mention with them,
// and the audit line names both.
func TestDirectoryNameAndMention(t *testing.T) {
	h, _ := startWithDirectory(t, floorDirectory, options{})
	_, ack := h.command(supervisor, floorChannel, "BILLING from <@UAGENT01|alice>")
	if text := ackText(t, ack); text != "" {
		t.Errorf("ack carried %q; want an empty ack", text)
	}
	tr := h.threadOf(floorChannel, supervisor)
	if body, want := h.plivoBody(1), `{"action":"cold_transfer","to":"+14155550100","role":"agent","trigger_source":"sip:alice@floor.example.com"}`; body != want {
		t.Errorf("Plivo body\n got %s\nwant %s", body, want)
	}
	text := tr.announcement.Arg("text")
	blocks := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(tr.announcement.Arg("blocks"))
	for _, want := range []string{"<@" + alice + "> (sip:alice@floor.example.com)", "Billing queue (+14155550100)"} {
		if !strings.Contains(text, want) {
			t.Errorf("announcement text %q lacks %q", text, want)
		}
	}
	for _, want := range []string{"<@" + alice + "> · `sip:alice@floor.example.com`", "Billing queue · `+14155550100`"} {
		if !strings.Contains(blocks, want) {
			t.Errorf("announcement blocks lack %q: %s", want, blocks)
		}
	}
	wantAudit(t, h.audit(1), map[string]any{
		"outcome": "transferred", "destination": "billing", "agent": alice, "to": "+14155550100",
		"trigger_source": "sip:alice@floor.example.com", "decision": "allowed",
		"reason": "user " + supervisor + " allowed by id; destination billing open to every requester",
	})
}

// from me is the requester's own agent entry; the destination's role is
// the default, and an explicit role wins.
func TestDirectoryFromMe(t *testing.T) {
	cases := []struct {
		text, wantBody string
	}{
		{"vip from me", `{"action":"cold_transfer","to":"sip:vip@pbx.example.com","role":"customer","trigger_source":"+14152223333"}`},
		{"Vip FROM Me as agent", `{"action":"cold_transfer","to":"sip:vip@pbx.example.com","role":"agent","trigger_source":"+14152223333"}`},
	}
	for _, tc := range cases {
		t.Run(tc.text, func(t *testing.T) {
			h, _ := startWithDirectory(t, floorDirectory, options{})
			h.command(supervisor, floorChannel, tc.text)
			h.threadOf(floorChannel, supervisor)
			if body := h.plivoBody(1); body != tc.wantBody {
				t.Errorf("Plivo body\n got %s\nwant %s", body, tc.wantBody)
			}
			wantAudit(t, h.audit(1), map[string]any{"outcome": "transferred", "destination": "vip", "agent": supervisor})
		})
	}
}

// Names, mentions and me that cannot be resolved are answered in the ack,
// saying what to type instead; nothing runs.
func TestDirectoryUnresolvedWords(t *testing.T) {
	h, _ := startWithDirectory(t, floorDirectory, options{})
	cases := []struct {
		name, user, text string
		want             []string
	}{
		{"mention without agent entry", supervisor, "billing from <@UNOBODY1|bob>",
			[]string{"<@UNOBODY1> has no agent entry in the floor directory", "like `from +14152223333`"}},
		{"bare mention without agent entry", supervisor, "billing from <@UNOBODY1>",
			[]string{"<@UNOBODY1> has no agent entry"}},
		{"me without agent entry", groupMember, "billing from me",
			[]string{"You have no agent entry in the floor directory, so `from me` can't tell where you are", "like `from +14152223333`"}},
		{"unknown name", supervisor, "bilingg from me",
			[]string{"No destination called `bilingg`; did you mean `billing`?", "`/transfer list`"}},
		{"unknown name, nothing close", supervisor, "accounts from me",
			[]string{"No destination called `accounts`.", "`/transfer list`"}},
		{"a label for a name", supervisor, "VIP desk from me", []string{"did you mean `vip`?"}},
		{"a person as destination", supervisor, "<@UAGENT01|alice> from me", []string{"a person can't be the destination"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ack := h.command(tc.user, floorChannel, tc.text)
			got := ackText(t, ack)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("/transfer %s answered\n%s\nwant it to contain %q", tc.text, got, w)
				}
			}
			if !strings.Contains(got, "/transfer billing from me") {
				t.Errorf("the usage in the answer has no directory example: %s", got)
			}
		})
	}
	h.noneOf("chat.postMessage", "views.open", "response_url")
	h.noPlivo()
	if a := h.audit(len(cases)); a["outcome"] != "invalid" {
		t.Errorf("audit outcome %v, want invalid", a["outcome"])
	}
}

// Once a directory exists, a typed destination is refused unless typed
// allows it, and a named one outside its who is refused: after the ack,
// before the announcement, saying what the requester may use instead.
func TestDirectoryDestinationPolicy(t *testing.T) {
	cases := []struct {
		name, user, text string
		wantMsg          []string
		wantReason       string
	}{
		{"typed refused by default", supervisor, "+1 415 555 0199 from me",
			[]string{"Numbers and SIP addresses typed by hand are not allowed here", "Destinations you may use: `billing`, `vip`"},
			"typed destinations not allowed by the directory"},
		{"typed SIP refused by default", groupMember, "sip:someone@pbx.example.com from +14152224444",
			[]string{"not allowed here", "Destinations you may use: `billing`, `leads`"}, "typed destinations not allowed by the directory"},
		{"outside who", groupMember, "vip from +14152224444",
			[]string{"You may not send calls to VIP desk (`vip`)", "`billing`, `leads`"}, "destination vip not allowed to user " + groupMember},
		{"outside a group's who", supervisor, "leads from me",
			[]string{"You may not send calls to Team leads &amp; seniors (`leads`)", "`billing`, `vip`"}, "destination leads not allowed to user " + supervisor},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := startWithDirectory(t, floorDirectory, options{})
			_, ack := h.command(tc.user, floorChannel, tc.text)
			if ack.Payload != nil {
				t.Errorf("ack carried %s; the refusal comes after the ack", ack.Payload)
			}
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
			h.noneOf("chat.postMessage", "chat.postEphemeral", "views.open")
			h.noPlivo()
		})
	}
}

// A typed destination is allowed where typed says so; the audit line then
// names no destination and no agent.
func TestDirectoryTypedAllowed(t *testing.T) {
	h, _ := startWithDirectory(t, floorDirectory+"typed:\n  allow: true\n  who: [SLEADS01]\n", options{})
	h.command(groupMember, floorChannel, "+1 415 555 0199 from +1 415 222 4444")
	h.threadOf(floorChannel, groupMember)
	if body := h.plivoBody(1); !strings.Contains(body, `"to":"+14155550199"`) {
		t.Errorf("Plivo body %s", body)
	}
	wantAudit(t, h.audit(1), map[string]any{"outcome": "transferred", "destination": "", "agent": ""})
}

// /transfer list: in the ack when ids decide everything, else after the ack
// through response_url once the groups are known.
func TestDirectoryList(t *testing.T) {
	t.Run("in the ack", func(t *testing.T) {
		h, _ := startWithDirectory(t, "destinations:\n"+
			"  - {name: billing, label: Billing queue, to: '+14155550100'}\n"+
			"  - {name: vip, label: VIP desk, to: 'sip:vip@pbx.example.com', who: [USUPER1, SLEADS01]}\n"+
			"  - {name: ops, label: Ops, to: '+14155550103', who: [UOTHER99]}\n"+
			"agents:\n  - {slack: USUPER1, endpoint: '+14152223333'}\n", options{})
		_, ack := h.command(supervisor, floorChannel, "LIST")
		got := ackText(t, ack)
		for _, w := range []string{"• Billing queue: `billing` → `+14155550100`", "• VIP desk: `vip` → `sip:vip@pbx.example.com`",
			"You may not type numbers or SIP addresses", "e.g. `/transfer billing from me`"} {
			if !strings.Contains(got, w) {
				t.Errorf("list answered\n%s\nwant %q", got, w)
			}
		}
		if strings.Contains(got, "`ops`") {
			t.Errorf("list shows a destination the requester may not use:\n%s", got)
		}
		h.noneOf("usergroups.users.list", "response_url", "chat.postMessage")
	})
	t.Run("after the ack", func(t *testing.T) {
		h, _ := startWithDirectory(t, floorDirectory+"typed: {allow: true, who: [SLEADS01]}\n", options{})
		_, ack := h.command(groupMember, floorChannel, "list")
		if ack.Payload != nil {
			t.Errorf("ack carried %s; groups must be looked up first", ack.Payload)
		}
		got := h.responses(1)[0]
		for _, w := range []string{"`billing`", "• Team leads &amp; seniors: `leads` → `+14155550102`",
			"You may also type a number or SIP address", "e.g. `/transfer billing from +1 415 222 3333`"} {
			if !strings.Contains(got, w) {
				t.Errorf("list answered\n%s\nwant %q", got, w)
			}
		}
		if strings.Contains(got, "`vip`") {
			t.Errorf("list shows vip, which is only the supervisor's:\n%s", got)
		}
		h.noneOf("chat.postMessage")
		h.noPlivo()
	})
	t.Run("not allowed, by id", func(t *testing.T) {
		h, _ := startWithDirectory(t, floorDirectory, options{policy: &authz.Policy{Users: []string{supervisor}}})
		_, ack := h.command(stranger, floorChannel, "list")
		if got := ackText(t, ack); !strings.Contains(got, "You are not allowed to transfer calls") || strings.Contains(got, "billing") {
			t.Errorf("a stranger's list answered %q", got)
		}
		h.noneOf("response_url")
	})
	t.Run("not allowed, after looking up the groups", func(t *testing.T) {
		h, _ := startWithDirectory(t, floorDirectory, options{})
		h.command(stranger, floorChannel, "list")
		if got := h.responses(1)[0]; !strings.Contains(got, "You are not allowed to transfer calls") || strings.Contains(got, "billing") {
			t.Errorf("a stranger's list answered %q", got)
		}
	})
	t.Run("without a directory", func(t *testing.T) {
		h := start(t, options{})
		_, ack := h.command(supervisor, floorChannel, "list")
		if got := ackText(t, ack); !strings.Contains(got, "There is no floor directory") {
			t.Errorf("list answered %q", got)
		}
	})
}

func TestDirectoryHelpShowsNames(t *testing.T) {
	h, _ := startWithDirectory(t, floorDirectory, options{})
	_, ack := h.command(stranger, floorChannel, "help")
	got := ackText(t, ack)
	for _, w := range []string{"`/transfer billing from me` sends the call you are on to Billing queue", "`from @alice`", "`/transfer list`"} {
		if !strings.Contains(got, w) {
			t.Errorf("help answered\n%s\nwant %q", got, w)
		}
	}
	h.noneOf("usergroups.users.list", "response_url")
}

// rawView is the form as views.open sent it, as far as the tests look.
type rawView struct {
	PrivateMetadata string `json:"private_metadata"`
	Blocks          []struct {
		BlockID  string `json:"block_id"`
		Optional bool   `json:"optional"`
		Element  struct {
			Type          string          `json:"type"`
			ActionID      string          `json:"action_id"`
			InitialOption json.RawMessage `json:"initial_option"`
			InitialUser   string          `json:"initial_user"`
			MinQuery      *int            `json:"min_query_length"`
			Options       []struct {
				Value string `json:"value"`
				Text  struct {
					Text string `json:"text"`
				} `json:"text"`
			} `json:"options"`
		} `json:"element"`
	} `json:"blocks"`
}

func (h *harness) rawView() (openedView, rawView) {
	h.t.Helper()
	v := h.openedView()
	var raw rawView
	if err := json.Unmarshal([]byte(h.slack.Calls("views.open")[0].Arg("view")), &raw); err != nil {
		h.t.Fatal(err)
	}
	return v, raw
}

// layout renders the blocks as "id:type[:optional]" for comparison.
func (r rawView) layout() string {
	var parts []string
	for _, b := range r.Blocks {
		p := b.BlockID + ":" + b.Element.Type
		if b.Optional {
			p += ":optional"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

func (r rawView) options(block string) []string {
	var vals []string
	for _, b := range r.Blocks {
		if b.BlockID == block {
			for _, o := range b.Element.Options {
				vals = append(vals, o.Value)
			}
		}
	}
	return vals
}

// pick is what a supervisor filled in a form with pickers.
type pick struct{ to, toTyped, agent, triggerSource, role string }

func (v openedView) pickSubmission(user, viewID string, p pick) slack.InteractionCallback {
	return slack.InteractionCallback{
		Type: slack.InteractionTypeViewSubmission,
		User: slack.User{ID: user},
		View: slack.View{
			ID: viewID, Type: slack.VTModal, CallbackID: v.view.CallbackID, PrivateMetadata: v.view.PrivateMetadata,
			State: &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
				"to":             {"to": {Type: "static_select", SelectedOption: slack.OptionBlockObject{Value: p.to}}},
				"to_typed":       {"to_typed": {Type: "plain_text_input", Value: p.toTyped}},
				"agent":          {"agent": {Type: "users_select", SelectedUser: p.agent}},
				"trigger_source": {"trigger_source": {Type: "plain_text_input", Value: p.triggerSource}},
				"role":           {"role": {Type: "static_select", SelectedOption: slack.OptionBlockObject{Value: p.role}}},
			}},
		},
	}
}

// The form picks what this requester may use; nothing is preselected.
func TestDirectoryFormStaticPicker(t *testing.T) {
	h, _ := startWithDirectory(t, floorDirectory, options{})
	h.command(supervisor, floorChannel, "")
	v, raw := h.rawView()
	if got, want := raw.layout(), "agent:users_select:optional trigger_source:plain_text_input:optional to:static_select role:static_select:optional how:radio_buttons:optional"; got != want {
		t.Errorf("form blocks\n got %s\nwant %s", got, want)
	}
	if got := strings.Join(raw.options("to"), ","); got != "billing,vip" {
		t.Errorf("destinations offered %s, want billing,vip (leads is not the supervisor's)", got)
	}
	for _, b := range raw.Blocks {
		if b.BlockID == "how" {
			continue // a cold transfer unless the supervisor picks warm
		}
		if len(b.Element.InitialOption) > 0 || b.Element.InitialUser != "" {
			t.Errorf("block %s preselects something", b.BlockID)
		}
	}
	if len(raw.PrivateMetadata) >= 3000 || !strings.Contains(raw.PrivateMetadata, floorChannel) {
		t.Errorf("private_metadata %q", raw.PrivateMetadata)
	}

	_, ack := h.submit(v.pickSubmission(supervisor, "V1", pick{to: "vip", agent: alice}))
	if ack.Payload != nil {
		t.Fatalf("valid submission acked with %s", ack.Payload)
	}
	h.threadOf(floorChannel, supervisor)
	if body, want := h.plivoBody(1), `{"action":"cold_transfer","to":"sip:vip@pbx.example.com","role":"customer","trigger_source":"sip:alice@floor.example.com"}`; body != want {
		t.Errorf("Plivo body\n got %s\nwant %s", body, want)
	}
	wantAudit(t, h.audit(1), map[string]any{"path": "modal", "outcome": "transferred", "destination": "vip", "agent": alice})
}

// Where the requester may type a destination, to_typed is offered and the
// picker becomes optional; with no destination to pick, only to_typed.
func TestDirectoryFormWithTyped(t *testing.T) {
	h, _ := startWithDirectory(t, floorDirectory+"typed: {allow: true}\n", options{})
	h.command(groupMember, floorChannel, "")
	v, raw := h.rawView()
	if got, want := raw.layout(), "agent:users_select:optional trigger_source:plain_text_input:optional to:static_select:optional to_typed:plain_text_input:optional role:static_select:optional how:radio_buttons:optional"; got != want {
		t.Errorf("form blocks\n got %s\nwant %s", got, want)
	}
	h.submit(v.pickSubmission(groupMember, "V1", pick{toTyped: "+44 20 7946 0000", triggerSource: "+1 415 222 4444"}))
	h.threadOf(floorChannel, groupMember)
	if body, want := h.plivoBody(1), `{"action":"cold_transfer","to":"+442079460000","role":"agent","trigger_source":"+14152224444"}`; body != want {
		t.Errorf("Plivo body\n got %s\nwant %s", body, want)
	}
	wantAudit(t, h.audit(1), map[string]any{"path": "modal", "outcome": "transferred", "destination": "", "agent": ""})

	t.Run("typed only", func(t *testing.T) {
		h, _ := startWithDirectory(t, "destinations:\n  - {name: vip, to: '+14155550101', who: [USUPER1]}\ntyped: {allow: true}\n", options{})
		h.command(groupMember, floorChannel, "")
		_, raw := h.rawView()
		if got, want := raw.layout(), "agent:users_select:optional trigger_source:plain_text_input:optional to_typed:plain_text_input role:static_select:optional how:radio_buttons:optional"; got != want {
			t.Errorf("form blocks\n got %s\nwant %s", got, want)
		}
	})
	t.Run("nothing to offer", func(t *testing.T) {
		h, _ := startWithDirectory(t, "destinations:\n  - {name: vip, to: '+14155550101', who: [USUPER1]}\n", options{})
		h.command(groupMember, floorChannel, "")
		if msg := h.responses(1)[0]; !strings.Contains(msg, "no destination in the floor directory you may send calls to") {
			t.Errorf("requester told %q", msg)
		}
		h.noneOf("views.open")
	})
}

// Every wrong combination in the form is an error under the block
// concerned; nothing runs.
func TestDirectoryFormWrongCombinations(t *testing.T) {
	h, swap := startWithDirectory(t, floorDirectory+"typed: {allow: true}\n", options{})
	h.command(supervisor, floorChannel, "")
	v, _ := h.rawView()
	cases := []struct {
		name  string
		p     pick
		block string
		want  string
	}{
		{"both destinations", pick{to: "billing", toTyped: "+14155550199", agent: alice}, "to_typed", "not both"},
		{"no destination", pick{agent: alice}, "to", "Pick a destination, or type a number or SIP address below."},
		{"both agents", pick{to: "billing", agent: alice, triggerSource: "+14152224444"}, "trigger_source", "not both"},
		{"no agent", pick{to: "billing"}, "agent", "Pick the agent on the call, or type the number or SIP address they are on below."},
		{"agent without entry", pick{to: "billing", agent: "UNOBODY1"}, "agent", "no agent entry in the floor directory"},
		{"bad typed destination", pick{toTyped: "4155550199", agent: alice}, "to_typed", "country code"},
		{"bad typed agent", pick{to: "billing", triggerSource: "sip:bob"}, "trigger_source", "is not a SIP URI"},
		{"same endpoint", pick{to: "billing", triggerSource: "+1 415 555 0100"}, "to", "is also the agent on the call"},
		{"same endpoint typed", pick{toTyped: "+14152223333", agent: supervisor}, "to_typed", "is also the agent on the call"},
		{"unknown name", pick{to: "gone", agent: alice}, "to", `"gone" is no longer in the floor directory`},
		{"bad role", pick{to: "billing", agent: alice, role: "boss"}, "role", "Choose agent or customer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ack := h.submit(v.pickSubmission(supervisor, "V1", tc.p))
			var resp slack.ViewSubmissionResponse
			if err := json.Unmarshal(ack.Payload, &resp); err != nil {
				t.Fatalf("ack %s: %v", ack.Payload, err)
			}
			if resp.ResponseAction != "errors" || len(resp.Errors) != 1 || !strings.Contains(resp.Errors[tc.block], tc.want) {
				t.Errorf("ack %s; want one error under %s containing %q", ack.Payload, tc.block, tc.want)
			}
		})
	}
	// The form made before a reload still works: the name resolves in the
	// directory in force at submission.
	swap(mustDirectory(t, strings.Replace(floorDirectory, "+14155550100", "+14155550111", 1)))
	_, ack := h.submit(v.pickSubmission(supervisor, "V1", pick{to: "billing", agent: alice}))
	if ack.Payload != nil {
		t.Fatalf("corrected submission acked with %s", ack.Payload)
	}
	h.threadOf(floorChannel, supervisor)
	if body := h.plivoBody(1); !strings.Contains(body, `"to":"+14155550111"`) {
		t.Errorf("Plivo body %s, want the destination as the directory in force has it", body)
	}
	if n := h.plivo.Count(); n != 1 {
		t.Errorf("Plivo got %d requests, want only the corrected one", n)
	}

	t.Run("without to_typed", func(t *testing.T) {
		h, _ := startWithDirectory(t, floorDirectory, options{})
		h.command(supervisor, floorChannel, "")
		v, _ := h.rawView()
		_, ack := h.submit(v.pickSubmission(supervisor, "V2", pick{agent: alice}))
		if !strings.Contains(string(ack.Payload), `"to":"Pick a destination."`) {
			t.Errorf("ack %s", ack.Payload)
		}
	})
}

// bigDirectory has n destinations called dest-000…; dest-007 is for
// otherGroup only. label gives each its label.
func bigDirectory(n int, name, label func(i int) string) string {
	var b strings.Builder
	b.WriteString("agents:\n  - {slack: USUPER1, endpoint: '+14152223333'}\n  - {slack: UAGENT01, endpoint: 'sip:alice@floor.example.com'}\ndestinations:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: %s\n    label: %q\n    to: '+1415666%04d'\n", name(i), label(i), i)
		if i == 7 {
			b.WriteString("    who: [SOTHER01]\n")
		}
	}
	return b.String()
}

// suggest sends what a supervisor typed in the searched picker and returns
// the options of the ack, and the ack's size on the wire.
func (h *harness) suggest(v openedView, user, typed string) ([]string, int) {
	h.t.Helper()
	env, err := h.slack.SendBlockSuggestion(h.ctx(), slack.InteractionCallback{
		User: slack.User{ID: user}, ActionID: "to", BlockID: "to", Value: typed,
		View: slack.View{ID: "V1", CallbackID: "cold_transfer", PrivateMetadata: v.view.PrivateMetadata},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	ack := h.ack(env)
	var resp struct {
		Options *[]struct {
			Value string `json:"value"`
		} `json:"options"`
	}
	if err := json.Unmarshal(ack.Payload, &resp); err != nil || resp.Options == nil {
		h.t.Fatalf("block_suggestion ack %s: want {\"options\":[…]} (%v)", ack.Payload, err)
	}
	vals := make([]string, len(*resp.Options))
	for i, o := range *resp.Options {
		vals[i] = o.Value
	}
	return vals, ack.Size
}

// More than 100 destinations: the picker is searched, answered in the ack
// with at most 100 of what the requester may use, under slack-go's limit.
func TestDirectoryFormSearchedPicker(t *testing.T) {
	file := bigDirectory(150, func(i int) string { return fmt.Sprintf("dest-%03d", i) },
		func(i int) string { return fmt.Sprintf("Queue %03d", i) })
	h, swap := startWithDirectory(t, file, options{})
	h.command(supervisor, floorChannel, "")
	v, raw := h.rawView()
	if got, want := raw.layout(), "agent:users_select:optional trigger_source:plain_text_input:optional to:external_select role:static_select:optional how:radio_buttons:optional"; got != want {
		t.Errorf("form blocks\n got %s\nwant %s", got, want)
	}
	for _, b := range raw.Blocks {
		if b.BlockID == "to" && (b.Element.MinQuery == nil || *b.Element.MinQuery != 0 || len(b.Element.Options) != 0) {
			t.Errorf("the searched picker has min_query_length %v and %d options; want 0 and none", b.Element.MinQuery, len(b.Element.Options))
		}
	}
	if n := len(raw.PrivateMetadata); n >= 3000 {
		t.Errorf("private_metadata is %d characters", n)
	}

	all, size := h.suggest(v, supervisor, "")
	if len(all) != 100 || all[0] != "dest-000" || all[99] != "dest-100" {
		t.Errorf("empty search gave %d options %v…; want the first 100 usable, dest-000 to dest-100 without dest-007", len(all), all[:min(3, len(all))])
	}
	for _, o := range all {
		if o == "dest-007" {
			t.Error("dest-007, which is not the supervisor's, was offered")
		}
	}
	t.Logf("block_suggestion ack with 100 short options: %d bytes", size)

	cases := []struct{ typed, want string }{
		{"QUEUE 12", "dest-120,dest-121,dest-122,dest-123,dest-124,dest-125,dest-126,dest-127,dest-128,dest-129"},
		{"dest-14", "dest-140,dest-141,dest-142,dest-143,dest-144,dest-145,dest-146,dest-147,dest-148,dest-149"},
		{"dest-00", "dest-000,dest-001,dest-002,dest-003,dest-004,dest-005,dest-006,dest-008,dest-009"},
		{"nothing like it", ""},
	}
	for _, tc := range cases {
		got, _ := h.suggest(v, supervisor, tc.typed)
		if strings.Join(got, ",") != tc.want {
			t.Errorf("search %q gave %v, want %s", tc.typed, got, tc.want)
		}
	}

	// After a reload the form's bits no longer match: what the bot knows
	// without asking Slack decides, and dest-007 stays hidden.
	swap(mustDirectory(t, file+"# reloaded\n"))
	if got, _ := h.suggest(v, supervisor, "dest-00"); strings.Join(got, ",") != cases[2].want {
		t.Errorf("after a reload, search gave %v", got)
	}

	h.submit(v.pickSubmission(supervisor, "V1", pick{to: "dest-142", agent: alice}))
	h.threadOf(floorChannel, supervisor)
	if body := h.plivoBody(1); !strings.Contains(body, `"to":"+14156660142"`) {
		t.Errorf("Plivo body %s", body)
	}
	h.noneOf("response_url")
}

// The largest ack a search can make: 150 destinations with the longest
// names and labels of characters JSON escapes six bytes each.
func TestDirectorySearchAckStaysUnderTheLimit(t *testing.T) {
	file := bigDirectory(150, func(i int) string { return fmt.Sprintf("d%031d", i) },
		func(i int) string { return strings.Repeat("<&>", 25) })
	h, _ := startWithDirectory(t, file, options{})
	h.command(supervisor, floorChannel, "")
	v, _ := h.rawView()
	got, size := h.suggest(v, supervisor, "")
	t.Logf("largest block_suggestion ack: %d options, %d bytes (slack-go refuses 20480)", len(got), size)
	if size >= 20480 || len(got) == 0 {
		t.Errorf("ack of %d bytes with %d options; want some options, under 20480 bytes", size, len(got))
	}
}

// holdingAuthorizer holds the first Decide until released, to change the
// directory while a request is in flight.
type holdingAuthorizer struct {
	slackbot.Authorizer
	entered, release chan struct{}
	once             sync.Once
}

func (a *holdingAuthorizer) Decide(ctx context.Context, userID, channelID string) authz.Decision {
	first := false
	a.once.Do(func() { first = true })
	if first {
		close(a.entered)
		<-a.release
	}
	return a.Authorizer.Decide(ctx, userID, channelID)
}

// A request in flight keeps the directory it started with; the next one
// gets the new directory.
func TestDirectoryRequestKeepsItsSnapshot(t *testing.T) {
	hold := &holdingAuthorizer{entered: make(chan struct{}), release: make(chan struct{})}
	h, swap := startWithDirectory(t, floorDirectory, options{authorizer: func(a slackbot.Authorizer) slackbot.Authorizer {
		hold.Authorizer = a
		return hold
	}})
	h.command(supervisor, floorChannel, "billing from me")
	select {
	case <-hold.entered:
	case <-h.ctx().Done():
		t.Fatal("the request never reached authorisation")
	}
	// Now billing goes elsewhere, and only to otherGroup.
	swap(mustDirectory(t, strings.Replace(floorDirectory,
		"    label: Billing queue\n    to: \"+14155550100\"\n",
		"    label: Billing (new)\n    to: \"+14155550188\"\n    who: [SOTHER01]\n", 1)))
	close(hold.release)

	tr := h.threadOf(floorChannel, supervisor)
	if body := h.plivoBody(1); !strings.Contains(body, `"to":"+14155550100"`) {
		t.Errorf("Plivo body %s: the request in flight should keep the directory it started with", body)
	}
	if text := tr.announcement.Arg("text"); !strings.Contains(text, "Billing queue (+14155550100)") {
		t.Errorf("announcement %q", text)
	}
	wantAudit(t, h.audit(1), map[string]any{"outcome": "transferred", "destination": "billing"})

	h.command(supervisor, floorChannel, "billing from me")
	if msg := h.responses(1)[0]; !strings.Contains(msg, "You may not send calls to Billing (new)") {
		t.Errorf("the next request was told %q; want the new directory's refusal", msg)
	}
	wantAudit(t, h.audit(2), map[string]any{"outcome": "refused_destination"})
}

// What real payloads showed (issue 9, item 8).
func TestMendedFromRealPayloads(t *testing.T) {
	t.Run("direct message between people", func(t *testing.T) {
		h := start(t, options{})
		h.slack.Fail("chat.postMessage", fakeslack.Failure{Error: "channel_not_found"})
		h.command(supervisor, "D0TWOPEOPLE", "+14152225555 from +14152223333")
		msg := h.responses(1)[0]
		for _, w := range []string{"direct message between other people", "nothing was transferred",
			"a channel <@UBOT0001> is in", "your direct message with <@UBOT0001>"} {
			if !strings.Contains(msg, w) {
				t.Errorf("requester told %q; want %q", msg, w)
			}
		}
		if strings.Contains(msg, "invite") {
			t.Errorf("requester told to invite the bot into someone's DM: %q", msg)
		}
		h.noPlivo()
	})
	t.Run("mailto link inside a SIP address", func(t *testing.T) {
		h := start(t, options{})
		h.command(supervisor, floorChannel, "sip:<mailto:queue@pbx.example.com|queue@pbx.example.com> from &lt;tel:+14152223333&gt;")
		h.threadOf(floorChannel, supervisor)
		if body := h.plivoBody(1); !strings.Contains(body, `"to":"sip:queue@pbx.example.com"`) || !strings.Contains(body, `"trigger_source":"+14152223333"`) {
			t.Errorf("Plivo body %s", body)
		}
	})
	t.Run("2xx without api_id", func(t *testing.T) {
		h := start(t, options{})
		h.plivo.Respond(fakeplivo.Response{Status: 201, Body: `{"error":""}`})
		h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
		tr := h.threadOf(floorChannel, supervisor)
		if reply := tr.reply.Arg("text"); !strings.Contains(reply, "Plivo accepted the cold transfer, but gave no api_id") || strings.Contains(reply, "``") {
			t.Errorf("reply %q", reply)
		}
		if upd := tr.update.Arg("blocks"); !strings.Contains(upd, "Plivo gave no api_id") {
			t.Errorf("update %s", upd)
		}
	})
	t.Run("envelopes slack-go cannot parse are acked", func(t *testing.T) {
		h := start(t, options{})
		cases := []struct {
			env         fakeslack.Envelope
			wantPayload string
		}{
			{fakeslack.Envelope{EnvelopeID: "bad-command", Type: "slash_commands", Payload: json.RawMessage(`{"text":5,"user_id":"USUPER1"}`), AcceptsResponsePayload: true},
				"could not read"},
			{fakeslack.Envelope{EnvelopeID: "bad-interaction", Type: "interactive", Payload: json.RawMessage(`{"type":7}`), AcceptsResponsePayload: true}, ""},
			{fakeslack.Envelope{EnvelopeID: "unknown-type", Type: "something_new", Payload: json.RawMessage(`{}`)}, ""},
		}
		for _, tc := range cases {
			if err := h.slack.Send(h.ctx(), tc.env); err != nil {
				t.Fatal(err)
			}
			ack := h.ack(tc.env)
			if tc.wantPayload == "" && ack.Payload != nil {
				t.Errorf("%s acked with %s, want an empty ack", tc.env.EnvelopeID, ack.Payload)
			}
			if tc.wantPayload != "" && !strings.Contains(ackText(t, ack), tc.wantPayload) {
				t.Errorf("%s acked with %s, want %q", tc.env.EnvelopeID, ack.Payload, tc.wantPayload)
			}
		}
		h.noneOf("chat.postMessage", "views.open", "response_url")
		h.noPlivo()
	})
}
