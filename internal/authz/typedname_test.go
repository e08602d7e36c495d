package authz_test

import (
	"context"
	"maps"
	"reflect"
	"testing"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// namedFloor has destinations kept for some people, a typed policy that
// would let their addresses through, and one address two destinations
// share.
const namedFloor = `
destinations:
  - {name: vip, label: VIP desk, to: "sip:vip@floor.sip.plivo.com", who: [USUPER]}
  - {name: billing, to: "+1 415 555 0100"}
  - {name: leads, to: "+14155550102", who: [SLEADS]}
  - {name: deska, to: "sip:desk@floor.sip.plivo.com", who: [UALICE, USUPER]}
  - {name: deskb, to: "SIP:%64esk@Floor.sip.plivo.com:5060", who: [SLEADS]}
  - {name: broken, to: "sip:broken@floor.sip.plivo.com", who: [SBROKEN]}
  - {name: pbx, to: "sip:vip@pbx.example.com", who: [USUPER]}
  - {name: london, to: "+442079460958", who: [USUPER]}
typed:
  allow: true
  prefixes: ["+1"]
  sip_domains: [floor.sip.plivo.com]
`

// whoRefusal is the refusal of a typed address that is destination name's.
func whoRefusal(to, name, why string, lookupFailed bool) authz.Decision {
	return refused("typed destination "+to+" is the address of destination "+name+"; destination "+name+" not allowed to user "+why,
		authz.DestinationRefusal{Rule: authz.RuleWho, LookupFailed: lookupFailed, Name: name})
}

func TestMayTypeDestinationIn(t *testing.T) {
	dir, err := directory.Parse([]byte(namedFloor))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		user      string
		to        string // parsed with plivo.ParseEndpoint
		want      authz.Decision
		wantCalls map[string]int
	}{
		{
			name: "a name's address typed by someone its who leaves out",
			user: "UOTHER", to: "sip:vip@floor.sip.plivo.com",
			want: whoRefusal("sip:vip@floor.sip.plivo.com", "vip", "UOTHER: not listed in who", false),
		},
		{
			name: "another spelling of it: escape, case, default port",
			user: "UOTHER", to: "SIP:%76ip@FLOOR.sip.plivo.com:5060",
			want: whoRefusal("sip:%76ip@floor.sip.plivo.com:5060", "vip", "UOTHER: not listed in who", false),
		},
		{
			name: "a name's address typed by someone its who lists",
			user: "USUPER", to: "sip:%76ip@floor.sip.plivo.com",
			want: authz.Decision{Allowed: true, Reason: "typed destination sip:%76ip@floor.sip.plivo.com allowed; destination vip allowed to user USUPER"},
		},
		{
			name: "a user part in another case is another address",
			user: "UOTHER", to: "sip:VIP@floor.sip.plivo.com",
			want: allowed("sip:VIP@floor.sip.plivo.com"),
		},
		{
			name: "a name's number in another format",
			user: "UOTHER", to: "+1 (415) 555-0102",
			want:      whoRefusal("+14155550102", "leads", "UOTHER: not listed in who", false),
			wantCalls: map[string]int{"SLEADS": 1},
		},
		{
			name: "a name's number by a member of its who's group",
			user: "ULEAD", to: "<tel:+14155550102|+1 415 555 0102>",
			want:      authz.Decision{Allowed: true, Reason: "typed destination +14155550102 allowed; destination leads allowed to user ULEAD"},
			wantCalls: map[string]int{"SLEADS": 1},
		},
		{
			name: "a name open to all",
			user: "UOTHER", to: "+1 415 555 0100",
			want: authz.Decision{Allowed: true, Reason: "typed destination +14155550100 allowed; destination billing open to every requester"},
		},
		{
			name: "two names at one address: both allow",
			user: "UALICE", to: "sip:desk@floor.sip.plivo.com",
			want:      authz.Decision{Allowed: true, Reason: "typed destination sip:desk@floor.sip.plivo.com allowed; destination deska allowed to user UALICE; destination deskb allowed to user UALICE"},
			wantCalls: map[string]int{"SLEADS": 1},
		},
		{
			name: "two names at one address: the first refuses",
			user: "ULEAD", to: "sip:desk@floor.sip.plivo.com",
			want: whoRefusal("sip:desk@floor.sip.plivo.com", "deska", "ULEAD: not listed in who", false),
		},
		{
			name: "two names at one address: the second refuses",
			user: "USUPER", to: "sip:desk@floor.sip.plivo.com:5060",
			want:      whoRefusal("sip:desk@floor.sip.plivo.com:5060", "deskb", "USUPER: not listed in who", false),
			wantCalls: map[string]int{"SLEADS": 1},
		},
		{
			name: "a group of the name's who cannot be looked up: refused (fail closed)",
			user: "USUPER", to: "sip:broken@floor.sip.plivo.com",
			want:      whoRefusal("sip:broken@floor.sip.plivo.com", "broken", "USUPER: group lookup failed: SBROKEN: slack: ratelimited", true),
			wantCalls: map[string]int{"SBROKEN": 1},
		},
		{
			name: "the typed policy refuses first: a name's address at another domain",
			user: "USUPER", to: "sip:vip@pbx.example.com",
			want: refused("typed SIP host pbx.example.com is not one of typed.sip_domains floor.sip.plivo.com",
				authz.DestinationRefusal{Rule: authz.RuleSIPDomain, Wanted: []string{"floor.sip.plivo.com"}, Host: "pbx.example.com"}),
		},
		{
			name: "the typed policy refuses first: a name's number outside the prefixes",
			user: "USUPER", to: "+44 20 7946 0958",
			want: refused("typed number +442079460958 starts with none of typed.prefixes +1",
				authz.DestinationRefusal{Rule: authz.RulePrefix, Wanted: []string{"+1"}}),
		},
		{
			name: "an address no name has: the typed policy alone",
			user: "UOTHER", to: "sip:alice@floor.sip.plivo.com",
			want: allowed("sip:alice@floor.sip.plivo.com"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGroups(map[string][]string{"SLEADS": {"ULEAD", "UALICE"}})
			f.fail("SBROKEN", errRateLimited)
			a := authz.New(authz.Policy{Users: []string{"USUPER"}}, f)
			got := authz.MayTypeDestinationIn(t.Context(), a, tt.user, endpoint(t, tt.to), dir)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MayTypeDestinationIn(%s, %s) =\n%s\nwant\n%s", tt.user, tt.to, show(got), show(tt.want))
			}
			if (got.Denial == authz.DeniedDestination) != (got.Destination != nil) {
				t.Errorf("Denial %q with Destination %v: a destination refusal must say which rule, and only it", got.Denial, got.Destination)
			}
			if calls := f.allCalls(); !maps.Equal(calls, tt.wantCalls) {
				t.Errorf("group lookups = %v, want %v", calls, tt.wantCalls)
			}
		})
	}
}

// refuseNames is a DestinationPolicy that allows any typed destination
// and refuses every name without saying which rule, as a caller's wrapper
// might.
type refuseNames struct{}

func (refuseNames) MayUseDestination(context.Context, string, directory.Destination) authz.Decision {
	return authz.Decision{Denial: authz.DeniedDestination, Reason: "held"}
}

func (refuseNames) MayTypeDestination(_ context.Context, _ string, to plivo.Endpoint, _ directory.Typed) authz.Decision {
	return authz.Decision{Allowed: true, Reason: "typed " + to.String()}
}

// MayTypeDestinationIn asks the policy it is given, and names the
// destination even when that policy's refusal does not say which rule.
func TestMayTypeDestinationInAsksThePolicy(t *testing.T) {
	dir, err := directory.Parse([]byte(namedFloor))
	if err != nil {
		t.Fatal(err)
	}
	got := authz.MayTypeDestinationIn(t.Context(), refuseNames{}, "USUPER", endpoint(t, "sip:vip@floor.sip.plivo.com"), dir)
	want := refused("typed destination sip:vip@floor.sip.plivo.com is the address of destination vip; held",
		authz.DestinationRefusal{Rule: authz.RuleWho, Name: "vip"})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MayTypeDestinationIn =\n%s\nwant\n%s", show(got), show(want))
	}
}
