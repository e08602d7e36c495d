package authz

import (
	"context"
	"fmt"
	"strings"

	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// DeniedDestination is a refusal by the destination policy (SPEC §13.1):
// a named destination whose `who` leaves the user out, or a typed
// destination the directory's `typed` policy does not allow.
const DeniedDestination Denial = DeniedLookup + 1

// MayUseDestination reports whether userID may send calls to the named
// destination d: anyone allowed to transfer when d has no `who`, else only
// the users and the members of the groups it lists. A group that cannot be
// looked up counts as not having the user (fail closed).
func (a *Authorizer) MayUseDestination(ctx context.Context, userID string, d directory.Destination) Decision {
	if len(d.Who) == 0 {
		return Decision{Allowed: true, Reason: fmt.Sprintf("destination %s open to every requester", d.Name)}
	}
	if ok, why := a.within(ctx, userID, d.Who); !ok {
		return denied(DeniedDestination, "destination %s not allowed to user %s: %s", d.Name, userID, why)
	}
	return Decision{Allowed: true, Reason: fmt.Sprintf("destination %s allowed to user %s", d.Name, userID)}
}

// MayTypeDestination reports whether userID may send calls to an endpoint
// typed rather than chosen by name, under the directory's typed policy t.
//
// TODO(issue 11): prefixes, deny_prefixes and sip_domains.
func (a *Authorizer) MayTypeDestination(ctx context.Context, userID string, to plivo.Endpoint, t directory.Typed) Decision {
	if d := a.MayType(ctx, userID, t); !d.Allowed {
		return d
	}
	return Decision{Allowed: true, Reason: fmt.Sprintf("typed destination %s allowed", to)}
}

// MayType reports whether userID may type destinations at all under the
// directory's typed policy t (allow, then who), before any endpoint is
// known: what the form and /transfer list offer. MayTypeDestination checks
// this first.
func (a *Authorizer) MayType(ctx context.Context, userID string, t directory.Typed) Decision {
	if !t.Allow {
		return denied(DeniedDestination, "typed destinations not allowed by the directory")
	}
	if len(t.Who) > 0 {
		if ok, why := a.within(ctx, userID, t.Who); !ok {
			return denied(DeniedDestination, "typed destinations not allowed to user %s: %s", userID, why)
		}
	}
	return Decision{Allowed: true, Reason: fmt.Sprintf("typed destinations allowed to user %s", userID)}
}

// within reports whether userID is one of ids or in a group among them,
// and when not, why.
func (a *Authorizer) within(ctx context.Context, userID string, ids []string) (bool, string) {
	var failed []string
	for _, id := range ids {
		if id == userID {
			return true, ""
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
			return true, ""
		}
	}
	if len(failed) > 0 {
		return false, "group lookup failed: " + strings.Join(failed, "; ")
	}
	return false, "not listed in who"
}
