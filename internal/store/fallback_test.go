package store

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// replica is one Fallback store as a bot replica holds it, with Run going.
type replica struct {
	*Fallback
	fallbacks atomic.Int64
	logs      *observer.ObservedLogs
}

func newReplica(t *testing.T, addr string, cfg FallbackConfig) *replica {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	r := &replica{logs: logs}
	cfg.Log = zap.New(core)
	cfg.OnFallback = func() { r.fallbacks.Add(1) }
	if cfg.ProbeInterval == 0 {
		cfg.ProbeInterval = 20 * time.Millisecond
	}
	remote := NewRedis(RedisConfig{Options: &redis.Options{Addr: addr}})
	t.Cleanup(func() { remote.Close() })
	r.Fallback = NewFallback(remote, NewMemory(MemoryConfig{}), cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return r
}

func (r *replica) firstSeen(t *testing.T, key string) bool {
	t.Helper()
	first, err := r.FirstSeen(ctx(t), key, time.Minute)
	if err != nil {
		t.Fatalf("FirstSeen(%s): %v", key, err)
	}
	return first
}

func (r *replica) errorLines() []observer.LoggedEntry {
	return r.logs.FilterLevelExact(zapcore.ErrorLevel).All()
}

// waitUntil polls cond with a deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
}

// Two replicas share what they see while Redis answers; when it stops,
// each keeps working on its own memory, says so once, and shares again
// once Redis is back.
func TestFallbackWhileRedisIsDownAndBack(t *testing.T) {
	mr := miniredis.RunT(t)
	a := newReplica(t, mr.Addr(), FallbackConfig{})
	b := newReplica(t, mr.Addr(), FallbackConfig{})

	if !a.firstSeen(t, "k1") || b.firstSeen(t, "k1") {
		t.Fatal("k1: replicas do not share what they saw while Redis is up")
	}
	owner := Holder{Token: "before", User: "U1", Channel: "C1"}
	if _, ok, err := a.Claim(ctx(t), "call", owner, time.Minute); !ok || err != nil {
		t.Fatalf("claim on Redis: %v %v", ok, err)
	}

	mr.Close()
	if !a.firstSeen(t, "k2") {
		t.Error("k2 refused while Redis is down: the replica should run on memory")
	}
	if a.OnRemote() || a.fallbacks.Load() != 1 {
		t.Errorf("after a failed call: on remote %v, %d fallbacks counted; want memory, 1", a.OnRemote(), a.fallbacks.Load())
	}
	if a.firstSeen(t, "k2") {
		t.Error("k2 seen twice on the same replica during the outage")
	}
	if !b.firstSeen(t, "k2") {
		t.Error("k2 on the other replica: during an outage nothing is shared, so it is new there")
	}
	lines := a.errorLines()
	if len(lines) != 1 || !strings.Contains(lines[0].Message, "Redis is not answering") {
		t.Fatalf("error lines after the fallback: %v; want one saying Redis is not answering", lines)
	}
	if c := lines[0].ContextMap(); c["error"] == nil {
		t.Errorf("fallback line without the error: %v", c)
	}
	// The claim taken on Redis still binds on this replica: it was mirrored.
	if cur, ok, _ := a.Claim(ctx(t), "call", Holder{Token: "during"}, time.Minute); ok || cur != owner {
		t.Errorf("second claim during the outage = %+v, %v; want refused, held by %+v", cur, ok, owner)
	}

	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "replica a back on Redis", a.OnRemote)
	waitUntil(t, "replica b back on Redis", b.OnRemote)
	if n := len(a.logs.FilterMessageSnippet("is back on Redis").All()); n != 1 {
		t.Errorf("%d lines saying Redis answers again, want 1", n)
	}
	if !a.firstSeen(t, "k3") || b.firstSeen(t, "k3") {
		t.Error("k3: replicas do not share again once Redis is back")
	}
	if a.firstSeen(t, "k2") {
		t.Error("k2, seen during the outage, is new again once Redis is back")
	}

	mr.Close() // a second outage within the minute: counted, not logged again
	a.firstSeen(t, "k4")
	if a.fallbacks.Load() != 2 || len(a.errorLines()) != 1 {
		t.Errorf("second outage: %d fallbacks counted (want 2), %d error lines (want 1: at most one a minute)",
			a.fallbacks.Load(), len(a.errorLines()))
	}
}

// A replica started while Redis is unreachable runs on memory from the
// start and says so.
func TestFallbackRedisUnreachableAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := newReplica(t, addr, FallbackConfig{})
	waitUntil(t, "the fallback at start", func() bool { return r.fallbacks.Load() == 1 })
	if len(r.errorLines()) != 1 {
		t.Errorf("error lines: %v", r.errorLines())
	}
	if !r.firstSeen(t, "k") || r.firstSeen(t, "k") {
		t.Error("on memory, FirstSeen does not dedupe")
	}
}

// A Redis that accepts connections and never answers costs one bounded
// call, not the client's own timeouts.
func TestFallbackBoundsEachCall(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() }) // read nothing, answer nothing
		}
	}()
	remote := NewRedis(RedisConfig{Options: &redis.Options{Addr: ln.Addr().String()}})
	t.Cleanup(func() { remote.Close() })
	var fallbacks atomic.Int64
	f := NewFallback(remote, NewMemory(MemoryConfig{}), FallbackConfig{
		Timeout: 100 * time.Millisecond, OnFallback: func() { fallbacks.Add(1) },
	})

	start := time.Now()
	first, err := f.FirstSeen(ctx(t), "k", time.Minute)
	// The client's own read timeout is 2 s: well under it means the
	// store's bound cut the call short.
	if elapsed := time.Since(start); elapsed > 1500*time.Millisecond {
		t.Errorf("FirstSeen against a silent Redis took %v; each call should be bounded by the store's timeout", elapsed)
	}
	if !first || err != nil || fallbacks.Load() != 1 {
		t.Errorf("FirstSeen = %v, %v with %d fallbacks; want true from memory, 1 fallback", first, err, fallbacks.Load())
	}
}

// The caller's own context ending is not Redis failing.
func TestFallbackCallerCancelled(t *testing.T) {
	mr := miniredis.RunT(t)
	r := newReplica(t, mr.Addr(), FallbackConfig{})
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.FirstSeen(cctx, "k", time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("FirstSeen with a cancelled context = %v, want context.Canceled", err)
	}
	if !r.OnRemote() || r.fallbacks.Load() != 0 {
		t.Error("a cancelled caller made the store fall back")
	}
}
