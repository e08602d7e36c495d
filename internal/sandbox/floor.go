package sandbox

import (
	"fmt"
	"strings"

	"github.com/coldtransfer/coldtransfer/internal/sandbox/screen"
)

// The sandbox's pretend contact-centre floor: one channel, a few people, a
// directory. Ids are Slack-shaped so that the bot's own validation accepts
// them.

// sipDomain is the floor's SIP domain: agents are on it, and it is the
// only one typed SIP addresses may use. It is the domain of the bot's own
// usage examples (/transfer help), so that every example it gives works
// here.
const sipDomain = "pbx.example.com"

// channel is #floor, where every command is typed.
const (
	channelID   = "C0FLOOR"
	channelName = "floor"
	leadsGroup  = "S0LEADS"
)

// person is a Slack user of the sandbox.
type person struct {
	name    string // what `as NAME` and @NAME take
	id      string // Slack user id
	about   string // how `as` describes them
	agentAt string // the endpoint the person is on calls with, when they take calls
}

// people are the sandbox's Slack users, the first being who you are at
// start. Those allowed to transfer have an agent entry too, so that
// "from me", which the bot's answers suggest, works for them.
var people = []person{
	{name: "supervisor", id: "U0SUPER", about: "allowed to transfer by id, may also type numbers", agentAt: "sip:supervisor@" + sipDomain},
	{name: "lead", id: "U0LEAD", about: "allowed to transfer as a member of the group " + leadsGroup, agentAt: "sip:lead@" + sipDomain},
	{name: "intruder", id: "U0INTRUDER", about: "not allowed to transfer"},
	{name: "alice", id: "U0ALICE", about: "an agent, not allowed to transfer", agentAt: "sip:alice@" + sipDomain},
	{name: "bob", id: "U0BOB", about: "an agent, not allowed to transfer", agentAt: "+14152223333"},
	{name: "carol", id: "U0CAROL", about: "an agent, not allowed to transfer", agentAt: "+442079460123"},
}

// personNamed returns the person called name, in any case, with or without
// a leading @.
func personNamed(name string) (person, bool) {
	name = strings.TrimPrefix(name, "@")
	for _, p := range people {
		if strings.EqualFold(p.name, name) {
			return p, true
		}
	}
	return person{}, false
}

// personByID returns the person whose Slack user id is id.
func personByID(id string) (person, bool) {
	for _, p := range people {
		if p.id == id {
			return p, true
		}
	}
	return person{}, false
}

// floor is the sandbox's people and channel as the screen names them.
type floor struct{}

var _ screen.Names = floor{}

func (floor) User(id string) (string, bool) {
	p, ok := personByID(id)
	return p.name, ok
}

func (floor) UserNamed(name string) (id, canonical string, ok bool) {
	p, ok := personNamed(name)
	return p.id, p.name, ok
}

func (floor) Channel(id string) (string, bool) {
	if id == channelID {
		return channelName, true
	}
	return "", false
}

// destination is one entry of the sample directory.
type destination struct {
	name, label, to string
	who             string // a group id, or "" for everyone allowed to transfer
}

var destinations = []destination{
	{name: "billing", label: "Billing queue", to: "+14155550100"},
	{name: "sales", label: "Sales", to: "+14155550101"},
	{name: "support", label: "Support desk", to: "sip:support@" + sipDomain},
	{name: "escalations", label: "Escalations (leads only)", to: "+14155550199", who: leadsGroup},
}

// directoryYAML is the sample directory file (docs/directory.md):
// the destinations and agents above; typed numbers and SIP addresses only
// for the supervisor, with a few prefix and domain rules to try.
func directoryYAML() string {
	var b strings.Builder
	b.WriteString("# The coldtransfer sandbox's sample floor directory (docs/directory.md).\n")
	b.WriteString("destinations:\n")
	for _, d := range destinations {
		fmt.Fprintf(&b, "  - name: %s\n    label: %q\n    to: %q\n", d.name, d.label, d.to)
		if d.who != "" {
			fmt.Fprintf(&b, "    who: [%s]\n", d.who)
		}
	}
	b.WriteString("agents:\n")
	for _, p := range people {
		if p.agentAt != "" {
			fmt.Fprintf(&b, "  - slack: %s   # @%s\n    endpoint: %q\n", p.id, p.name, p.agentAt)
		}
	}
	supervisor := people[0]
	fmt.Fprintf(&b, "typed:\n  allow: true\n  who: [%s]   # @%s\n", supervisor.id, supervisor.name)
	b.WriteString("  prefixes: [\"+1\", \"+44\"]\n  deny_prefixes: [\"+1900\", \"+1976\"]\n")
	b.WriteString("  sip_domains: [\"" + sipDomain + "\"]\n")
	return b.String()
}

// The sandbox's credentials: fake, and shaped so that the bot's
// configuration checks accept them.
const (
	botToken       = "xoxb-sandbox-0000-not-a-real-token"
	appToken       = "xapp-1-A0SANDBOX-0000-not-a-real-token"
	plivoAuthID    = "MASANDBOX00000000000"
	plivoAuthToken = "sandbox-not-a-real-plivo-token"
	phloID         = "5a4d1b0e-0000-4000-8000-5a4db0c00001"
	nodeID         = "5a4d1b0e-0000-4000-8000-5a4db0c00002"
	// plivoTimeout is short so that `plivo timeout` shows its result soon.
	plivoTimeout = "2s"
)
