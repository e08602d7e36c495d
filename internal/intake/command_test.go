package intake

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

var commandCases = []struct {
	name              string
	text              string
	kind              Kind
	to, triggerSource string
	role              plivo.Role
	problems          []string // substrings, one per expected problem
}{
	{name: "empty opens the form", text: "", kind: KindForm},
	{name: "spaces open the form", text: "  \t ", kind: KindForm},
	{name: "help", text: "help", kind: KindHelp},
	{name: "help any case", text: " HeLp ", kind: KindHelp},
	{name: "one line", text: "+14152225555 from +14152223333", kind: KindTransfer,
		to: "+14152225555", triggerSource: "+14152223333", role: plivo.RoleAgent},
	{name: "spaces in numbers, keywords in any case", text: "+1 (415) 222-5555 FROM +1 415.222.3333 As CUSTOMER", kind: KindTransfer,
		to: "+14152225555", triggerSource: "+14152223333", role: plivo.RoleCustomer},
	{name: "explicit agent", text: "sip:queue@pbx.example.com from +14152223333 as agent", kind: KindTransfer,
		to: "sip:queue@pbx.example.com", triggerSource: "+14152223333", role: plivo.RoleAgent},
	{name: "slack links", text: "<tel:+14152225555|+1 415 222 5555> from <sip:bob@example.com>", kind: KindTransfer,
		to: "+14152225555", triggerSource: "sip:bob@example.com", role: plivo.RoleAgent},
	{name: "slack escaping undone", text: "sip:a&amp;b@example.com from &lt;sip:bob@example.com&gt;", kind: KindTransfer,
		to: "sip:a&b@example.com", triggerSource: "sip:bob@example.com", role: plivo.RoleAgent},
	{name: "help with more words", text: "help me", kind: KindInvalid, problems: []string{"`from` is missing"}},
	{name: "no from", text: "+14152225555 +14152223333", kind: KindInvalid, problems: []string{"`from` is missing"}},
	{name: "from twice", text: "+1 from +2 from +3", kind: KindInvalid, problems: []string{"`from` appears more than once"}},
	{name: "as twice", text: "+14152225555 from +14152223333 as agent as agent", kind: KindInvalid, problems: []string{"`as` appears more than once"}},
	{name: "as first", text: "+14152225555 as agent from +14152223333", kind: KindInvalid, problems: []string{"`as` must come after"}},
	{name: "bad role", text: "+14152225555 from +14152223333 as supervisor", kind: KindInvalid, problems: []string{`not "supervisor"`}},
	{name: "role of two words", text: "+14152225555 from +14152223333 as an agent", kind: KindInvalid, problems: []string{`not "an agent"`}},
	{name: "missing destination", text: "from +14152223333", kind: KindInvalid, problems: []string{"Destination (before `from`): missing"}},
	{name: "missing agent", text: "+14152225555 from", kind: KindInvalid, problems: []string{"Agent on the call (after `from`): missing"}},
	{name: "national number", text: "(415) 222-5555 from +14152223333", kind: KindInvalid, problems: []string{"Destination (before `from`): \"(415) 222-5555\" has no country code"}},
	{name: "both bad and a bad role", text: "12 from sip:bob as boss", kind: KindInvalid,
		problems: []string{`not "boss"`, "Destination", "Agent on the call"}},
	{name: "same endpoint", text: "+1 415 222 5555 from <tel:+14152225555|+1 415 222 5555>", kind: KindInvalid,
		problems: []string{"is also the agent on the call"}},
}

func TestParseCommand(t *testing.T) {
	for _, tc := range commandCases {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseCommand(tc.text, nil, "")
			if got.Kind != tc.kind {
				t.Fatalf("ParseCommand(%q) kind = %d, want %d (problems %q)", tc.text, got.Kind, tc.kind, got.Problems)
			}
			if tc.kind == KindTransfer {
				tr := got.Spec
				if tr.To.String() != tc.to || tr.TriggerSource.String() != tc.triggerSource || tr.Role != tc.role {
					t.Errorf("ParseCommand(%q) = to %s, trigger_source %s, role %s; want %s, %s, %s",
						tc.text, tr.To, tr.TriggerSource, tr.Role, tc.to, tc.triggerSource, tc.role)
				}
			}
			if len(got.Problems) != len(tc.problems) {
				t.Fatalf("ParseCommand(%q) problems = %q, want %d", tc.text, got.Problems, len(tc.problems))
			}
			for i, want := range tc.problems {
				if !strings.Contains(got.Problems[i], want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got.Problems[i], want)
				}
			}
		})
	}
}

var validEndpoint = regexp.MustCompile(`^(\+[1-9][0-9]{7,14}|sip:[^\s@<>|]+@[a-z0-9.\-\[\]:]+)$`)

// FuzzParseCommand: whatever is typed, parsing never panics, a transfer
// always has two valid, different endpoints and a known role, and anything
// refused says why.
func FuzzParseCommand(f *testing.F) {
	for _, tc := range commandCases {
		f.Add(tc.text)
	}
	for _, s := range []string{
		"from from from", "as", "from as", "<tel:+14152225555 from <sip:a@b>", "+14152225555\x00 from +14152223333",
		"+１４１５２２２５５５５ from +14152223333", strings.Repeat("+1415 ", 500) + "from +14152223333",
		"&amp;lt;sip:a@b&amp;gt; from +14152223333", "<<sip:a@b>> from +14152223333", "| from |",
		"warm +14152225555 from +14152223333", "warm", "warm warm from me", "WaRm from from", "warm +14152225555 from +14152223333 as customer",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := ParseCommand(text, nil, "")
		switch got.Kind {
		case KindTransfer:
			tr := got.Spec
			for _, ep := range []plivo.Endpoint{tr.To, tr.TriggerSource} {
				if !validEndpoint.MatchString(ep.String()) {
					t.Fatalf("ParseCommand(%q) accepted endpoint %q", text, ep)
				}
			}
			if tr.To.Canonical() == tr.TriggerSource.Canonical() {
				t.Fatalf("ParseCommand(%q) accepted the same endpoint twice", text)
			}
			if tr.Role != plivo.RoleAgent && tr.Role != plivo.RoleCustomer {
				t.Fatalf("ParseCommand(%q) accepted role %q", text, tr.Role)
			}
		case KindInvalid:
			if len(got.Problems) == 0 {
				t.Fatalf("ParseCommand(%q) refused without saying why", text)
			}
			for _, p := range got.Problems {
				if !utf8.ValidString(p) || strings.ContainsAny(p, "\x00\r") {
					t.Fatalf("problem %q is not printable text", p)
				}
			}
		case KindForm, KindHelp:
			if strings.TrimSpace(text) != "" && !strings.EqualFold(strings.TrimSpace(text), "help") {
				t.Fatalf("ParseCommand(%q) = kind %d", text, got.Kind)
			}
		}
	})
}

// "warm" first asks for a warm transfer, with everything else as for cold;
// a destination with warm: false takes cold transfers only.
func TestParseWarmCommand(t *testing.T) {
	dir, err := directory.Parse([]byte("destinations:\n  - name: billing\n    to: \"+14155550100\"\n  - name: queue\n    label: The queue\n    to: \"+14155550101\"\n    warm: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text    string
		kind    Kind
		action  outcome.Action
		problem string
	}{
		{"+14152225555 from +14152223333", KindTransfer, outcome.ColdTransfer, ""},
		{"warm +14152225555 from +14152223333", KindTransfer, outcome.WarmTransfer, ""},
		{"WARM billing from +14152223333 as customer", KindTransfer, outcome.WarmTransfer, ""},
		{"warm", KindInvalid, "", "`warm` needs a transfer after it"},
		{"warm queue from +14152223333", KindInvalid, "", "The queue (`queue`) takes cold transfers only"},
		{"queue from +14152223333", KindTransfer, outcome.ColdTransfer, ""},
	} {
		got := ParseCommand(tc.text, dir, "U1")
		if got.Kind != tc.kind {
			t.Errorf("%q: kind %v (%v), want %v", tc.text, got.Kind, got.Problems, tc.kind)
			continue
		}
		if tc.problem != "" && (len(got.Problems) != 1 || !strings.Contains(got.Problems[0], tc.problem)) {
			t.Errorf("%q: problems %q, want %q", tc.text, got.Problems, tc.problem)
		}
		if tc.kind == KindTransfer && got.Spec.PlivoAction() != tc.action {
			t.Errorf("%q: action %v, want %v", tc.text, got.Spec.PlivoAction(), tc.action)
		}
	}
}
