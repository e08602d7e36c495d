package slackbot

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

var commandCases = []struct {
	name              string
	text              string
	kind              commandKind
	to, triggerSource string
	role              plivo.Role
	problems          []string // substrings, one per expected problem
}{
	{name: "empty opens the form", text: "", kind: commandModal},
	{name: "spaces open the form", text: "  \t ", kind: commandModal},
	{name: "help", text: "help", kind: commandHelp},
	{name: "help any case", text: " HeLp ", kind: commandHelp},
	{name: "one line", text: "+14152225555 from +14152223333", kind: commandTransfer,
		to: "+14152225555", triggerSource: "+14152223333", role: plivo.RoleAgent},
	{name: "spaces in numbers, keywords in any case", text: "+1 (415) 222-5555 FROM +1 415.222.3333 As CUSTOMER", kind: commandTransfer,
		to: "+14152225555", triggerSource: "+14152223333", role: plivo.RoleCustomer},
	{name: "explicit agent", text: "sip:queue@pbx.example.com from +14152223333 as agent", kind: commandTransfer,
		to: "sip:queue@pbx.example.com", triggerSource: "+14152223333", role: plivo.RoleAgent},
	{name: "slack links", text: "<tel:+14152225555|+1 415 222 5555> from <sip:bob@example.com>", kind: commandTransfer,
		to: "+14152225555", triggerSource: "sip:bob@example.com", role: plivo.RoleAgent},
	{name: "slack escaping undone", text: "sip:a&amp;b@example.com from &lt;sip:bob@example.com&gt;", kind: commandTransfer,
		to: "sip:a&b@example.com", triggerSource: "sip:bob@example.com", role: plivo.RoleAgent},
	{name: "help with more words", text: "help me", kind: commandInvalid, problems: []string{"`from` is missing"}},
	{name: "no from", text: "+14152225555 +14152223333", kind: commandInvalid, problems: []string{"`from` is missing"}},
	{name: "from twice", text: "+1 from +2 from +3", kind: commandInvalid, problems: []string{"`from` appears more than once"}},
	{name: "as twice", text: "+14152225555 from +14152223333 as agent as agent", kind: commandInvalid, problems: []string{"`as` appears more than once"}},
	{name: "as first", text: "+14152225555 as agent from +14152223333", kind: commandInvalid, problems: []string{"`as` must come after"}},
	{name: "bad role", text: "+14152225555 from +14152223333 as supervisor", kind: commandInvalid, problems: []string{`not "supervisor"`}},
	{name: "role of two words", text: "+14152225555 from +14152223333 as an agent", kind: commandInvalid, problems: []string{`not "an agent"`}},
	{name: "missing destination", text: "from +14152223333", kind: commandInvalid, problems: []string{"Destination (before `from`): missing"}},
	{name: "missing agent", text: "+14152225555 from", kind: commandInvalid, problems: []string{"Agent on the call (after `from`): missing"}},
	{name: "national number", text: "(415) 222-5555 from +14152223333", kind: commandInvalid, problems: []string{"Destination (before `from`): \"(415) 222-5555\" has no country code"}},
	{name: "both bad and a bad role", text: "12 from sip:bob as boss", kind: commandInvalid,
		problems: []string{`not "boss"`, "Destination", "Agent on the call"}},
	{name: "same endpoint", text: "+1 415 222 5555 from <tel:+14152225555|+1 415 222 5555>", kind: commandInvalid,
		problems: []string{"is also the agent on the call"}},
}

func TestParseCommand(t *testing.T) {
	for _, tc := range commandCases {
		t.Run(tc.name, func(t *testing.T) {
			got := parseCommand(tc.text, nil, "")
			if got.kind != tc.kind {
				t.Fatalf("parseCommand(%q) kind = %d, want %d (problems %q)", tc.text, got.kind, tc.kind, got.problems)
			}
			if tc.kind == commandTransfer {
				tr := got.spec
				if tr.to.String() != tc.to || tr.triggerSource.String() != tc.triggerSource || tr.role != tc.role {
					t.Errorf("parseCommand(%q) = to %s, trigger_source %s, role %s; want %s, %s, %s",
						tc.text, tr.to, tr.triggerSource, tr.role, tc.to, tc.triggerSource, tc.role)
				}
			}
			if len(got.problems) != len(tc.problems) {
				t.Fatalf("parseCommand(%q) problems = %q, want %d", tc.text, got.problems, len(tc.problems))
			}
			for i, want := range tc.problems {
				if !strings.Contains(got.problems[i], want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got.problems[i], want)
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
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := parseCommand(text, nil, "")
		switch got.kind {
		case commandTransfer:
			tr := got.spec
			for _, ep := range []plivo.Endpoint{tr.to, tr.triggerSource} {
				if !validEndpoint.MatchString(ep.String()) {
					t.Fatalf("parseCommand(%q) accepted endpoint %q", text, ep)
				}
			}
			if tr.to.Canonical() == tr.triggerSource.Canonical() {
				t.Fatalf("parseCommand(%q) accepted the same endpoint twice", text)
			}
			if tr.role != plivo.RoleAgent && tr.role != plivo.RoleCustomer {
				t.Fatalf("parseCommand(%q) accepted role %q", text, tr.role)
			}
		case commandInvalid:
			if len(got.problems) == 0 {
				t.Fatalf("parseCommand(%q) refused without saying why", text)
			}
			for _, p := range got.problems {
				if !utf8.ValidString(p) || strings.ContainsAny(p, "\x00\r") {
					t.Fatalf("problem %q is not printable text", p)
				}
			}
		case commandModal, commandHelp:
			if strings.TrimSpace(text) != "" && !strings.EqualFold(strings.TrimSpace(text), "help") {
				t.Fatalf("parseCommand(%q) = kind %d", text, got.kind)
			}
		}
	})
}
