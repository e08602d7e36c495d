package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
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
	// ProbeInterval is how often Run pings the remote store while the
	// replica runs on memory. Default 2 s.
	ProbeInterval time.Duration
	// LogEvery is the least time between two "falling back" error lines
	// (and between two "back on Redis" lines). Default 1 min.
	LogEvery time.Duration
	// OnFallback, when set, is called once each time the store falls back
	// from the remote store to memory (for a counter).
	OnFallback func()
	// Log receives the fallback and recovery lines. Default: none.
	Log *zap.Logger
}

// Fallback is a remote (Redis) store that keeps working when the remote
// does not answer: availability of transfers wins over cross-replica
// dedupe (SPEC §14).
//
// While the remote answers, every operation goes to it, each bounded by
// Timeout. The first error (other than the caller's own context ending)
// switches the store to its in-memory store: that call and every later one
// is served from memory without waiting on the remote, the switch is logged
// at error level (at most once per LogEvery) and OnFallback is called. Run,
// in the background, then pings the remote every ProbeInterval and switches
// back as soon as it answers. Without Run the store stays on memory once it
// has fallen back.
//
// The in-memory store also keeps what this replica did on the remote, so
// that an outage does not make it forget its own work: FirstSeen records
// every key locally too and answers "seen" when either store has the key,
// and claims taken on the remote are mirrored locally and checked first
// (Release lets go of both). What other replicas recorded while this one
// was on memory, and what it recorded in memory, is not shared: a
// redelivery that reaches another replica during an outage may run twice,
// and rate counts made on memory are per replica.
type Fallback struct {
	remote Remote
	local  *Memory
	cfg    FallbackConfig

	down atomic.Bool
	wake chan struct{} // tells Run to probe

	logMu              sync.Mutex
	lastDown, lastUp   time.Time
	downsSinceLastLine int
}

var _ Store = (*Fallback)(nil)

// NewFallback returns a store that uses remote while it answers and local
// otherwise. Start Run for it to go back to the remote after a failure.
func NewFallback(remote Remote, local *Memory, cfg FallbackConfig) *Fallback {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 300 * time.Millisecond
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = 2 * time.Second
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	return &Fallback{remote: remote, local: local, cfg: cfg, wake: make(chan struct{}, 1)}
}

// OnRemote reports whether the store is using the remote store now (false:
// it serves from memory).
func (f *Fallback) OnRemote() bool { return !f.down.Load() }

// Run checks the remote store at once (a replica started while Redis is
// unreachable runs on memory from the start), then, whenever the store has
// fallen back, pings the remote every ProbeInterval until it answers, and
// switches back. It returns when ctx ends.
func (f *Fallback) Run(ctx context.Context) {
	f.probe(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		}
		t := time.NewTicker(f.cfg.ProbeInterval)
		for f.down.Load() {
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			f.probe(ctx)
		}
		t.Stop()
	}
}

// probe pings the remote store and switches to it, or away from it.
func (f *Fallback) probe(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	err := f.remote.Ping(pctx)
	switch {
	case ctx.Err() != nil:
	case err != nil:
		f.fail(err)
	case f.down.CompareAndSwap(true, false):
		f.logMu.Lock()
		defer f.logMu.Unlock()
		if now := time.Now(); now.Sub(f.lastUp) >= f.cfg.LogEvery {
			f.lastUp = now
			f.cfg.Log.Warn("store: Redis answers again; shared state is back on Redis")
		}
	}
}

// fail switches the store to memory after the remote failed with err.
func (f *Fallback) fail(err error) {
	if !f.down.CompareAndSwap(false, true) {
		return
	}
	if f.cfg.OnFallback != nil {
		f.cfg.OnFallback()
	}
	select {
	case f.wake <- struct{}{}:
	default:
	}
	f.logMu.Lock()
	defer f.logMu.Unlock()
	f.downsSinceLastLine++
	now := time.Now()
	if now.Sub(f.lastDown) < f.cfg.LogEvery {
		return
	}
	f.cfg.Log.Error("store: Redis is not answering; this replica runs on its in-memory store "+
		"(redelivered requests are recognised only when they reach this replica) until Redis answers again",
		zap.Error(err), zap.Int("fallbacks", f.downsSinceLastLine), zap.Duration("probe_every", f.cfg.ProbeInterval))
	f.lastDown, f.downsSinceLastLine = now, 0
}

// onRemote runs op on the remote store, bounded by Timeout, unless the
// store is on memory. It reports whether op succeeded; when it did not,
// the caller serves from memory. It returns an error only when ctx itself
// ended.
func (f *Fallback) onRemote(ctx context.Context, op func(context.Context) error) (bool, error) {
	if f.down.Load() {
		return false, nil
	}
	rctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	err := op(rctx)
	if err == nil {
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
	ok, err := f.onRemote(ctx, func(ctx context.Context) (err error) {
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
// during an outage, or mirrored from the remote) is checked first.
func (f *Fallback) Claim(ctx context.Context, key string, holder Holder, ttl time.Duration) (Holder, bool, error) {
	if _, err := encodeHolder(holder); err != nil {
		return Holder{}, false, err
	}
	if cur, ok := f.local.holderOf(key); ok && cur.Token != holder.Token {
		return cur, false, nil
	}
	var cur Holder
	var got bool
	ok, err := f.onRemote(ctx, func(ctx context.Context) (err error) {
		cur, got, err = f.remote.Claim(ctx, key, holder, ttl)
		return err
	})
	if err != nil {
		return Holder{}, false, err
	}
	if !ok {
		return f.local.Claim(ctx, key, holder, ttl)
	}
	if got {
		if _, _, err := f.local.Claim(ctx, key, holder, ttl); err != nil {
			return Holder{}, false, err
		}
	}
	return cur, got, nil
}

// Release implements Store, in memory and on the remote store.
func (f *Fallback) Release(ctx context.Context, key string, holder Holder, keep time.Duration) error {
	if err := f.local.Release(ctx, key, holder, keep); err != nil {
		return err
	}
	_, err := f.onRemote(ctx, func(ctx context.Context) error {
		return f.remote.Release(ctx, key, holder, keep)
	})
	return err
}

// Take implements Store.
func (f *Fallback) Take(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if window <= 0 {
		return false, 0, errBadWindow
	}
	var took bool
	var retry time.Duration
	ok, err := f.onRemote(ctx, func(ctx context.Context) (err error) {
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
	ok, err := f.onRemote(ctx, func(ctx context.Context) error {
		return f.remote.Untake(ctx, key, window)
	})
	if err != nil || ok {
		return err
	}
	return f.local.Untake(ctx, key, window)
}
