package slackbot

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

func testDirectory(t testing.TB) *directory.Directory {
	t.Helper()
	d, err := directory.Parse([]byte(`
destinations:
  - {name: billing, label: Billing queue, to: "+14155550100"}
  - {name: vip, label: VIP desk, to: "sip:vip@pbx.example.com", role: customer}
agents:
  - {slack: U0SUPER1, endpoint: "+14152223333"}
  - {slack: U0ALICE1, endpoint: "sip:alice@floor.example.com"}
`))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var directoryCommandCases = []struct {
	name, text         string
	noDirectory        bool
	kind               commandKind
	to, trigger        string
	role               plivo.Role
	destination, agent string
	problems           []string
}{
	{name: "name any case, mention", text: "BiLLing from <@U0ALICE1|alice>", kind: commandTransfer,
		to: "+14155550100", trigger: "sip:alice@floor.example.com", role: plivo.RoleAgent, destination: "billing", agent: "U0ALICE1"},
	{name: "bare mention", text: "billing from <@U0ALICE1>", kind: commandTransfer,
		to: "+14155550100", trigger: "sip:alice@floor.example.com", role: plivo.RoleAgent, destination: "billing", agent: "U0ALICE1"},
	{name: "me, destination's role", text: "vip from ME", kind: commandTransfer,
		to: "sip:vip@pbx.example.com", trigger: "+14152223333", role: plivo.RoleCustomer, destination: "vip", agent: "U0SUPER1"},
	{name: "explicit role wins", text: "vip from me as Agent", kind: commandTransfer,
		to: "sip:vip@pbx.example.com", trigger: "+14152223333", role: plivo.RoleAgent, destination: "vip", agent: "U0SUPER1"},
	{name: "name from a typed agent", text: "billing from +1 415 222 4444", kind: commandTransfer,
		to: "+14155550100", trigger: "+14152224444", role: plivo.RoleAgent, destination: "billing"},
	{name: "typed from me", text: "+1 415 555 0199 from me", kind: commandTransfer,
		to: "+14155550199", trigger: "+14152223333", role: plivo.RoleAgent, agent: "U0SUPER1"},
	{name: "escaped mention", text: "billing from &lt;@U0ALICE1&gt;", kind: commandTransfer,
		to: "+14155550100", trigger: "sip:alice@floor.example.com", role: plivo.RoleAgent, destination: "billing", agent: "U0ALICE1"},
	{name: "list", text: " List ", kind: commandList},
	{name: "list without directory", text: "list", noDirectory: true, kind: commandList},
	{name: "unknown name", text: "bilingg from me", kind: commandInvalid,
		problems: []string{"No destination called `bilingg`; did you mean `billing`? Type `/transfer list`"}},
	{name: "unknown name with a backtick", text: "bil`ling from me", kind: commandInvalid,
		problems: []string{"No destination called `bil'ling`"}},
	{name: "mention without entry", text: "billing from <@U0BOB001|bob>", kind: commandInvalid,
		problems: []string{"<@U0BOB001> has no agent entry in the floor directory"}},
	{name: "me without entry", text: "billing from me", kind: commandInvalid, // requester is set per case below
		problems: []string{"You have no agent entry"}},
	{name: "me without directory", text: "+14155550100 from me", noDirectory: true, kind: commandInvalid,
		problems: []string{"needs the floor directory, and this bot has none"}},
	{name: "name without directory", text: "billing from +14152223333", noDirectory: true, kind: commandInvalid,
		problems: []string{`Destination (before ` + "`from`" + `): "billing" is not a phone number or SIP URI`}},
	{name: "a mention as destination", text: "<@U0ALICE1|alice> from me", kind: commandInvalid,
		problems: []string{"Destination (before `from`): a person can't be the destination"}},
	{name: "destination is the agent", text: "billing from +1 415 555 0100", kind: commandInvalid,
		problems: []string{"billing (+14155550100) is also the agent on the call"}},
	{name: "both unresolved", text: "nope from <@U0BOB001>", kind: commandInvalid,
		problems: []string{"No destination called `nope`", "<@U0BOB001> has no agent entry"}},
}

func TestParseCommandWithDirectory(t *testing.T) {
	dir := testDirectory(t)
	for _, tc := range directoryCommandCases {
		t.Run(tc.name, func(t *testing.T) {
			d, requester := dir, "U0SUPER1"
			if tc.noDirectory {
				d = nil
			}
			if tc.name == "me without entry" {
				requester = "U0NOBODY"
			}
			got := parseCommand(tc.text, d, requester)
			if got.kind != tc.kind {
				t.Fatalf("kind %d, want %d (problems %q)", got.kind, tc.kind, got.problems)
			}
			tr := got.spec
			if tc.kind == commandTransfer && (tr.to.String() != tc.to || tr.triggerSource.String() != tc.trigger || tr.role != tc.role ||
				tr.destination != tc.destination || tr.agent != tc.agent) {
				t.Errorf("transfer %+v; want to %s, trigger %s, role %s, destination %q, agent %q", tr, tc.to, tc.trigger, tc.role, tc.destination, tc.agent)
			}
			if tc.destination != "" && tr.label == "" {
				t.Error("a named destination without its label")
			}
			if len(got.problems) != len(tc.problems) {
				t.Fatalf("problems %q, want %d", got.problems, len(tc.problems))
			}
			for i, w := range tc.problems {
				if !strings.Contains(got.problems[i], w) {
					t.Errorf("problem %q, want %q", got.problems[i], w)
				}
			}
		})
	}
}

// FuzzParseCommandWithDirectory: with a directory too, whatever is typed,
// parsing never panics, a transfer has valid, different endpoints, names
// and agents from the directory, and a refusal says why.
func FuzzParseCommandWithDirectory(f *testing.F) {
	for _, tc := range directoryCommandCases {
		f.Add(tc.text)
	}
	for _, tc := range commandCases {
		f.Add(tc.text)
	}
	f.Add("<@U0ALICE1|a|b> from <@U0ALICE1>")
	f.Add("billing from <@W0ALICE1|x>")
	dir := testDirectory(f)
	f.Fuzz(func(t *testing.T, text string) {
		got := parseCommand(text, dir, "U0SUPER1")
		switch got.kind {
		case commandTransfer:
			tr := got.spec
			for _, ep := range []plivo.Endpoint{tr.to, tr.triggerSource} {
				if !validEndpoint.MatchString(ep.String()) {
					t.Fatalf("accepted endpoint %q", ep)
				}
			}
			if tr.to.Canonical() == tr.triggerSource.Canonical() || (tr.role != plivo.RoleAgent && tr.role != plivo.RoleCustomer) {
				t.Fatalf("accepted %+v", tr)
			}
			if d, ok := dir.Destination(tr.destination); tr.destination != "" && (!ok || d.To != tr.to) {
				t.Fatalf("destination %q does not give %s", tr.destination, tr.to)
			}
			if a, ok := dir.Agent(tr.agent); tr.agent != "" && (!ok || a.Endpoint != tr.triggerSource) {
				t.Fatalf("agent %q does not give %s", tr.agent, tr.triggerSource)
			}
		case commandInvalid:
			if len(got.problems) == 0 {
				t.Fatal("refused without saying why")
			}
			for _, p := range got.problems {
				if !utf8.ValidString(p) || strings.ContainsAny(p, "\x00\r") {
					t.Fatalf("problem %q is not printable text", p)
				}
			}
		}
	})
}
