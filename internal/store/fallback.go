package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Remote is a shared store that can be asked whether it answers: Redis.
type Remote interface {
	Store
	Ping(ctx context.Context) error
}

// FallbackConfig configures a Fallback store; zero values take the
// defaults.
type FallbackConfig struct {
	// Timeout bounds each call to the remote store. Default 300 ms.
	Timeout time.Duration
	// ProbeInterval is how often Run pings the remote store while it is
	// failing. Default 1 s.
	ProbeInterval time.Duration
	// OutageAfter is how long the remote store must have been failing,
	// from the first failure this replica saw, before claims are taken
	// from memory. Until then a claim that the remote cannot answer fails
	// with ErrUnchecked. Default 10 s.
	OutageAfter time.Duration
	// LogEvery is the least time between two lines of each kind ("not
	// answering", "outage", "answers again"). Default 1 min.
	LogEvery time.Duration
	// OnFallback, when set, is called once each time claims move from the
	// remote store to memory (an outage of OutageAfter or more), for a
	// counter.
	OnFallback func()
	// Log receives the fallback and recovery lines. Default: none.
	Log *zap.Logger
}

// ErrUnchecked is Claim's error while the remote store is failing but has
// not failed for OutageAfter yet: nobody can say whether another replica
// holds the claim, so it is neither granted nor refused.
var ErrUnchecked = errors.New("store: Redis is not answering, so the claim cannot be checked")

// Fallback is a remote (Redis) store that keeps the floor working when the
// remote does not answer, without letting a hiccup hand out a claim that
// another replica holds.
//
// While the remote answers, every operation goes to it, each bounded by
// Timeout. The first error (other than the caller's own context ending)
// marks the remote as failing, from that moment:
//   - FirstSeen, Take and Untake are served from memory at once: a
//     redelivery that reaches another replica meanwhile may run its checks
//     twice, and rates are counted per replica; both are brakes, not locks.
//   - Remember and Recent too: a Home tab then lists the transfers this
//     replica remembered (it keeps every one in memory as well), not those
//     of the others; what is remembered meanwhile does not reach Redis.
//   - Claim still asks the remote (a claim is one call per transfer); when
//     the remote cannot answer, it fails with ErrUnchecked, and the bot
//     refuses the transfer: fail closed.
//   - Once the remote has been failing for OutageAfter, by Run's probes or
//     by a claim, the store is in an outage: claims are taken from memory
//     too (the floor keeps transferring; exclusion holds within this
//     replica only), logged at error level and counted by OnFallback.
//
// Run, in the background, pings the remote every ProbeInterval while it is
// failing and switches everything back as soon as it answers.
//
// The in-memory store also keeps what this replica did on the remote, so
// that an outage does not make it forget its own work: FirstSeen records
// every key locally too and answers "seen" when either store has the key,
// claims taken on the remote are mirrored locally and checked first
// (Release lets go of both), and recent transfers are remembered in both.
type Fallback struct {
	remote Remote
	local  *Memory
	cfg    FallbackConfig

	mu           sync.Mutex
	failingSince time.Time // zero while the remote answers
	outage       bool      // claims are served from memory
	wake         chan struct{}

	lastFailing, lastOutage, lastUp time.Time // when each line was last logged
}

var _ Store = (*Fallback)(nil)

// NewFallback returns a store that uses remote while it answers and local
// otherwise. Start Run for it to go back to the remote after a failure.
func NewFallback(remote Remote, local *Memory, cfg FallbackConfig) *Fallback {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 300 * time.Millisecond
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = time.Second
	}
	if cfg.OutageAfter <= 0 {
		cfg.OutageAfter = 10 * time.Second
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	return &Fallback{remote: remote, local: local, cfg: cfg, wake: make(chan struct{}, 1)}
}

// OnRemote reports whether every operation goes to the remote store now
// (false: it is failing, and some or all are served from memory).
func (f *Fallback) OnRemote() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failingSince.IsZero()
}

// InOutage reports whether claims are served from memory: the remote has
// been failing for OutageAfter or more.
func (f *Fallback) InOutage() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.outage
}

// Run checks the remote store at once (a replica started while Redis is
// unreachable counts its failure from then), then, whenever the remote is
// failing, pings it every ProbeInterval until it answers. It returns when
// ctx ends.
func (f *Fallback) Run(ctx context.Context) {
	f.probe(ctx)
	for {
		if f.OnRemote() {
			select {
			case <-ctx.Done():
				return
			case <-f.wake:
			}
		}
		t := time.NewTimer(f.cfg.ProbeInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		f.probe(ctx)
	}
}

// probe pings the remote store and records what it found.
func (f *Fallback) probe(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	err := f.remote.Ping(pctx)
	switch {
	case ctx.Err() != nil:
	case err != nil:
		f.fail(err)
	default:
		f.recover()
	}
}

// recover records that the remote answered: everything goes to it again.
func (f *Fallback) recover() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failingSince.IsZero() {
		return
	}
	wasOutage := f.outage
	f.failingSince, f.outage = time.Time{}, false
	if now := time.Now(); now.Sub(f.lastUp) >= f.cfg.LogEvery {
		f.lastUp = now
		f.cfg.Log.Warn("store: Redis answers again; shared state is back on Redis", zap.Bool("after_outage", wasOutage))
	}
}

// fail records that the remote failed with err, and reports whether the
// store is now in an outage (claims from memory).
func (f *Fallback) fail(err error) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if f.failingSince.IsZero() {
		f.failingSince = now
		select {
		case f.wake <- struct{}{}:
		default:
		}
		if now.Sub(f.lastFailing) >= f.cfg.LogEvery {
			f.lastFailing = now
			f.cfg.Log.Warn("store: Redis is not answering; redelivery checks and rates run on this replica's memory, "+
				"and transfers are refused while nobody can check their call's claim",
				zap.Error(err), zap.String("claims_from_memory_after", f.cfg.OutageAfter.String()))
		}
	}
	if f.outage || now.Sub(f.failingSince) < f.cfg.OutageAfter {
		return f.outage
	}
	f.outage = true
	if f.cfg.OnFallback != nil {
		f.cfg.OnFallback()
	}
	if now.Sub(f.lastOutage) >= f.cfg.LogEvery {
		f.lastOutage = now
		f.cfg.Log.Error("store: Redis has not answered for "+now.Sub(f.failingSince).Round(time.Second).String()+
			"; this replica takes call claims from its own memory until Redis answers again "+
			"(two replicas may then both transfer one call, and redelivered requests are recognised only when they reach this replica)",
			zap.Error(err), zap.String("probe_every", f.cfg.ProbeInterval.String()))
	}
	return true
}

// failing reports whether the remote is failing now.
func (f *Fallback) failing() bool { return !f.OnRemote() }

// onRemote runs op on the remote store, bounded by Timeout, unless the
// remote is failing and force is false. It reports whether op succeeded;
// when it did not, the caller serves from memory or refuses. It returns an
// error only when ctx itself ended.
func (f *Fallback) onRemote(ctx context.Context, force bool, op func(context.Context) error) (bool, error) {
	if !force && f.failing() {
		return false, nil
	}
	rctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	err := op(rctx)
	if err == nil {
		if force {
			f.recover()
		}
		return true, nil
	}
	if ctx.Err() != nil {
		return false, fmt.Errorf("store: %w", ctx.Err())
	}
	f.fail(err)
	return false, nil
}

// FirstSeen implements Store: the key is new only when neither this
// replica's memory nor the remote store has it. Memory is looked at before
// the remote is asked and written after it answered: of two callers
// racing on one key, the one that wins on the remote then cannot find the
// other's record in memory.
func (f *Fallback) FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	seenHere := f.local.seenNow(key)
	var remote bool
	ok, err := f.onRemote(ctx, false, func(ctx context.Context) (err error) {
		remote, err = f.remote.FirstSeen(ctx, key, ttl)
		return err
	})
	if err != nil {
		return false, err
	}
	local, _ := f.local.FirstSeen(ctx, key, ttl)
	if !ok {
		return local, nil
	}
	return remote && !seenHere, nil
}

// Claim implements Store. A claim this replica holds in memory (taken
// during an outage, or mirrored from the remote) is checked first. While
// the remote is failing, short of an outage, a claim it cannot answer is
// ErrUnchecked, never granted from memory.
func (f *Fallback) Claim(ctx context.Context, key string, holder Holder, ttl time.Duration) (Holder, bool, error) {
	if _, err := encodeHolder(holder); err != nil {
		return Holder{}, false, err
	}
	if cur, ok := f.local.holderOf(key); ok && cur.Token != holder.Token {
		return cur, false, nil
	}
	var cur Holder
	var got bool
	var remoteErr error
	ok, err := f.onRemote(ctx, !f.InOutage(), func(ctx context.Context) error {
		cur, got, remoteErr = f.remote.Claim(ctx, key, holder, ttl)
		return remoteErr
	})
	if err != nil {
		return Holder{}, false, err
	}
	if !ok {
		if !f.InOutage() {
			return Holder{}, false, fmt.Errorf("%w: %w", ErrUnchecked, remoteErr)
		}
		return f.local.Claim(ctx, key, holder, ttl)
	}
	if got {
		if _, _, err := f.local.Claim(ctx, key, holder, ttl); err != nil {
			return Holder{}, false, err
		}
	}
	return cur, got, nil
}

// Release implements Store, in memory and on the remote store. A claim
// taken on the remote must go there too, so a release asks the remote even
// while it is failing, short of an outage.
func (f *Fallback) Release(ctx context.Context, key string, holder Holder, keep time.Duration) error {
	if err := f.local.Release(ctx, key, holder, keep); err != nil {
		return err
	}
	var remoteErr error
	ok, err := f.onRemote(ctx, !f.InOutage(), func(ctx context.Context) error {
		remoteErr = f.remote.Release(ctx, key, holder, keep)
		return remoteErr
	})
	if err != nil {
		return err
	}
	if !ok && remoteErr != nil {
		return fmt.Errorf("release on Redis (it expires there by itself): %w", remoteErr)
	}
	return nil
}

// Take implements Store.
func (f *Fallback) Take(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if window <= 0 {
		return false, 0, errBadWindow
	}
	var took bool
	var retry time.Duration
	ok, err := f.onRemote(ctx, false, func(ctx context.Context) (err error) {
		took, retry, err = f.remote.Take(ctx, key, limit, window)
		return err
	})
	if err != nil {
		return false, 0, err
	}
	if !ok {
		return f.local.Take(ctx, key, limit, window)
	}
	return took, retry, nil
}

// Untake implements Store.
func (f *Fallback) Untake(ctx context.Context, key string, window time.Duration) error {
	if window <= 0 {
		return errBadWindow
	}
	ok, err := f.onRemote(ctx, false, func(ctx context.Context) error {
		return f.remote.Untake(ctx, key, window)
	})
	if err != nil || ok {
		return err
	}
	return f.local.Untake(ctx, key, window)
}

// Remember implements Store: on the remote store while it answers, and in
// memory always, so that the list survives a Redis failure on this
// replica.
func (f *Fallback) Remember(ctx context.Context, userID string, t Recent, keep int, ttl time.Duration) error {
	// Checked here, so that a bad argument is not taken for Redis failing;
	// and a zero At is set once, for both stores.
	t, keep, err := checkRemember(f.local.now(), userID, t, keep, ttl)
	if err != nil {
		return err
	}
	if _, err := f.onRemote(ctx, false, func(ctx context.Context) error {
		return f.remote.Remember(ctx, userID, t, keep, ttl)
	}); err != nil {
		return err
	}
	return f.local.Remember(ctx, userID, t, keep, ttl)
}

// Recent implements Store: the remote store's list while it answers,
// memory's otherwise.
func (f *Fallback) Recent(ctx context.Context, userID string, n int) ([]Recent, error) {
	if !isUserID(userID) {
		return nil, errBadRecentUser
	}
	if n <= 0 {
		return nil, nil
	}
	var list []Recent
	ok, err := f.onRemote(ctx, false, func(ctx context.Context) (err error) {
		list, err = f.remote.Recent(ctx, userID, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return f.local.Recent(ctx, userID, n)
	}
	return list, nil
}
