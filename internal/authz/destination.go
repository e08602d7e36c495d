package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// DeniedDestination is a refusal by the destination policy: a named
// destination whose `who` leaves the user out, chosen by name or typed as
// its address, or a typed destination the directory's `typed` policy does
// not allow.
const DeniedDestination Denial = DeniedLookup + 1

// Rule is the rule of the destination policy that refused a destination.
type Rule int

// The rules of the destination policy, as DestinationRefusal names them.
const (
	RuleNone            Rule = iota // not refused by the destination policy
	RuleWho                         // a named destination's who leaves the requester out
	RuleTypedNotAllowed             // typed.allow is false: directory names only
	RuleTypedWho                    // typed.who leaves the requester out
	RuleDenyPrefix                  // the number starts with one of typed.deny_prefixes
	RulePrefix                      // the number starts with none of typed.prefixes
	RuleSIPDomain                   // the SIP host is not one of typed.sip_domains
)

// String returns r for logs: "", "who", "typed_not_allowed", "typed_who",
// "deny_prefix", "prefix" or "sip_domain".
func (r Rule) String() string {
	switch r {
	case RuleNone:
		return ""
	case RuleWho:
		return "who"
	case RuleTypedNotAllowed:
		return "typed_not_allowed"
	case RuleTypedWho:
		return "typed_who"
	case RuleDenyPrefix:
		return "deny_prefix"
	case RulePrefix:
		return "prefix"
	case RuleSIPDomain:
		return "sip_domain"
	}
	return fmt.Sprintf("Rule(%d)", int(r))
}

// DestinationRefusal says which rule of the destination policy refused a
// destination, with what the requester needs to be told why and what to do
// instead, so that the Slack side never parses a Reason.
type DestinationRefusal struct {
	Rule Rule

	// LookupFailed is set with RuleWho and RuleTypedWho when the requester
	// is not listed by id and a group of who could not be looked up: the
	// requester may well be in it, and trying again later may succeed
	// (fail closed, as in Decide).
	LookupFailed bool

	// Matched is the deny prefix the number starts with (RuleDenyPrefix):
	// the first of typed.deny_prefixes that matches, in file order.
	Matched string

	// Wanted is the list the destination matched none of: typed.prefixes
	// (RulePrefix) or typed.sip_domains (RuleSIPDomain), in file order. It
	// is a copy, which the caller may keep.
	Wanted []string

	// Host is the SIP address's host as compared (RuleSIPDomain): lower
	// case, without port or IPv6 brackets.
	Host string

	// Name is the named destination whose who refused (RuleWho): the one
	// chosen by name, or the one whose address was typed
	// (MayTypeDestinationIn).
	Name string
}

// MayUseDestination reports whether userID may send calls to the named
// destination d: anyone allowed to transfer when d has no `who`, else only
// the users and the members of the groups it lists. A group that cannot be
// looked up counts as not having the user (fail closed).
//
// A refusal has Denial DeniedDestination and a Destination with RuleWho.
func (a *Authorizer) MayUseDestination(ctx context.Context, userID string, d directory.Destination) Decision {
	if len(d.Who) == 0 {
		return Decision{Allowed: true, Reason: fmt.Sprintf("destination %s open to every requester", d.Name)}
	}
	if ok, lookupFailed, why := a.within(ctx, userID, d.Who); !ok {
		dec := denied(DeniedDestination, "destination %s not allowed to user %s: %s", d.Name, userID, why)
		dec.Destination = &DestinationRefusal{Rule: RuleWho, LookupFailed: lookupFailed, Name: d.Name}
		return dec
	}
	return Decision{Allowed: true, Reason: fmt.Sprintf("destination %s allowed to user %s", d.Name, userID)}
}

// MayTypeDestination reports whether userID may send calls to an endpoint
// typed rather than chosen by name, under the directory's typed policy t.
// It knows nothing of the directory's names: a caller with a directory asks
// MayTypeDestinationIn, which also applies the who of the destinations the
// endpoint is the address of.
//
// The rules are checked in this order, and the first that refuses is the
// one reported (Decision.Destination.Rule):
//
//  1. typed.allow must be true (RuleTypedNotAllowed).
//  2. When typed.who is given, userID must be listed in it or be a member of
//     a group it lists; a group that cannot be looked up counts as not
//     having the user (fail closed; RuleTypedWho with LookupFailed). This
//     comes before the endpoint rules so that a requester who may not type
//     destinations at all is told so, rather than which numbers exist.
//  3. A phone number must start with none of typed.deny_prefixes
//     (RuleDenyPrefix), whatever typed.prefixes says: a deny always wins.
//  4. When typed.prefixes is given, a phone number must start with one of
//     them (RulePrefix).
//  5. When typed.sip_domains is given, a SIP address's host must be one of
//     them (RuleSIPDomain).
//
// Numbers are matched in their E.164 form, to.String() ("+14155550100"),
// whatever PLIVO_NUMBER_FORMAT says, with strings.HasPrefix: "+1" matches
// "+14155550100" and "+12125550100", "+12" only the latter. Prefixes are
// compared as given, so the directory must hold them as "+" and digits.
//
// A host matches a SIP domain when they are equal ignoring case, a
// port and IPv6 brackets on either side. There are no wildcards: a domain
// does not cover its subdomains.
//
// Each list restricts only its own kind of endpoint: prefixes and
// deny_prefixes judge numbers only, and sip_domains judges SIP addresses
// only. So when only sip_domains is given, any number is allowed except one
// starting with a deny prefix; when only prefixes is given, a SIP address at
// any host is allowed, and the user part of a SIP address is never read as a
// number. An operator who allows typed numbers and wants SIP addresses
// bounded too (a SIP address can reach a PSTN gateway) must give sip_domains
// as well. An empty list is the same as no list: it allows any endpoint of
// its kind.
func (a *Authorizer) MayTypeDestination(ctx context.Context, userID string, to plivo.Endpoint, t directory.Typed) Decision {
	if d := a.MayType(ctx, userID, t); !d.Allowed {
		return d
	}
	if to.IsSIP() {
		return checkSIPDomain(to, t.SIPDomains)
	}
	return checkPrefixes(to, t.Prefixes, t.DenyPrefixes)
}

// DestinationPolicy is the part of an Authorizer that MayTypeDestinationIn
// asks: *Authorizer, or a caller's wrapper around it.
type DestinationPolicy interface {
	MayUseDestination(ctx context.Context, userID string, d directory.Destination) Decision
	MayTypeDestination(ctx context.Context, userID string, to plivo.Endpoint, t directory.Typed) Decision
}

// MayTypeDestinationIn reports whether userID may send calls to the
// endpoint to, typed rather than chosen by name, in the directory dir. Both
// must allow it: the typed policy (p.MayTypeDestination with dir.Typed()),
// and the who of every named destination whose endpoint is the same
// address, however either is spelled (dir.DestinationsAt). Otherwise
// typing a destination's address, or another spelling of it, would send
// calls where its name is refused.
//
// The typed policy is asked first and its refusal reported as it is. Then
// each named destination at the address, in file order: the first whose
// who leaves userID out is reported with RuleWho and its Name, and with
// LookupFailed when a group of its who could not be looked up.
//
// It takes the policy as p, rather than being a method, so that a caller
// holding its Authorizer behind an interface of its own asks through it.
func MayTypeDestinationIn(ctx context.Context, p DestinationPolicy, userID string, to plivo.Endpoint, dir *directory.Directory) Decision {
	dec := p.MayTypeDestination(ctx, userID, to, dir.Typed())
	if !dec.Allowed {
		return dec
	}
	for _, d := range dir.DestinationsAt(to) {
		named := p.MayUseDestination(ctx, userID, d)
		if !named.Allowed {
			r := DestinationRefusal{Rule: RuleWho}
			if named.Destination != nil {
				r = *named.Destination
			}
			r.Name = d.Name
			named.Destination = &r
			named.Reason = fmt.Sprintf("typed destination %s is the address of destination %s; %s", to, d.Name, named.Reason)
			return named
		}
		dec.Reason += "; " + named.Reason
	}
	return dec
}

// checkPrefixes judges the number to by the prefix rules: refused when it
// starts with a deny prefix, else when prefixes are given and it starts
// with none of them.
func checkPrefixes(to plivo.Endpoint, prefixes, denyPrefixes []string) Decision {
	rule, matched := matchPrefixes(to.String(), prefixes, denyPrefixes)
	switch rule {
	case RuleDenyPrefix:
		dec := denied(DeniedDestination, "typed number %s starts with %s, one of typed.deny_prefixes", to, matched)
		dec.Destination = &DestinationRefusal{Rule: RuleDenyPrefix, Matched: matched}
		return dec
	case RulePrefix:
		dec := denied(DeniedDestination, "typed number %s starts with none of typed.prefixes %s", to, strings.Join(prefixes, ", "))
		dec.Destination = &DestinationRefusal{Rule: RulePrefix, Wanted: slices.Clone(prefixes)}
		return dec
	}
	return Decision{Allowed: true, Reason: fmt.Sprintf("typed destination %s allowed", to)}
}

// MayType reports whether userID may type destinations at all under the
// directory's typed policy t (allow, then who), before any endpoint is
// known: what the form and /transfer list offer. MayTypeDestination checks
// this first.
func (a *Authorizer) MayType(ctx context.Context, userID string, t directory.Typed) Decision {
	if !t.Allow {
		dec := denied(DeniedDestination, "typed destinations not allowed by the directory")
		dec.Destination = &DestinationRefusal{Rule: RuleTypedNotAllowed}
		return dec
	}
	if len(t.Who) > 0 {
		if ok, lookupFailed, why := a.within(ctx, userID, t.Who); !ok {
			dec := denied(DeniedDestination, "typed destinations not allowed to user %s: %s", userID, why)
			dec.Destination = &DestinationRefusal{Rule: RuleTypedWho, LookupFailed: lookupFailed}
			return dec
		}
	}
	return Decision{Allowed: true, Reason: fmt.Sprintf("typed destinations allowed to user %s", userID)}
}

// matchPrefixes is the prefix matcher: it returns RuleDenyPrefix and the
// first deny prefix that number starts with, else RulePrefix when prefixes
// is not empty and number starts with none of them, else RuleNone.
func matchPrefixes(number string, prefixes, denyPrefixes []string) (Rule, string) {
	for _, p := range denyPrefixes {
		if strings.HasPrefix(number, p) {
			return RuleDenyPrefix, p
		}
	}
	if len(prefixes) == 0 {
		return RuleNone, ""
	}
	for _, p := range prefixes {
		if strings.HasPrefix(number, p) {
			return RuleNone, ""
		}
	}
	return RulePrefix, ""
}

// checkSIPDomain judges the SIP address to by typed.sip_domains.
func checkSIPDomain(to plivo.Endpoint, domains []string) Decision {
	host := sipHost(to.String())
	if len(domains) == 0 || slices.ContainsFunc(domains, func(d string) bool { return hostOnly(d) == host }) {
		return Decision{Allowed: true, Reason: fmt.Sprintf("typed destination %s allowed", to)}
	}
	dec := denied(DeniedDestination, "typed SIP host %s is not one of typed.sip_domains %s", host, strings.Join(domains, ", "))
	dec.Destination = &DestinationRefusal{Rule: RuleSIPDomain, Wanted: slices.Clone(domains), Host: host}
	return dec
}

// sipHost returns the host of the SIP URI uri ("sip:user@host[:port]"), as
// hostOnly renders it.
func sipHost(uri string) string {
	return hostOnly(uri[strings.LastIndexByte(uri, '@')+1:])
}

// hostOnly returns host[:port] without the port and without the brackets
// of an IPv6 address, in lower case: "Floor.Example.com:5060" →
// "floor.example.com", "[2001:DB8::1]:5060" → "2001:db8::1".
func hostOnly(hostport string) string {
	host := hostport
	if rest, ok := strings.CutPrefix(hostport, "["); ok {
		host, _, _ = strings.Cut(rest, "]")
	} else if strings.Count(hostport, ":") == 1 {
		host, _, _ = strings.Cut(hostport, ":")
	}
	return strings.ToLower(host)
}

// within reports whether userID is one of ids or in a group among them,
// and when not, whether a group lookup failed and why.
func (a *Authorizer) within(ctx context.Context, userID string, ids []string) (ok, lookupFailed bool, why string) {
	var failed []string
	for _, id := range ids {
		if id == userID {
			return true, false, ""
		}
		if !strings.HasPrefix(id, "S") {
			continue
		}
		m, err := a.members(ctx, id)
		if err != nil {
			failed = append(failed, id+": "+err.Error())
			continue
		}
		if m.has(userID) {
			return true, false, ""
		}
	}
	if len(failed) > 0 {
		return false, true, "group lookup failed: " + strings.Join(failed, "; ")
	}
	return false, false, "not listed in who"
}

// MayTransferTo applies dir's destination policy to a transfer by userID
// to the named destination name, or, when name is "", to the typed
// endpoint to: a named destination's who; for a typed endpoint, the typed
// policy and the who of every destination at the same address (see
// MayTypeDestinationIn). Without a directory there is no policy: checked
// is false and the transfer may go anywhere.
func (a *Authorizer) MayTransferTo(ctx context.Context, userID string, dir *directory.Directory, name string, to plivo.Endpoint) (d Decision, checked bool) {
	if dir == nil {
		return Decision{Allowed: true}, false
	}
	if name != "" {
		dest, _ := dir.Destination(name)
		return a.MayUseDestination(ctx, userID, dest), true
	}
	return MayTypeDestinationIn(ctx, a, userID, to, dir), true
}

// UsableDestinations returns the destinations of dir that userID may send
// calls to, in file order, with their indexes in dir.Destinations(). A
// destination whose who needs a group that cannot be looked up is left
// out (fail closed).
func (a *Authorizer) UsableDestinations(ctx context.Context, userID string, dir *directory.Directory) ([]directory.Destination, []int) {
	var usable []directory.Destination
	var idx []int
	for i, d := range dir.Destinations() {
		if len(d.Who) == 0 || a.MayUseDestination(ctx, userID, d).Allowed {
			usable = append(usable, d)
			idx = append(idx, i)
		}
	}
	return usable, idx
}

// DecidableByID reports whether every who list of dir can be decided for
// userID without looking up a group: it is empty, names the user, or
// names no group.
func DecidableByID(dir *directory.Directory, userID string) bool {
	decidable := func(who []string) bool {
		if len(who) == 0 || slices.Contains(who, userID) {
			return true
		}
		for _, id := range who {
			if strings.HasPrefix(id, "S") {
				return false
			}
		}
		return true
	}
	for _, d := range dir.Destinations() {
		if !decidable(d.Who) {
			return false
		}
	}
	return !dir.Typed().Allow || decidable(dir.Typed().Who)
}
