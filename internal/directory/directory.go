// Package directory is the floor directory: the destinations supervisors
// send calls to by name, the agents they name by Slack user, and the policy
// for destinations typed as numbers or SIP addresses.
//
// A *Directory is an immutable snapshot: a reload builds a new one and swaps
// it in whole, so a request keeps the snapshot it started with. It is safe
// for concurrent use, and knows nothing of Slack's UI.
package directory

import (
	"encoding/hex"
	"slices"
	"strings"
	"sync"

	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// Destination is a place calls may be sent to by name.
type Destination struct {
	Name  string         // [a-z][a-z0-9_-]{0,31}: what supervisors type
	Label string         // what Slack shows; the name when the file gives none
	To    plivo.Endpoint // the endpoint sent to Plivo
	Role  plivo.Role     // the role To joins with, unless the request says otherwise
	Who   []string       // user (U…/W…) and group (S…) ids that may use it; empty: anyone allowed to transfer
	// NoWarm is `warm: false`: calls come here by cold transfer only (the
	// destination cannot take an agent's private word first).
	NoWarm bool
}

// Agent is a person who is on calls, known by Slack user id.
type Agent struct {
	Slack    string         // U… or W…
	Endpoint plivo.Endpoint // the address the agent is on the call with
}

// Typed is the policy for destinations typed as numbers or SIP addresses
// rather than chosen by name.
type Typed struct {
	Allow        bool     // false: directory names only
	Who          []string // user and group ids that may type one; empty: anyone allowed to transfer
	Prefixes     []string // E.164 prefixes typed numbers must start with; empty: any
	DenyPrefixes []string // E.164 prefixes refused whatever Prefixes says
	SIPDomains   []string // lower-case hosts typed SIP addresses must be at; empty: any
}

// Directory is one snapshot of the directory file. The zero value is an
// empty directory. What it holds is never modified once built.
type Directory struct {
	destinations []Destination    // file order
	byName       map[string]int   // lower-case name → index in destinations
	agents       map[string]Agent // by Slack user id
	typed        Typed
	sum          [32]byte // SHA-256 of the file it was parsed from

	// byEndpoint is built from destinations on first use, once per
	// snapshot: most snapshots never see a typed destination.
	byEndpointOnce sync.Once
	byEndpoint     map[string][]Destination // Canonical form of To → destinations, file order
}

// Destinations returns the destinations in file order. The caller must not
// modify the slice.
func (d *Directory) Destinations() []Destination { return d.destinations }

// Destination returns the destination called name, in any case.
func (d *Directory) Destination(name string) (Destination, bool) {
	i, ok := d.byName[lowerASCII(name)]
	if !ok {
		return Destination{}, false
	}
	return d.destinations[i], true
}

// DestinationsAt returns the destinations whose endpoint is the address
// to, however either is spelled (compared in plivo.Endpoint.Canonical
// form), in file order: what a typed destination also is by name, so that
// typing an address is no way around a name's who. It returns nil when
// there are none. The caller must not modify the slice.
func (d *Directory) DestinationsAt(to plivo.Endpoint) []Destination {
	d.byEndpointOnce.Do(func() {
		d.byEndpoint = make(map[string][]Destination, len(d.destinations))
		for _, dest := range d.destinations {
			key := dest.To.Canonical()
			d.byEndpoint[key] = append(d.byEndpoint[key], dest)
		}
	})
	return d.byEndpoint[to.Canonical()]
}

// Agent returns the agent entry of a Slack user.
func (d *Directory) Agent(slackID string) (Agent, bool) {
	a, ok := d.agents[slackID]
	return a, ok
}

// Agents returns the directory's agents, by Slack user id.
func (d *Directory) Agents() []Agent {
	agents := make([]Agent, 0, len(d.agents))
	for _, a := range d.agents {
		agents = append(agents, a)
	}
	slices.SortFunc(agents, func(a, b Agent) int { return strings.Compare(a.Slack, b.Slack) })
	return agents
}

// Typed returns the policy for typed destinations.
func (d *Directory) Typed() Typed { return d.typed }

// NumAgents returns how many agents the directory has.
func (d *Directory) NumAgents() int { return len(d.agents) }

// Version identifies the file the directory was parsed from: the same
// content gives the same version on every replica. It is "" for the zero
// Directory.
func (d *Directory) Version() string {
	if d.sum == ([32]byte{}) {
		return ""
	}
	return hex.EncodeToString(d.sum[:8])
}

// Suggest returns the name of the destination closest to text, a mistyped
// name or a label, when one is close enough to be what was meant.
func (d *Directory) Suggest(text string) (string, bool) {
	text = strings.ToLower(strings.TrimSpace(text))
	if text == "" {
		return "", false
	}
	best, bestDist := "", -1
	for _, dest := range d.destinations {
		for _, candidate := range []string{dest.Name, strings.ToLower(dest.Label)} {
			if dist := distance(text, candidate); dist <= tolerance(text) && (bestDist < 0 || dist < bestDist) {
				best, bestDist = dest.Name, dist
			}
		}
	}
	if bestDist >= 0 {
		return best, true
	}
	return uniquePrefix(text, d.destinations)
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
