package authz_test

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// endpoint parses s, which the test expects to be valid.
func endpoint(t testing.TB, s string) plivo.Endpoint {
	t.Helper()
	e, err := plivo.ParseEndpoint(s)
	if err != nil {
		t.Fatalf("ParseEndpoint(%q): %v", s, err)
	}
	return e
}

// allowed is the Decision of a typed destination the policy lets through.
func allowed(to string) authz.Decision {
	return authz.Decision{Allowed: true, Reason: "typed destination " + to + " allowed"}
}

// refused is a refusal by the destination policy.
func refused(reason string, r authz.DestinationRefusal) authz.Decision {
	return authz.Decision{Denial: authz.DeniedDestination, Reason: reason, Destination: &r}
}

// The policy of the README example: leads may type numbers within +1 and
// +44, except premium ranges, and SIP addresses on the floor's domain.
var leads = directory.Typed{
	Allow:        true,
	Who:          []string{"S1"},
	Prefixes:     []string{"+1", "+44"},
	DenyPrefixes: []string{"+1900", "+1976"},
	SIPDomains:   []string{"floor.sip.plivo.com"},
}

var mayTypeTests = []struct {
	name      string
	user      string
	to        string // parsed with plivo.ParseEndpoint
	typed     directory.Typed
	want      authz.Decision
	wantCalls map[string]int // group lookups made
}{
	// typed.allow
	{
		name: "allow false refuses a number",
		user: "U1", to: "+14155550100",
		typed: directory.Typed{},
		want:  refused("typed destinations not allowed by the directory", authz.DestinationRefusal{Rule: authz.RuleTypedNotAllowed}),
	},
	{
		name: "allow false refuses a SIP address",
		user: "U1", to: "sip:alice@floor.sip.plivo.com",
		typed: directory.Typed{SIPDomains: []string{"floor.sip.plivo.com"}},
		want:  refused("typed destinations not allowed by the directory", authz.DestinationRefusal{Rule: authz.RuleTypedNotAllowed}),
	},
	{
		name: "allow false wins over lists that would allow, without a lookup",
		user: "U1", to: "+14155550100",
		typed: directory.Typed{Who: []string{"S1"}, Prefixes: []string{"+1"}},
		want:  refused("typed destinations not allowed by the directory", authz.DestinationRefusal{Rule: authz.RuleTypedNotAllowed}),
	},
	{
		name: "allow alone: any number",
		user: "U7", to: "+861012345678",
		typed: directory.Typed{Allow: true},
		want:  allowed("+861012345678"),
	},
	{
		name: "allow alone: any SIP address",
		user: "U7", to: "sip:bob@anywhere.example",
		typed: directory.Typed{Allow: true},
		want:  allowed("sip:bob@anywhere.example"),
	},

	// typed.who
	{
		name: "who: listed by id, no lookup",
		user: "U9", to: "+14155550100",
		typed: directory.Typed{Allow: true, Who: []string{"U9", "SFAIL"}},
		want:  allowed("+14155550100"),
	},
	{
		name: "who: not listed",
		user: "U2", to: "+14155550100",
		typed: directory.Typed{Allow: true, Who: []string{"U1"}},
		want:  refused("typed destinations not allowed to user U2: not listed in who", authz.DestinationRefusal{Rule: authz.RuleTypedWho}),
	},
	{
		name: "who: in a group",
		user: "U2", to: "+14155550100",
		typed:     directory.Typed{Allow: true, Who: []string{"S1"}},
		want:      allowed("+14155550100"),
		wantCalls: map[string]int{"S1": 1},
	},
	{
		name: "who: in no group",
		user: "U3", to: "+14155550100",
		typed:     directory.Typed{Allow: true, Who: []string{"U1", "S1"}},
		want:      refused("typed destinations not allowed to user U3: not listed in who", authz.DestinationRefusal{Rule: authz.RuleTypedWho}),
		wantCalls: map[string]int{"S1": 1},
	},
	{
		name: "who: group lookup fails: refused (fail closed)",
		user: "U1", to: "+14155550100",
		typed:     directory.Typed{Allow: true, Who: []string{"SFAIL"}},
		want:      refused("typed destinations not allowed to user U1: group lookup failed: SFAIL: slack: ratelimited", authz.DestinationRefusal{Rule: authz.RuleTypedWho, LookupFailed: true}),
		wantCalls: map[string]int{"SFAIL": 1},
	},
	{
		name: "who: one group fails, another has the user",
		user: "U3", to: "+14155550100",
		typed:     directory.Typed{Allow: true, Who: []string{"SFAIL", "S2"}},
		want:      allowed("+14155550100"),
		wantCalls: map[string]int{"SFAIL": 1, "S2": 1},
	},
	{
		name: "who: one group lacks the user, another fails",
		user: "U3", to: "+14155550100",
		typed:     directory.Typed{Allow: true, Who: []string{"S1", "SFAIL"}},
		want:      refused("typed destinations not allowed to user U3: group lookup failed: SFAIL: slack: ratelimited", authz.DestinationRefusal{Rule: authz.RuleTypedWho, LookupFailed: true}),
		wantCalls: map[string]int{"S1": 1, "SFAIL": 1},
	},
	{
		name: "who is checked before the number",
		user: "U3", to: "+19005551234",
		typed:     leads,
		want:      refused("typed destinations not allowed to user U3: not listed in who", authz.DestinationRefusal{Rule: authz.RuleTypedWho}),
		wantCalls: map[string]int{"S1": 1},
	},

	// typed.prefixes
	{
		name: "prefix +1 matches a +1 number",
		user: "U1", to: "+14155550100",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+1"}},
		want:  allowed("+14155550100"),
	},
	{
		name: "prefix +1 matches +12…",
		user: "U1", to: "+12125550100",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+1"}},
		want:  allowed("+12125550100"),
	},
	{
		name: "prefix +12 matches +12…",
		user: "U1", to: "+12125550100",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+12"}},
		want:  allowed("+12125550100"),
	},
	{
		name: "prefix +12 does not match +14…",
		user: "U1", to: "+14155550100",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+12"}},
		want:  refused("typed number +14155550100 starts with none of typed.prefixes +12", authz.DestinationRefusal{Rule: authz.RulePrefix, Wanted: []string{"+12"}}),
	},
	{
		name: "prefix of another country",
		user: "U1", to: "+442079460958",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+1"}},
		want:  refused("typed number +442079460958 starts with none of typed.prefixes +1", authz.DestinationRefusal{Rule: authz.RulePrefix, Wanted: []string{"+1"}}),
	},
	{
		name: "second of two prefixes",
		user: "U1", to: "+44 20 7946 0958",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+1", "+44"}},
		want:  allowed("+442079460958"),
	},
	{
		name: "+4 is not +44's country only",
		user: "U1", to: "+4930123456",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+1", "+44"}},
		want:  refused("typed number +4930123456 starts with none of typed.prefixes +1, +44", authz.DestinationRefusal{Rule: authz.RulePrefix, Wanted: []string{"+1", "+44"}}),
	},
	{
		name: "prefix equal to the whole number",
		user: "U1", to: "+14155550100",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+14155550100"}},
		want:  allowed("+14155550100"),
	},
	{
		name: "prefix longer than the number",
		user: "U1", to: "+14155550100",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+141555501001"}},
		want:  refused("typed number +14155550100 starts with none of typed.prefixes +141555501001", authz.DestinationRefusal{Rule: authz.RulePrefix, Wanted: []string{"+141555501001"}}),
	},
	{
		name: "digits-form prefix never matches: prefixes are E.164",
		user: "U1", to: "+14155550100",
		typed: directory.Typed{Allow: true, Prefixes: []string{"1"}},
		want:  refused("typed number +14155550100 starts with none of typed.prefixes 1", authz.DestinationRefusal{Rule: authz.RulePrefix, Wanted: []string{"1"}}),
	},
	{
		name: "number typed with separators is matched normalised",
		user: "U1", to: "<tel:+19005551234|+1 (900) 555-1234>",
		typed: directory.Typed{Allow: true, DenyPrefixes: []string{"+1900"}},
		want:  refused("typed number +19005551234 starts with +1900, one of typed.deny_prefixes", authz.DestinationRefusal{Rule: authz.RuleDenyPrefix, Matched: "+1900"}),
	},

	// typed.deny_prefixes
	{
		name: "deny alone refuses its range",
		user: "U1", to: "+19005551234",
		typed: directory.Typed{Allow: true, DenyPrefixes: []string{"+1900"}},
		want:  refused("typed number +19005551234 starts with +1900, one of typed.deny_prefixes", authz.DestinationRefusal{Rule: authz.RuleDenyPrefix, Matched: "+1900"}),
	},
	{
		name: "deny alone allows the rest",
		user: "U1", to: "+14155550100",
		typed: directory.Typed{Allow: true, DenyPrefixes: []string{"+1900"}},
		want:  allowed("+14155550100"),
	},
	{
		name: "deny longer than allow wins",
		user: "U1", to: "+19765551234",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+1"}, DenyPrefixes: []string{"+1900", "+1976"}},
		want:  refused("typed number +19765551234 starts with +1976, one of typed.deny_prefixes", authz.DestinationRefusal{Rule: authz.RuleDenyPrefix, Matched: "+1976"}),
	},
	{
		name: "deny shorter than allow wins",
		user: "U1", to: "+19005551234",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+1900"}, DenyPrefixes: []string{"+19"}},
		want:  refused("typed number +19005551234 starts with +19, one of typed.deny_prefixes", authz.DestinationRefusal{Rule: authz.RuleDenyPrefix, Matched: "+19"}),
	},
	{
		name: "deny equal to allow wins",
		user: "U1", to: "+19005551234",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+1900"}, DenyPrefixes: []string{"+1900"}},
		want:  refused("typed number +19005551234 starts with +1900, one of typed.deny_prefixes", authz.DestinationRefusal{Rule: authz.RuleDenyPrefix, Matched: "+1900"}),
	},
	{
		name: "deny reported before a prefix miss",
		user: "U1", to: "+19005551234",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+44"}, DenyPrefixes: []string{"+1900"}},
		want:  refused("typed number +19005551234 starts with +1900, one of typed.deny_prefixes", authz.DestinationRefusal{Rule: authz.RuleDenyPrefix, Matched: "+1900"}),
	},
	{
		name: "first matching deny in file order is named",
		user: "U1", to: "+19005551234",
		typed: directory.Typed{Allow: true, DenyPrefixes: []string{"+1976", "+19", "+1900"}},
		want:  refused("typed number +19005551234 starts with +19, one of typed.deny_prefixes", authz.DestinationRefusal{Rule: authz.RuleDenyPrefix, Matched: "+19"}),
	},
	{
		name: "allowed inside prefixes, outside deny",
		user: "U1", to: "+19095551234",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+1"}, DenyPrefixes: []string{"+1900", "+1976"}},
		want:  allowed("+19095551234"),
	},

	// An empty list is no list.
	{
		name: "empty prefixes: any number",
		user: "U1", to: "+861012345678",
		typed: directory.Typed{Allow: true, Prefixes: []string{}},
		want:  allowed("+861012345678"),
	},
	{
		name: "nil prefixes: any number",
		user: "U1", to: "+861012345678",
		typed: directory.Typed{Allow: true, Prefixes: nil},
		want:  allowed("+861012345678"),
	},
	{
		name: "empty deny_prefixes: nothing denied",
		user: "U1", to: "+19005551234",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+1"}, DenyPrefixes: []string{}},
		want:  allowed("+19005551234"),
	},
	{
		name: "empty sip_domains: any host",
		user: "U1", to: "sip:bob@anywhere.example",
		typed: directory.Typed{Allow: true, SIPDomains: []string{}},
		want:  allowed("sip:bob@anywhere.example"),
	},
	{
		name: "empty who: anyone allowed to transfer",
		user: "U7", to: "+14155550100",
		typed: directory.Typed{Allow: true, Who: []string{}},
		want:  allowed("+14155550100"),
	},

	// typed.sip_domains
	{
		name: "SIP host in the list",
		user: "U1", to: "sip:alice@floor.sip.plivo.com",
		typed: directory.Typed{Allow: true, SIPDomains: []string{"floor.sip.plivo.com"}},
		want:  allowed("sip:alice@floor.sip.plivo.com"),
	},
	{
		name: "SIP host typed in upper case",
		user: "U1", to: "SIP:alice@FLOOR.Sip.Plivo.COM",
		typed: directory.Typed{Allow: true, SIPDomains: []string{"floor.sip.plivo.com"}},
		want:  allowed("sip:alice@floor.sip.plivo.com"),
	},
	{
		name: "SIP domain listed in upper case",
		user: "U1", to: "sip:alice@floor.sip.plivo.com",
		typed: directory.Typed{Allow: true, SIPDomains: []string{"Floor.SIP.plivo.com"}},
		want:  allowed("sip:alice@floor.sip.plivo.com"),
	},
	{
		name: "SIP host with a port",
		user: "U1", to: "sip:alice@floor.sip.plivo.com:5060",
		typed: directory.Typed{Allow: true, SIPDomains: []string{"floor.sip.plivo.com"}},
		want:  allowed("sip:alice@floor.sip.plivo.com:5060"),
	},
	{
		name: "SIP domain listed with another port",
		user: "U1", to: "sip:alice@floor.sip.plivo.com:5060",
		typed: directory.Typed{Allow: true, SIPDomains: []string{"floor.sip.plivo.com:5080"}},
		want:  allowed("sip:alice@floor.sip.plivo.com:5060"),
	},
	{
		name: "SIP host not in the list",
		user: "U1", to: "sip:alice@pbx.example.com:5060",
		typed: directory.Typed{Allow: true, SIPDomains: []string{"floor.sip.plivo.com", "backup.example.com"}},
		want: refused("typed SIP host pbx.example.com is not one of typed.sip_domains floor.sip.plivo.com, backup.example.com",
			authz.DestinationRefusal{Rule: authz.RuleSIPDomain, Wanted: []string{"floor.sip.plivo.com", "backup.example.com"}, Host: "pbx.example.com"}),
	},
	{
		name: "subdomain is not covered",
		user: "U1", to: "sip:alice@x.floor.sip.plivo.com",
		typed: directory.Typed{Allow: true, SIPDomains: []string{"floor.sip.plivo.com"}},
		want: refused("typed SIP host x.floor.sip.plivo.com is not one of typed.sip_domains floor.sip.plivo.com",
			authz.DestinationRefusal{Rule: authz.RuleSIPDomain, Wanted: []string{"floor.sip.plivo.com"}, Host: "x.floor.sip.plivo.com"}),
	},
	{
		name: "parent domain is not covered",
		user: "U1", to: "sip:alice@sip.plivo.com",
		typed: directory.Typed{Allow: true, SIPDomains: []string{"floor.sip.plivo.com"}},
		want: refused("typed SIP host sip.plivo.com is not one of typed.sip_domains floor.sip.plivo.com",
			authz.DestinationRefusal{Rule: authz.RuleSIPDomain, Wanted: []string{"floor.sip.plivo.com"}, Host: "sip.plivo.com"}),
	},
	{
		name: "domain as a prefix of a longer host is not covered",
		user: "U1", to: "sip:alice@floor.sip.plivo.com.evil.example",
		typed: directory.Typed{Allow: true, SIPDomains: []string{"floor.sip.plivo.com"}},
		want: refused("typed SIP host floor.sip.plivo.com.evil.example is not one of typed.sip_domains floor.sip.plivo.com",
			authz.DestinationRefusal{Rule: authz.RuleSIPDomain, Wanted: []string{"floor.sip.plivo.com"}, Host: "floor.sip.plivo.com.evil.example"}),
	},
	{
		name: "domain in the user part does not count",
		user: "U1", to: "sip:floor.sip.plivo.com@evil.example",
		typed: directory.Typed{Allow: true, SIPDomains: []string{"floor.sip.plivo.com"}},
		want: refused("typed SIP host evil.example is not one of typed.sip_domains floor.sip.plivo.com",
			authz.DestinationRefusal{Rule: authz.RuleSIPDomain, Wanted: []string{"floor.sip.plivo.com"}, Host: "evil.example"}),
	},
	{
		name: "IPv4 host with a port",
		user: "U1", to: "sip:alice@192.0.2.10:5060",
		typed: directory.Typed{Allow: true, SIPDomains: []string{"192.0.2.10"}},
		want:  allowed("sip:alice@192.0.2.10:5060"),
	},
	{
		name: "IPv6 host with a port, domain without brackets",
		user: "U1", to: "sip:alice@[2001:DB8::1]:5060",
		typed: directory.Typed{Allow: true, SIPDomains: []string{"2001:db8::1"}},
		want:  allowed("sip:alice@[2001:db8::1]:5060"),
	},
	{
		name: "IPv6 host, domain in brackets",
		user: "U1", to: "sip:alice@[2001:db8::1]",
		typed: directory.Typed{Allow: true, SIPDomains: []string{"[2001:DB8::1]"}},
		want:  allowed("sip:alice@[2001:db8::1]"),
	},
	{
		name: "IPv6 host not in the list",
		user: "U1", to: "sip:alice@[2001:db8::2]:5060",
		typed: directory.Typed{Allow: true, SIPDomains: []string{"2001:db8::1"}},
		want: refused("typed SIP host 2001:db8::2 is not one of typed.sip_domains 2001:db8::1",
			authz.DestinationRefusal{Rule: authz.RuleSIPDomain, Wanted: []string{"2001:db8::1"}, Host: "2001:db8::2"}),
	},

	// Each list judges its own kind of endpoint only.
	{
		name: "only sip_domains given: a number is allowed",
		user: "U1", to: "+861012345678",
		typed: directory.Typed{Allow: true, SIPDomains: []string{"floor.sip.plivo.com"}},
		want:  allowed("+861012345678"),
	},
	{
		name: "only sip_domains and deny_prefixes given: a denied number is refused",
		user: "U1", to: "+19005551234",
		typed: directory.Typed{Allow: true, DenyPrefixes: []string{"+1900"}, SIPDomains: []string{"floor.sip.plivo.com"}},
		want:  refused("typed number +19005551234 starts with +1900, one of typed.deny_prefixes", authz.DestinationRefusal{Rule: authz.RuleDenyPrefix, Matched: "+1900"}),
	},
	{
		name: "only prefixes given: a SIP address at any host is allowed",
		user: "U1", to: "sip:bob@anywhere.example",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+1"}},
		want:  allowed("sip:bob@anywhere.example"),
	},
	{
		name: "deny_prefixes do not read a SIP user part as a number",
		user: "U1", to: "sip:+19005551234@gateway.example",
		typed: directory.Typed{Allow: true, DenyPrefixes: []string{"+1900"}},
		want:  allowed("sip:+19005551234@gateway.example"),
	},
	{
		name: "prefixes do not judge a SIP address that sip_domains allows",
		user: "U1", to: "sip:+861012345678@floor.sip.plivo.com",
		typed: directory.Typed{Allow: true, Prefixes: []string{"+1"}, SIPDomains: []string{"floor.sip.plivo.com"}},
		want:  allowed("sip:+861012345678@floor.sip.plivo.com"),
	},

	// Every field at once: the README's policy for leads.
	{
		name: "leads: a lead types a US number",
		user: "U2", to: "+14155550100",
		typed: leads, want: allowed("+14155550100"), wantCalls: map[string]int{"S1": 1},
	},
	{
		name: "leads: a lead types a UK number",
		user: "U1", to: "+442079460958",
		typed: leads, want: allowed("+442079460958"), wantCalls: map[string]int{"S1": 1},
	},
	{
		name: "leads: a lead types a premium number",
		user: "U1", to: "+19765551234",
		typed:     leads,
		want:      refused("typed number +19765551234 starts with +1976, one of typed.deny_prefixes", authz.DestinationRefusal{Rule: authz.RuleDenyPrefix, Matched: "+1976"}),
		wantCalls: map[string]int{"S1": 1},
	},
	{
		name: "leads: a lead types a French number",
		user: "U1", to: "+33142685300",
		typed:     leads,
		want:      refused("typed number +33142685300 starts with none of typed.prefixes +1, +44", authz.DestinationRefusal{Rule: authz.RulePrefix, Wanted: []string{"+1", "+44"}}),
		wantCalls: map[string]int{"S1": 1},
	},
	{
		name: "leads: a lead types the floor's SIP address",
		user: "U1", to: "sip:queue@floor.sip.plivo.com",
		typed: leads, want: allowed("sip:queue@floor.sip.plivo.com"), wantCalls: map[string]int{"S1": 1},
	},
	{
		name: "leads: a lead types another SIP address",
		user: "U1", to: "sip:queue@pbx.example.com",
		typed: leads,
		want: refused("typed SIP host pbx.example.com is not one of typed.sip_domains floor.sip.plivo.com",
			authz.DestinationRefusal{Rule: authz.RuleSIPDomain, Wanted: []string{"floor.sip.plivo.com"}, Host: "pbx.example.com"}),
		wantCalls: map[string]int{"S1": 1},
	},
	{
		name: "leads: someone else types an allowed number",
		user: "U3", to: "+14155550100",
		typed:     leads,
		want:      refused("typed destinations not allowed to user U3: not listed in who", authz.DestinationRefusal{Rule: authz.RuleTypedWho}),
		wantCalls: map[string]int{"S1": 1},
	},
}

func TestMayTypeDestination(t *testing.T) {
	for _, tt := range mayTypeTests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTestGroups()
			a := authz.New(authz.Policy{Users: []string{"U9"}}, f)
			to := endpoint(t, tt.to)

			got := a.MayTypeDestination(t.Context(), tt.user, to, tt.typed)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MayTypeDestination(%s, %s) =\n%s\nwant\n%s", tt.user, to, show(got), show(tt.want))
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

// show renders d with its refusal, which %+v shows only as a pointer.
func show(d authz.Decision) string {
	r := "nil"
	if d.Destination != nil {
		r = fmt.Sprintf("%+v", *d.Destination)
	}
	return fmt.Sprintf("{Allowed:%t Denial:%q Reason:%q Destination:%s}", d.Allowed, d.Denial, d.Reason, r)
}

// TestMayTypeDestinationWantedIsACopy checks that the caller may keep or
// change the list a refusal names without changing the directory's.
func TestMayTypeDestinationWantedIsACopy(t *testing.T) {
	a := authz.New(authz.Policy{Users: []string{"U9"}}, nil)
	typed := directory.Typed{Allow: true, Prefixes: []string{"+1", "+44"}, SIPDomains: []string{"floor.sip.plivo.com"}}

	for _, to := range []string{"+33142685300", "sip:a@pbx.example.com"} {
		d := a.MayTypeDestination(t.Context(), "U9", endpoint(t, to), typed)
		if d.Destination == nil || len(d.Destination.Wanted) == 0 {
			t.Fatalf("MayTypeDestination(%s) = %s, want a refusal naming a list", to, show(d))
		}
		d.Destination.Wanted[0] = "changed"
	}
	if !slices.Equal(typed.Prefixes, []string{"+1", "+44"}) || !slices.Equal(typed.SIPDomains, []string{"floor.sip.plivo.com"}) {
		t.Errorf("the directory's lists changed through a refusal: prefixes %q, sip_domains %q", typed.Prefixes, typed.SIPDomains)
	}
}

func TestMayUseDestination(t *testing.T) {
	billing := func(who ...string) directory.Destination {
		return directory.Destination{Name: "billing", Label: "Billing queue", Who: who}
	}
	tests := []struct {
		name      string
		user      string
		dest      directory.Destination
		want      authz.Decision
		wantCalls map[string]int
	}{
		{
			name: "no who: open to every requester",
			user: "U7", dest: billing(),
			want: authz.Decision{Allowed: true, Reason: "destination billing open to every requester"},
		},
		{
			name: "empty who: open to every requester",
			user: "U7", dest: billing([]string{}...),
			want: authz.Decision{Allowed: true, Reason: "destination billing open to every requester"},
		},
		{
			name: "listed by id, no lookup",
			user: "U9", dest: billing("SFAIL", "U9"),
			want:      authz.Decision{Allowed: true, Reason: "destination billing allowed to user U9"},
			wantCalls: map[string]int{"SFAIL": 1},
		},
		{
			name: "listed first by id, no lookup at all",
			user: "U9", dest: billing("U9", "SFAIL"),
			want: authz.Decision{Allowed: true, Reason: "destination billing allowed to user U9"},
		},
		{
			name: "in a group",
			user: "U2", dest: billing("S1"),
			want:      authz.Decision{Allowed: true, Reason: "destination billing allowed to user U2"},
			wantCalls: map[string]int{"S1": 1},
		},
		{
			name: "not listed",
			user: "U3", dest: billing("U1", "S1"),
			want:      refused("destination billing not allowed to user U3: not listed in who", authz.DestinationRefusal{Rule: authz.RuleWho, Name: "billing"}),
			wantCalls: map[string]int{"S1": 1},
		},
		{
			name: "group lookup fails: refused (fail closed)",
			user: "U1", dest: billing("SFAIL"),
			want:      refused("destination billing not allowed to user U1: group lookup failed: SFAIL: slack: ratelimited", authz.DestinationRefusal{Rule: authz.RuleWho, LookupFailed: true, Name: "billing"}),
			wantCalls: map[string]int{"SFAIL": 1},
		},
		{
			name: "two groups fail",
			user: "U1", dest: billing("SFAIL", "SFAIL2"),
			want: refused("destination billing not allowed to user U1: group lookup failed: SFAIL: slack: ratelimited; SFAIL2: slack: internal_error",
				authz.DestinationRefusal{Rule: authz.RuleWho, LookupFailed: true, Name: "billing"}),
			wantCalls: map[string]int{"SFAIL": 1, "SFAIL2": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTestGroups()
			a := authz.New(authz.Policy{Users: []string{"U9"}}, f)
			got := a.MayUseDestination(t.Context(), tt.user, tt.dest)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MayUseDestination(%s, %s) =\n%s\nwant\n%s", tt.user, tt.dest.Name, show(got), show(tt.want))
			}
			if calls := f.allCalls(); !maps.Equal(calls, tt.wantCalls) {
				t.Errorf("group lookups = %v, want %v", calls, tt.wantCalls)
			}
		})
	}
}

// TestDestinationLookupFailsWithoutGroupSource checks that an Authorizer
// made without a GroupSource refuses anyone who could only be allowed
// through a group.
func TestDestinationLookupFailsWithoutGroupSource(t *testing.T) {
	a := authz.New(authz.Policy{Users: []string{"U9"}}, nil)
	d := a.MayTypeDestination(t.Context(), "U1", endpoint(t, "+14155550100"), directory.Typed{Allow: true, Who: []string{"S1"}})
	want := refused("typed destinations not allowed to user U1: group lookup failed: S1: no group source configured",
		authz.DestinationRefusal{Rule: authz.RuleTypedWho, LookupFailed: true})
	if !reflect.DeepEqual(d, want) {
		t.Errorf("MayTypeDestination = %s, want %s", show(d), show(want))
	}
}

func TestRuleString(t *testing.T) {
	tests := []struct {
		r    authz.Rule
		want string
	}{
		{authz.RuleNone, ""},
		{authz.RuleWho, "who"},
		{authz.RuleTypedNotAllowed, "typed_not_allowed"},
		{authz.RuleTypedWho, "typed_who"},
		{authz.RuleDenyPrefix, "deny_prefix"},
		{authz.RulePrefix, "prefix"},
		{authz.RuleSIPDomain, "sip_domain"},
		{authz.Rule(42), "Rule(42)"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("Rule(%d).String() = %q, want %q", int(tt.r), got, tt.want)
		}
	}
	if got := authz.DeniedDestination.String(); got != "destination" {
		t.Errorf("DeniedDestination.String() = %q, want %q", got, "destination")
	}
}

// FuzzPrefixMatcher checks the prefix rules on any number the parser
// accepts and any lists, including prefixes no directory would hold: a
// number is refused by a deny prefix iff strings.HasPrefix of its E.164 form
// says so, whatever prefixes says; else by prefixes iff they are given and
// none is a prefix of it. It never panics.
func FuzzPrefixMatcher(f *testing.F) {
	for _, tt := range mayTypeTests {
		if strings.HasPrefix(tt.to, "sip:") || strings.HasPrefix(tt.to, "SIP:") {
			continue
		}
		f.Add(tt.to, strings.Join(tt.typed.Prefixes, ","), strings.Join(tt.typed.DenyPrefixes, ","))
	}
	f.Add("+19005551234", "+1", "+1900")
	f.Add("+19005551234", "+1900", "+19")
	f.Add("+14155550100", ",", "")
	f.Add("+14155550100", "", ",")
	f.Add("+14155550100", "+1\x00", "+")
	f.Add("+1 415 555 0100", "+1415555010", "14155550100")

	a := authz.New(authz.Policy{Users: []string{"U9"}}, nil)
	f.Fuzz(func(t *testing.T, number, prefixes, deny string) {
		to, err := plivo.ParseEndpoint(number)
		if err != nil || to.IsSIP() {
			return
		}
		e164 := to.String()
		if !strings.HasPrefix(e164, "+") {
			t.Fatalf("Endpoint.String() = %q for a number: not the E.164 form", e164)
		}
		typed := directory.Typed{Allow: true, Prefixes: list(prefixes), DenyPrefixes: list(deny)}
		got := a.MayTypeDestination(t.Context(), "U9", to, typed)

		var want authz.Decision
		denyAt := slices.IndexFunc(typed.DenyPrefixes, func(p string) bool { return strings.HasPrefix(e164, p) })
		switch {
		case denyAt >= 0:
			if got.Allowed || got.Destination == nil || got.Destination.Rule != authz.RuleDenyPrefix {
				t.Fatalf("%s with deny_prefixes %q = %s: a deny must win", e164, typed.DenyPrefixes, show(got))
			}
			want = refused(got.Reason, authz.DestinationRefusal{Rule: authz.RuleDenyPrefix, Matched: typed.DenyPrefixes[denyAt]})
		case len(typed.Prefixes) > 0 && !slices.ContainsFunc(typed.Prefixes, func(p string) bool { return strings.HasPrefix(e164, p) }):
			want = refused(got.Reason, authz.DestinationRefusal{Rule: authz.RulePrefix, Wanted: typed.Prefixes})
		default:
			want = allowed(e164)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s with prefixes %q, deny_prefixes %q = %s, want %s", e164, typed.Prefixes, typed.DenyPrefixes, show(got), show(want))
		}
		if !got.Allowed && got.Reason == "" {
			t.Fatalf("%s refused with no reason", e164)
		}
	})
}

// list splits a fuzzed comma-separated list; "" is no list.
func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
