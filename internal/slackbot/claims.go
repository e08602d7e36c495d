package slackbot

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/store"
	"github.com/coldtransfer/coldtransfer/internal/wording"
)

// The last two checks of a transfer run on the shared
// store, after authorisation and the destination policy, cheapest first:
// the requester's rate, then the call's claim. A refusal at either leaves
// nothing behind: a claim refused gives back the rate it counted.

// Defaults of the claim on a call.
const (
	// defaultClaimHold is how long a claim outlives a transfer that Plivo
	// accepted, or may have: the call is moving, and a second transfer of
	// it now would act on a call in flux.
	defaultClaimHold = 15 * time.Second
	// claimMargin is added to the Plivo timeout for a claim's lifetime, so
	// that the claim of a replica that died mid-transfer expires by itself
	// soon after its Plivo request would have.
	claimMargin = 30 * time.Second
)

// callClaim is a request's claim on its call, renewed while the transfer
// runs, to give up once the outcome is known.
type callClaim struct {
	key    string
	holder store.Holder
	stop   func()       // stops the renewals
	lostTo atomic.Value // store.Holder that took the claim after it lapsed, if any
}

// lost reports whether another request took the claim after it lapsed, and
// which.
func (c *callClaim) lost() (store.Holder, bool) {
	h, ok := c.lostTo.Load().(store.Holder)
	return h, ok
}

// checkRateAndClaim takes the requester's rate and claims the call of j.
// When it refuses, it has filled e's outcome and reason and told the
// requester; otherwise the caller must release the claim.
func (b *Bot) checkRateAndClaim(j *request, e *auditLine) (*callClaim, bool) {
	ctx, cancel := context.WithTimeout(b.work, storeTimeout)
	defer cancel()

	rate := b.limiter.Take(ctx, j.userID)
	if rate.Err != nil {
		// The rate is a brake, not a lock: transfers go on uncounted.
		b.log.Error("rate not checked; transfer allowed", zap.String("requester", j.userID), zap.Error(rate.Err))
	}
	if !rate.Allowed {
		e.outcome = outcome.RateLimited
		e.refuse(rate.Reason)
		b.tell(j, wording.RateLimited(rate.RetryAfter))
		return nil, false
	}

	c := &callClaim{
		// One call, one key: two spellings of one address claim the same.
		key:    "call:" + j.spec.TriggerSource.Canonical(),
		holder: store.Holder{Token: rand.Text(), User: j.userID, Channel: j.channelID},
	}
	current, ok, err := b.store.Claim(ctx, c.key, c.holder, b.claimTTL())
	if ok {
		// The announcement and the reply may each wait out Slack's
		// Retry-After: the claim is renewed until the transfer is over.
		c.stop = store.Keep(b.work, b.store, c.key, c.holder, b.claimTTL(), func(cur store.Holder) {
			c.lostTo.Store(cur)
			b.log.Error("call claim lapsed and was taken by another request", zap.String("call", c.key),
				zap.String("requester", j.userID), zap.String("taken_by", cur.User), zap.String("taken_in", cur.Channel))
		})
		return c, true
	}
	if rate.Counted {
		if err := b.limiter.Untake(ctx, j.userID); err != nil {
			b.log.Warn("rate not given back", zap.String("requester", j.userID), zap.Error(err))
		}
	}
	if err != nil {
		// Never two transfers of one call: without an answer, refuse.
		e.outcome = outcome.ClaimUnchecked
		e.err = fmt.Errorf("claim the call: %w", err)
		e.refuse("call claim not checked")
		b.tell(j, wording.ClaimUnchecked)
		return nil, false
	}
	e.outcome = outcome.CallClaimed
	e.refuse(fmt.Sprintf("call %s claimed by user %s in %s", j.spec.TriggerSource, current.User, current.Channel))
	b.tell(j, wording.CallClaimed(current, j.spec.TriggerSource.String()))
	return nil, false
}

// release gives up the claim: at once when Plivo surely did nothing (a
// refusal, a dry run, an announcement that failed), else after the hold.
func (b *Bot) release(c *callClaim, ended outcome.Outcome) {
	c.stop()
	keep := time.Duration(0)
	if ended.Plivo() {
		keep = b.cfg.ClaimHold
	}
	// The claim must go even when the request was cancelled at shutdown.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.work), storeTimeout)
	defer cancel()
	if err := b.store.Release(ctx, c.key, c.holder, keep); err != nil {
		b.log.Warn("call claim not released; it expires by itself", zap.String("call", c.key),
			zap.Duration("ttl", b.claimTTL()), zap.Error(err))
	}
}

// claimTTL is how long a claim lives unless renewed (every third of it)
// or released: a replica that dies mid-transfer frees the call that long
// after its last renewal, when its Plivo request would have ended.
func (b *Bot) claimTTL() time.Duration { return b.cfg.PlivoTimeout + claimMargin }
