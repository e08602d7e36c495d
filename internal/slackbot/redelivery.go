package slackbot

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack/socketmode"
	"go.uber.org/zap"
)

// Redelivered requests are recognised for seenTTL: Slack retries an
// unacknowledged envelope within minutes. The store bounds how many ids it
// keeps in memory.
const seenTTL = 30 * time.Minute

// storeTimeout bounds one store call of a request. The Redis store bounds
// its own calls more tightly (and falls back to memory); this is the
// outer limit.
const storeTimeout = time.Second

// dedupeKeys are the keys that make a redelivered request recognisable: its
// envelope id, and the id Slack gave the interaction itself (a trigger id or
// a view id), which a redelivery under a new envelope id still carries.
func dedupeKeys(envelopeID, kind, id string) []string {
	keys := []string{"envelope:" + envelopeID}
	if id != "" {
		keys = append(keys, kind+":"+id)
	}
	return keys
}

// firstTime records the request's keys in the store and reports whether
// none of them was there: false means that this envelope, or this
// interaction under another envelope, was taken before, by this replica or
// another, and the caller stops without a word. It runs after the ack, in
// the request's own goroutine, since the store may be remote. A store that
// cannot answer does not stop a request: a transfer is worth more than a
// perfect dedupe.
func (b *Bot) firstTime(req *socketmode.Request, kind, id string) bool {
	keys := dedupeKeys(req.EnvelopeID, kind, id)
	// The keys are checked side by side: with Redis, one round trip's wait
	// instead of two.
	first := make([]bool, len(keys))
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(b.work, storeTimeout)
			defer cancel()
			var err error
			if first[i], err = b.store.FirstSeen(ctx, key, seenTTL); err != nil {
				b.log.Warn("redelivery check failed; taking the request as new", zap.String("key", key), zap.Error(err))
				first[i] = true
			}
		})
	}
	wg.Wait()
	var seen []string
	for i, key := range keys {
		if !first[i] {
			seen = append(seen, key)
		}
	}
	if len(seen) == 0 {
		return true
	}
	seenKind, _, _ := strings.Cut(seen[0], ":")
	b.metrics.Redelivered(seenKind)
	b.log.Info("redelivered request ignored", zap.String("envelope_id", req.EnvelopeID), zap.Strings("seen", seen),
		zap.Int("retry_attempt", req.RetryAttempt), zap.String("retry_reason", req.RetryReason))
	return false
}
