package directory

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// sample is a directory file as an operator would write it.
const sample = `
destinations:            # where calls may be sent, by name
  - name: billing        # what supervisors type
    label: Billing queue # what Slack shows
    to: "+14155550100"
    role: agent
    who: [S0LEADS]
  - name: Sales
    to: sip:Sales@PBX.example.com
agents:
  - slack: U012AB3CD
    endpoint: "sip:alice@floor.sip.plivo.com"
typed:
  allow: false
  who: [S0LEADS]
  prefixes: ["+1", "+44"]
  deny_prefixes: ["+1900", "+1976"]
  sip_domains: ["Floor.SIP.plivo.com"]
`

func TestParseSample(t *testing.T) {
	d, err := Parse([]byte(strings.Replace(sample, "name: Sales", "name: sales", 1)))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	dests := d.Destinations()
	if len(dests) != 2 {
		t.Fatalf("%d destinations, want 2", len(dests))
	}
	b := dests[0]
	if b.Name != "billing" || b.Label != "Billing queue" || b.To.String() != "+14155550100" || b.Role != plivo.RoleAgent || strings.Join(b.Who, ",") != "S0LEADS" {
		t.Errorf("billing = %+v", b)
	}
	s, ok := d.Destination("SALES")
	if !ok || s.Label != "sales" || s.To.String() != "sip:Sales@pbx.example.com" || s.Role != plivo.RoleAgent || s.Who != nil {
		t.Errorf("Destination(SALES) = %+v, %v; want the label to default to the name, the role to agent", s, ok)
	}
	a, ok := d.Agent("U012AB3CD")
	if !ok || a.Endpoint.String() != "sip:alice@floor.sip.plivo.com" {
		t.Errorf("Agent = %+v, %v", a, ok)
	}
	if _, ok := d.Agent("U999"); ok {
		t.Error("an agent with no entry was found")
	}
	typed := d.Typed()
	if typed.Allow || strings.Join(typed.Who, ",") != "S0LEADS" || strings.Join(typed.Prefixes, ",") != "+1,+44" ||
		strings.Join(typed.DenyPrefixes, ",") != "+1900,+1976" || strings.Join(typed.SIPDomains, ",") != "floor.sip.plivo.com" {
		t.Errorf("typed = %+v", typed)
	}
	if d.NumAgents() != 1 || len(d.Version()) != 16 {
		t.Errorf("NumAgents %d, Version %q", d.NumAgents(), d.Version())
	}
}

func TestParseAcceptsMinimalFiles(t *testing.T) {
	cases := []struct {
		name, file string
		dests      int
		allow      bool
	}{
		{"one destination", "destinations:\n  - {name: billing, to: '+14155550100'}\n", 1, false},
		{"typed only", "typed:\n  allow: true\n", 0, true},
		{"agents and typed", "agents:\n  - slack: W012AB3CD\n    endpoint: +14155550111\ntyped: {allow: true}\n", 0, true},
		{"unquoted number, customer role", "destinations:\n  - name: vip-line_2\n    to: +44 20 7946 0000\n    role: Customer\n    who: [S0LEADS, U0BOSS]\n" +
			"  - name: vip3\n    to: <tel:+442079460001|+44 20 7946 0001>\n    who: [S0LEADS, U0BOSS, S0LEADS]\n", 2, false},
		{"empty lists", "destinations: []\nagents:\ntyped: {allow: true, who: []}\n", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.file))
			if err != nil {
				t.Fatalf("Parse refused a good file:\n%v", err)
			}
			if len(d.Destinations()) != tc.dests || d.Typed().Allow != tc.allow {
				t.Errorf("%d destinations, allow %v; want %d, %v", len(d.Destinations()), d.Typed().Allow, tc.dests, tc.allow)
			}
		})
	}
	d, _ := Parse([]byte(cases[3].file))
	if v, _ := d.Destination("vip-line_2"); v.To.String() != "+442079460000" || v.Role != plivo.RoleCustomer {
		t.Errorf("vip-line_2 = %+v", v)
	}
	if v, _ := d.Destination("vip3"); strings.Join(v.Who, ",") != "S0LEADS,U0BOSS" || v.To.String() != "+442079460001" {
		t.Errorf("vip3 = %+v: want who S0LEADS,U0BOSS, once each", v)
	}
}

// Every problem is one line that names the entry and the line, and all are
// reported at once.
func TestParseRefusals(t *testing.T) {
	cases := []struct {
		name string
		file string
		want []string // one substring per expected problem, in order
	}{
		{"empty", "", []string{"the file is empty"}},
		{"only comments", "# nothing yet\n", []string{"only comments"}},
		{"bad YAML", "destinations:\n  - name: billing\n   to: +1\n", []string{"not valid YAML: line 1: did not find expected '-' indicator"}},
		{"two documents", "typed: {allow: true}\n---\ntyped: {allow: true}\n", []string{"more than one YAML document"}},
		{"not a mapping", "- billing\n", []string{"must be a mapping with the keys destinations, agents and typed (line 1)"}},
		{"unknown top key", "destination:\n  - {name: a, to: '+14155550100'}\ntyped: {allow: true}\n",
			[]string{`unknown key "destination": did you mean destinations? the keys are destinations, agents, typed (line 1)`}},
		{"nothing transferable", "agents:\n  - {slack: U012AB3CD, endpoint: '+14155550111'}\n",
			[]string{"there are no destinations and typed.allow is not true"}},
		{"destinations not a list", "destinations: billing\n", []string{"destinations: must be a list of entries, each starting with - (line 1)"}},
		{"entry not a mapping", "destinations:\n  - billing\n", []string{"destinations[0]: must be a mapping with name, label, to, role and who (line 2)"}},
		{"bad endpoint", "destinations:\n  - name: billing\n    to: '+1415'\n",
			[]string{`destinations[0] "billing": to: "+1415" has 4 digits: an international number has 8 to 15 digits after the + (line 3)`}},
		{"national number", "destinations:\n  - name: billing\n    to: 4155550100\n",
			[]string{`destinations[0] "billing": to: "4155550100" has no country code`}},
		{"missing to and name", "destinations:\n  - label: Billing\n",
			[]string{"destinations[0]: name: is missing: give the word supervisors type, like billing (line 2)", "destinations[0]: to: is missing"}},
		{"upper-case name", "destinations:\n  - {name: Billing, to: '+14155550100'}\n",
			[]string{`destinations[0] "Billing": name: "Billing" must be lower case: write billing`}},
		{"bad name", "destinations:\n  - {name: 2nd-line, to: '+14155550100'}\n",
			[]string{`name: "2nd-line" must start with a letter a-z`}},
		{"long name", "destinations:\n  - {name: " + strings.Repeat("a", 33) + ", to: '+14155550100'}\n",
			[]string{"must start with a letter a-z, then up to 31"}},
		{"reserved names", "destinations:\n  - {name: list, to: '+14155550100'}\n  - {name: me, to: '+14155550101'}\n  - {name: help, to: '+14155550102'}\n  - {name: from, to: '+14155550103'}\n",
			[]string{`"list": name: "list" is a word /transfer uses`, `"me"`, `"help"`, `"from"`}},
		{"duplicate name", "destinations:\n  - {name: billing, to: '+14155550100'}\n  - {name: billing, to: '+14155550101'}\n",
			[]string{`destinations[1] "billing": name: "billing" is already the name of destinations[0] (line 2): names must be unique (line 3)`}},
		{"long label", "destinations:\n  - {name: billing, to: '+14155550100', label: " + strings.Repeat("x", 76) + "}\n",
			[]string{"label: is 76 characters long: Slack shows at most 75"}},
		{"bad role", "destinations:\n  - {name: billing, to: '+14155550100', role: boss}\n",
			[]string{`role: role must be "agent" or "customer", not "boss"`}},
		{"bad who", "destinations:\n  - {name: billing, to: '+14155550100', who: [S0LEADS, alice, C0FLOOR]}\n",
			[]string{`who: "alice" is not a Slack user`, `who: "C0FLOOR" is not a Slack user`}},
		{"who not a list", "destinations:\n  - {name: billing, to: '+14155550100', who: S0LEADS}\n",
			[]string{"who: must be a list, like [S0LEADS]"}},
		{"unknown key in an entry", "destinations:\n  - name: billing\n    to: '+14155550100'\n    lable: Billing\n",
			[]string{`destinations[0] "billing": unknown key "lable": did you mean label? the keys are name, label, to, role, who, warm (line 4)`}},
		{"key twice", "destinations:\n  - name: billing\n    to: '+14155550100'\n    to: '+14155550101'\n",
			[]string{`destinations[0] "billing": to is given twice (first on line 3) (line 4)`}},
		{"label a list", "destinations:\n  - {name: billing, to: '+14155550100', label: [a]}\n",
			[]string{"label: must be a single value"}},
		{"bad agent id", "agents:\n  - {slack: S0LEADS, endpoint: '+14155550111'}\n  - {slack: alice, endpoint: '+14155550112'}\ntyped: {allow: true}\n",
			[]string{`agents[0] "S0LEADS": slack: "S0LEADS" is not a Slack member id`, `agents[1] "alice": slack:`}},
		{"duplicate agent", "agents:\n  - {slack: U012AB3CD, endpoint: '+14155550111'}\n  - {slack: U012AB3CD, endpoint: '+14155550112'}\ntyped: {allow: true}\n",
			[]string{`agents[1] "U012AB3CD": slack: "U012AB3CD" already has an entry, agents[0] (line 2)`}},
		{"agent bad endpoint", "agents:\n  - {slack: U012AB3CD, endpoint: 'sip:alice'}\ntyped: {allow: true}\n",
			[]string{`agents[0] "U012AB3CD": endpoint: "sip:alice" is not a SIP URI`}},
		{"agent missing endpoint", "agents:\n  - slack: U012AB3CD\ntyped: {allow: true}\n",
			[]string{`agents[0] "U012AB3CD": endpoint: is missing`}},
		{"typed allow not a bool", "typed: {allow: yes}\n", []string{`typed: allow: must be true or false, not "yes"`}},
		{"typed prefixes", "typed:\n  allow: true\n  prefixes: ['+1', '44', '+0']\n  deny_prefixes: [+1900x]\n",
			[]string{`typed: prefixes: "44" is not a number prefix`, `"+0"`, `typed: deny_prefixes: "+1900x"`}},
		{"typed sip domains", "typed:\n  allow: true\n  sip_domains: [floor.example.com, 'bad host', 'pbx.example.com:5060', 'a@b.com']\n",
			[]string{`"bad host" is not a host name`, `"pbx.example.com:5060"`, `"a@b.com"`}},
		{"typed unknown key", "typed:\n  allow: true\n  prefix: ['+1']\n",
			[]string{`typed: unknown key "prefix": did you mean prefixes?`}},
		{"typed a list", "typed: [allow]\n", []string{"typed: must be a mapping"}},
		{"anchor and alias", "destinations:\n  - name: a\n    to: '+14155550100'\n    who: &leads [S0LEADS]\n  - name: b\n    to: '+14155550101'\n    who: *leads\n",
			[]string{"&leads: YAML anchors and aliases (&name, *name) are not allowed in the directory file: write each list out (line 4)", "*leads: YAML anchors and aliases (&name, *name) are not allowed in the directory file: write each list out (line 7)"}},
		{"anchor on an entry", "destinations:\n  - &e {name: a, to: '+14155550100'}\n", []string{"&e: YAML anchors and aliases (&name, *name) are not allowed in the directory file: write each list out (line 2)"}},
		{"merge key", "destinations:\n  - name: b\n    to: '+14155550100'\n    <<: {role: agent}\n",
			[]string{"YAML merge keys (<<) are not allowed in the directory file: write each entry's keys out (line 4)"}},
		{"merge key of an alias", "typed: &t {allow: true}\ndestinations:\n  - name: b\n    to: '+14155550100'\n    <<: *t\n",
			[]string{"&t: YAML anchors", "YAML merge keys (<<) are not allowed", "*t: YAML anchors"}},
		{"nesting at the limit", "typed:\n  allow: true\n  who: " + strings.Repeat("[", 14) + strings.Repeat("]", 14) + "\n", // 16 levels
			[]string{"typed: who: each item must be a single value, like S0LEADS (line 3)"}},
		{"nesting over the limit", "typed:\n  allow: true\n  who: " + strings.Repeat("[", 15) + strings.Repeat("]", 15) + "\n",
			[]string{"lists and mappings are nested more than 16 deep: a directory needs 4 (the top, destinations, an entry, its who list) (line 3)"}},
		{"too many values", dense("typed: {allow: true, who: {a", ",a", "}}\n"),
			[]string{"the file has too many keys, values and list items for a directory: counting each word and each - ? : , [ ] { } gives 1048559, more than the 400000 allowed"}},
		{"larger than the cap", "#" + strings.Repeat(" comment", MaxFileSize/8) + "\ntyped: {allow: true}\n",
			[]string{"the file is larger than 1048576 bytes (1 MiB)"}},
	}
	lineRef := regexp.MustCompile(`\(line \d+\)$`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.file))
			if err == nil {
				t.Fatalf("Parse accepted:\n%s", tc.file)
			}
			if d != nil {
				t.Error("a refused file still gave a directory")
			}
			derr, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("error %T, want *Error", err)
			}
			if len(derr.Problems) != len(tc.want) {
				t.Fatalf("problems:\n%s\nwant %d: %q", err, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				p := derr.Problems[i]
				if !strings.Contains(p, w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, p, w)
				}
				if strings.Contains(p, "\n") {
					t.Errorf("problem %q is more than one line", p)
				}
				if strings.Contains(tc.file, "\n  - ") && !strings.Contains(p, "YAML") && !lineRef.MatchString(p) {
					t.Errorf("problem %q does not say the line", p)
				}
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(good); err == nil || !strings.Contains(err.Error(), `"Sales" must be lower case`) {
		t.Errorf("Load of the sample with Sales = %v", err)
	}
	cases := []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "absent.yaml"), "cannot read the file: no such file or directory"},
		{"a directory", dir, "is a directory, not a regular file"},
	}
	for _, tc := range cases {
		_, err := Load(tc.path)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: Load = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	d, err := Parse([]byte("destinations:\n" +
		"  - {name: billing, label: Billing queue, to: '+14155550100'}\n" +
		"  - {name: sales, label: New customers, to: '+14155550101'}\n" +
		"  - {name: support-tier2, to: '+14155550102'}\n" +
		"  - {name: supervisor, to: '+14155550103'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		text, want string
		ok         bool
	}{
		{"bilingg", "billing", true},
		{"BILLNG", "billing", true},
		{"blling", "billing", true},
		{"slaes", "sales", true},
		{"billing queue", "billing", true},
		{"new customer", "sales", true},
		{"support-tier", "support-tier2", true},
		{"supp", "support-tier2", true},
		{"sup", "", false}, // two names start with it
		{"xyz", "", false},
		{"b", "", false},
		{"accounts", "", false},
	}
	for _, tc := range cases {
		got, ok := d.Suggest(tc.text)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Suggest(%q) = %q, %v; want %q, %v", tc.text, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"billing", "billing", 0}, {"bilingg", "billing", 2}, {"billnig", "billing", 1},
		{"abc", "", 3}, {"sales", "slaes", 1}, {"kitten", "sitting", 3},
	}
	for _, tc := range cases {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

var endpointPattern = regexp.MustCompile(`^(\+[1-9][0-9]{7,14}|sip:[^\s@<>|]+@[a-z0-9.\-\[\]:]+)$`)

// FuzzParse: whatever the file holds, Parse never panics, a directory it
// accepts has only valid names, endpoints and ids, and a refusal says why.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(strings.Replace(sample, "Sales", "sales", 1)))
	for _, s := range []string{
		"destinations:\n  - {name: a, to: '+14155550100'}\n",
		"destinations:\n  - {name: a, to: 'sip:<mailto:q@pbx.example.com|q@pbx.example.com>'}\n",
		"typed: {allow: true, sip_domains: ['[2001:db8::1]']}\n",
		"a: &a [*a]\n", "destinations: &d\n  - *d\n", "{", "- - - -", "typed: {allow: !!bool yes}\n",
		"destinations:\n  - name: b\n    to: +1 415 555 0100\n    <<: {role: agent}\n",
		"typed: {allow: true, who: " + strings.Repeat("[", 20) + strings.Repeat("]", 20) + "}\n",
		"destinations:\n" + strings.Repeat("  - {name: list, to: '+1415'}\n", 25),
		string(aliasBomb(2000, 5)),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			derr, ok := errors.AsType[*Error](err)
			if !ok || len(derr.Problems) == 0 || len(derr.Problems) > maxProblems+1 || d != nil {
				t.Fatalf("Parse refused with %T %v and directory %v", err, err, d)
			}
			return
		}
		for _, dest := range d.Destinations() {
			if !namePattern.MatchString(dest.Name) || isReserved(dest.Name) {
				t.Fatalf("accepted name %q", dest.Name)
			}
			if !endpointPattern.MatchString(dest.To.String()) {
				t.Fatalf("accepted destination endpoint %q", dest.To)
			}
			if got, ok := d.Destination(dest.Name); !ok || got.Name != dest.Name {
				t.Fatalf("destination %q not found by name", dest.Name)
			}
			for _, id := range dest.Who {
				if !idPattern.MatchString(id) {
					t.Fatalf("accepted who %q", id)
				}
			}
		}
		for _, id := range []string{"U012AB3CD", "W012AB3CD"} {
			if a, ok := d.Agent(id); ok && !endpointPattern.MatchString(a.Endpoint.String()) {
				t.Fatalf("accepted agent endpoint %q", a.Endpoint)
			}
		}
		for _, p := range append(d.Typed().Prefixes, d.Typed().DenyPrefixes...) {
			if !prefixPattern.MatchString(p) {
				t.Fatalf("accepted prefix %q", p)
			}
		}
	})
}

// The example in the repository's root is a good file.
func TestExampleFileParses(t *testing.T) {
	d, err := Load("../../directory.example.yaml")
	if err != nil {
		t.Fatalf("directory.example.yaml:\n%v", err)
	}
	if len(d.Destinations()) != 3 || d.NumAgents() != 2 || d.Typed().Allow {
		t.Errorf("example: %d destinations, %d agents, typed %+v", len(d.Destinations()), d.NumAgents(), d.Typed())
	}
	if v, _ := d.Destination("VIP"); v.Role != "customer" || len(v.Who) != 2 {
		t.Errorf("vip = %+v", v)
	}
}

// `warm: false` keeps a destination to cold transfers; anything but a
// boolean is refused.
func TestParseWarm(t *testing.T) {
	for _, tc := range []struct {
		warm    string
		noWarm  bool
		problem string
	}{
		{"", false, ""},
		{"\n    warm: true", false, ""},
		{"\n    warm: false", true, ""},
		{"\n    warm: sometimes", false, "warm: must be true or false"},
	} {
		d, err := Parse([]byte("destinations:\n  - name: billing\n    to: \"+14155550100\"" + tc.warm + "\n"))
		if tc.problem != "" {
			if err == nil || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("warm%q: err = %v, want %q", tc.warm, err, tc.problem)
			}
			continue
		}
		if err != nil {
			t.Fatalf("warm%q: %v", tc.warm, err)
		}
		if dest, _ := d.Destination("billing"); dest.NoWarm != tc.noWarm {
			t.Errorf("warm%q: NoWarm = %v, want %v", tc.warm, dest.NoWarm, tc.noWarm)
		}
	}
}
