package intake

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
	kind               Kind
	to, trigger        string
	role               plivo.Role
	destination, agent string
	problems           []string
}{
	{name: "name any case, mention", text: "BiLLing from <@U0ALICE1|alice>", kind: KindTransfer,
		to: "+14155550100", trigger: "sip:alice@floor.example.com", role: plivo.RoleAgent, destination: "billing", agent: "U0ALICE1"},
	{name: "bare mention", text: "billing from <@U0ALICE1>", kind: KindTransfer,
		to: "+14155550100", trigger: "sip:alice@floor.example.com", role: plivo.RoleAgent, destination: "billing", agent: "U0ALICE1"},
	{name: "me, destination's role", text: "vip from ME", kind: KindTransfer,
		to: "sip:vip@pbx.example.com", trigger: "+14152223333", role: plivo.RoleCustomer, destination: "vip", agent: "U0SUPER1"},
	{name: "explicit role wins", text: "vip from me as Agent", kind: KindTransfer,
		to: "sip:vip@pbx.example.com", trigger: "+14152223333", role: plivo.RoleAgent, destination: "vip", agent: "U0SUPER1"},
	{name: "name from a typed agent", text: "billing from +1 415 222 4444", kind: KindTransfer,
		to: "+14155550100", trigger: "+14152224444", role: plivo.RoleAgent, destination: "billing"},
	{name: "typed from me", text: "+1 415 555 0199 from me", kind: KindTransfer,
		to: "+14155550199", trigger: "+14152223333", role: plivo.RoleAgent, agent: "U0SUPER1"},
	{name: "escaped mention", text: "billing from &lt;@U0ALICE1&gt;", kind: KindTransfer,
		to: "+14155550100", trigger: "sip:alice@floor.example.com", role: plivo.RoleAgent, destination: "billing", agent: "U0ALICE1"},
	{name: "list", text: " List ", kind: KindList},
	{name: "list without directory", text: "list", noDirectory: true, kind: KindList},
	{name: "unknown name", text: "bilingg from me", kind: KindInvalid,
		problems: []string{"No destination called `bilingg`; did you mean `billing`? Type `/transfer list`"}},
	{name: "unknown name with a backtick", text: "bil`ling from me", kind: KindInvalid,
		problems: []string{"No destination called `bil'ling`"}},
	{name: "mention without entry", text: "billing from <@U0BOB001|bob>", kind: KindInvalid,
		problems: []string{"<@U0BOB001> has no agent entry in the floor directory"}},
	{name: "me without entry", text: "billing from me", kind: KindInvalid, // requester is set per case below
		problems: []string{"You have no agent entry"}},
	{name: "me without directory", text: "+14155550100 from me", noDirectory: true, kind: KindInvalid,
		problems: []string{"needs the floor directory, and this bot has none"}},
	{name: "name without directory", text: "billing from +14152223333", noDirectory: true, kind: KindInvalid,
		problems: []string{`Destination (before ` + "`from`" + `): "billing" is not a phone number or SIP URI`}},
	{name: "a mention as destination", text: "<@U0ALICE1|alice> from me", kind: KindInvalid,
		problems: []string{"Destination (before `from`): a person can't be the destination"}},
	{name: "destination is the agent", text: "billing from +1 415 555 0100", kind: KindInvalid,
		problems: []string{"billing (+14155550100) is also the agent on the call"}},
	{name: "both unresolved", text: "nope from <@U0BOB001>", kind: KindInvalid,
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
			got := ParseCommand(tc.text, d, requester)
			if got.Kind != tc.kind {
				t.Fatalf("kind %d, want %d (problems %q)", got.Kind, tc.kind, got.Problems)
			}
			tr := got.Spec
			if tc.kind == KindTransfer && (tr.To.String() != tc.to || tr.TriggerSource.String() != tc.trigger || tr.Role != tc.role ||
				tr.Destination != tc.destination || tr.Agent != tc.agent) {
				t.Errorf("transfer %+v; want to %s, trigger %s, role %s, destination %q, agent %q", tr, tc.to, tc.trigger, tc.role, tc.destination, tc.agent)
			}
			if tc.destination != "" && tr.Label == "" {
				t.Error("a named destination without its label")
			}
			if len(got.Problems) != len(tc.problems) {
				t.Fatalf("problems %q, want %d", got.Problems, len(tc.problems))
			}
			for i, w := range tc.problems {
				if !strings.Contains(got.Problems[i], w) {
					t.Errorf("problem %q, want %q", got.Problems[i], w)
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
		got := ParseCommand(text, dir, "U0SUPER1")
		switch got.Kind {
		case KindTransfer:
			tr := got.Spec
			for _, ep := range []plivo.Endpoint{tr.To, tr.TriggerSource} {
				if !validEndpoint.MatchString(ep.String()) {
					t.Fatalf("accepted endpoint %q", ep)
				}
			}
			if tr.To.Canonical() == tr.TriggerSource.Canonical() || (tr.Role != plivo.RoleAgent && tr.Role != plivo.RoleCustomer) {
				t.Fatalf("accepted %+v", tr)
			}
			if d, ok := dir.Destination(tr.Destination); tr.Destination != "" && (!ok || d.To != tr.To) {
				t.Fatalf("destination %q does not give %s", tr.Destination, tr.To)
			}
			if a, ok := dir.Agent(tr.Agent); tr.Agent != "" && (!ok || a.Endpoint != tr.TriggerSource) {
				t.Fatalf("agent %q does not give %s", tr.Agent, tr.TriggerSource)
			}
		case KindInvalid:
			if len(got.Problems) == 0 {
				t.Fatal("refused without saying why")
			}
			for _, p := range got.Problems {
				if !utf8.ValidString(p) || strings.ContainsAny(p, "\x00\r") {
					t.Fatalf("problem %q is not printable text", p)
				}
			}
		}
	})
}
