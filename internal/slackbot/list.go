package slackbot

import (
	"context"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/wording"
)

// destinationRefusalText tells the requester why the destination was
// refused and what they may do instead.
func (b *Bot) destinationRefusalText(j *request, d authz.Decision) string {
	if lookupFailed(d) {
		return wording.DestinationUnchecked
	}
	ctx, cancel := b.slackCtx()
	defer cancel()
	usable, _ := b.authorizer.UsableDestinations(ctx, j.userID, j.dir)
	return wording.DestinationRefusal(j.spec, d, j.dir, usable)
}

// lookupFailed reports whether a refusal came from a group that Slack
// could not be asked about, rather than from the policy.
func lookupFailed(d authz.Decision) bool {
	return d.Denial == authz.DeniedLookup || (d.Destination != nil && d.Destination.LookupFailed)
}

// listNow answers /transfer list in the ack when that needs no call to
// Slack: the requester is allowed or refused by id or channel, and every
// who list that concerns them is decided by ids alone.
func (b *Bot) listNow(j *request) (string, bool) {
	cached := b.authorizer.CacheOnly()
	d := cached.Decide(context.Background(), j.userID, j.channelID)
	switch {
	case d.Allowed:
	case d.Denial == authz.DeniedChannel || d.Denial == authz.DeniedUser:
		return wording.Refusal(d), true
	default:
		return "", false // a group must be looked up
	}
	if j.dir != nil && !authz.DecidableByID(j.dir, j.userID) {
		return "", false
	}
	return listFor(context.Background(), cached, j), true
}

// list answers /transfer list after the ack, when groups must be looked up.
func (b *Bot) list(j *request) {
	ctx, cancel := b.slackCtx()
	defer cancel()
	if d := b.authorizer.Decide(ctx, j.userID, j.channelID); !d.Allowed {
		b.tell(j, wording.Refusal(d))
		return
	}
	b.tell(j, listFor(ctx, b.authorizer, j))
}

// listFor is the answer to /transfer list for an allowed requester, by
// what p says they may use.
func listFor(ctx context.Context, p policy, j *request) string {
	if j.dir == nil {
		return wording.NoDirectoryList
	}
	usable, _ := p.UsableDestinations(ctx, j.userID, j.dir)
	return wording.List(j.dir, j.userID, usable, p.MayType(ctx, j.userID, j.dir.Typed()).Allowed)
}
