package store

import (
	"context"
	"errors"
	"fmt"
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

// Two replicas share what they see while Redis answers. One error from
// Redis sends redelivery checks to memory at once, but never grants a
// claim from memory: the claim fails closed (ErrUnchecked) until Redis
// answers again.
func TestFallbackHiccupFailsClaimsClosed(t *testing.T) {
	mr := miniredis.RunT(t)
	a := newReplica(t, mr.Addr(), FallbackConfig{OutageAfter: time.Hour})
	b := newReplica(t, mr.Addr(), FallbackConfig{OutageAfter: time.Hour})

	if !a.firstSeen(t, "k1") || b.firstSeen(t, "k1") {
		t.Fatal("k1: replicas do not share what they saw while Redis is up")
	}
	owner := Holder{Token: "before", User: "U1", Channel: "C1"}
	if _, ok, err := a.Claim(ctx(t), "call", owner, time.Minute); !ok || err != nil {
		t.Fatalf("claim on Redis: %v %v", ok, err)
	}

	mr.SetError("LOADING Redis is loading the dataset in memory")
	other := Holder{Token: "other", User: "U2", Channel: "C2"}
	cur, ok, err := b.Claim(ctx(t), "call", other, time.Minute)
	if ok || !errors.Is(err, ErrUnchecked) {
		t.Fatalf("claim on another replica during a Redis error = %+v, %v, %v; want ErrUnchecked, not granted", cur, ok, err)
	}
	if b.OnRemote() || b.InOutage() {
		t.Errorf("after one error: on remote %v, in outage %v; want failing, not an outage", b.OnRemote(), b.InOutage())
	}
	if !b.firstSeen(t, "k2") || b.firstSeen(t, "k2") {
		t.Error("k2: while Redis fails, redelivery checks run on memory at once")
	}
	if b.fallbacks.Load() != 0 || len(b.errorLines()) != 0 {
		t.Errorf("a hiccup counted %d fallbacks and logged %d error lines; want none (a warning)", b.fallbacks.Load(), len(b.errorLines()))
	}
	if n := len(b.logs.FilterMessageSnippet("Redis is not answering").All()); n != 1 {
		t.Errorf("%d warnings that Redis is not answering, want 1", n)
	}

	mr.SetError("")
	waitUntil(t, "replica b back on Redis", b.OnRemote)
	if cur, ok, err := b.Claim(ctx(t), "call", other, time.Minute); ok || err != nil || cur != owner {
		t.Errorf("claim once Redis answers = %+v, %v, %v; want refused, held by %+v", cur, ok, err, owner)
	}
	if !b.firstSeen(t, "k3") || a.firstSeen(t, "k3") {
		t.Error("k3: replicas do not share again once Redis is back")
	}
}

// A Redis that accepts connections and never answers is a slow answer: the
// claim fails closed after the store's own bound, not the client's timeout.
func TestFallbackSlowAnswerFailsClaimsClosed(t *testing.T) {
	addr := silentRedis(t)
	r := newReplica(t, addr, FallbackConfig{Timeout: 100 * time.Millisecond, OutageAfter: time.Hour})
	_, ok, err := r.Claim(ctx(t), "call", Holder{Token: "t", User: "U1", Channel: "C1"}, time.Minute)
	if ok || !errors.Is(err, ErrUnchecked) || !strings.Contains(fmt.Sprint(err), "timeout") {
		t.Errorf("claim against a silent Redis = %v, %v; want ErrUnchecked after a timeout", ok, err)
	}
}

// Only an outage of OutageAfter moves claims to memory: said at error
// level, counted once, and undone as soon as Redis answers.
func TestFallbackOutageMovesClaimsToMemory(t *testing.T) {
	mr := miniredis.RunT(t)
	a := newReplica(t, mr.Addr(), FallbackConfig{OutageAfter: 300 * time.Millisecond})
	owner := Holder{Token: "before", User: "U1", Channel: "C1"}
	if _, ok, err := a.Claim(ctx(t), "call", owner, time.Minute); !ok || err != nil {
		t.Fatalf("claim on Redis: %v %v", ok, err)
	}
	mr.Close()
	if _, _, err := a.Claim(ctx(t), "other", Holder{Token: "x", User: "U2", Channel: "C2"}, time.Minute); !errors.Is(err, ErrUnchecked) {
		t.Fatalf("claim at the start of the outage: %v, want ErrUnchecked", err)
	}
	waitUntil(t, "the outage, found by the probes", a.InOutage)
	if a.fallbacks.Load() != 1 {
		t.Errorf("%d fallbacks counted, want 1", a.fallbacks.Load())
	}
	lines := a.errorLines()
	if len(lines) != 1 || !strings.Contains(lines[0].Message, "takes call claims from its own memory") || lines[0].ContextMap()["error"] == nil {
		t.Fatalf("error lines in the outage: %v; want one saying claims come from memory, with the error", lines)
	}
	during := Holder{Token: "during", User: "U2", Channel: "C2"}
	if _, ok, err := a.Claim(ctx(t), "other", during, time.Minute); !ok || err != nil {
		t.Errorf("claim in the outage = %v, %v; want granted from memory", ok, err)
	}
	// The claim taken on Redis still binds on this replica: it was mirrored.
	if cur, ok, _ := a.Claim(ctx(t), "call", during, time.Minute); ok || cur != owner {
		t.Errorf("second claim during the outage = %+v, %v; want refused, held by %+v", cur, ok, owner)
	}

	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "back on Redis", a.OnRemote)
	if a.InOutage() {
		t.Error("still in an outage once Redis answers")
	}
	if n := len(a.logs.FilterMessageSnippet("is back on Redis").All()); n != 1 {
		t.Errorf("%d lines saying Redis answers again, want 1", n)
	}
}

// A replica started while Redis is unreachable refuses claims at first,
// then, past OutageAfter, runs on memory and says so.
func TestFallbackRedisUnreachableAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := newReplica(t, addr, FallbackConfig{OutageAfter: 200 * time.Millisecond})
	waitUntil(t, "the outage at start", func() bool { return r.fallbacks.Load() == 1 })
	if len(r.errorLines()) != 1 {
		t.Errorf("error lines: %v", r.errorLines())
	}
	if !r.firstSeen(t, "k") || r.firstSeen(t, "k") {
		t.Error("on memory, FirstSeen does not dedupe")
	}
}

// silentRedis is a server that accepts connections and never answers.
func silentRedis(t *testing.T) string {
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
	return ln.Addr().String()
}

// A Redis that accepts connections and never answers costs one call
// bounded by a timeout, then the answer comes from memory.
func TestFallbackBoundsEachCall(t *testing.T) {
	remote := NewRedis(RedisConfig{Options: &redis.Options{Addr: silentRedis(t)}})
	t.Cleanup(func() { remote.Close() })
	core, logs := observer.New(zapcore.DebugLevel)
	f := NewFallback(remote, NewMemory(MemoryConfig{}), FallbackConfig{Timeout: 100 * time.Millisecond, Log: zap.New(core)})
	first, err := f.FirstSeen(ctx(t), "k", time.Minute)
	if !first || err != nil || f.OnRemote() {
		t.Errorf("FirstSeen = %v, %v (on remote %v); want true from memory", first, err, f.OnRemote())
	}
	lines := logs.FilterMessageSnippet("Redis is not answering").All()
	if len(lines) != 1 || !strings.Contains(fmt.Sprint(lines[0].ContextMap()["error"]), "timeout") {
		t.Errorf("warning lines: %v; want one with the time-out as its error", lines)
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
	if _, _, err := r.Claim(cctx, "k", Holder{Token: "t", User: "U1", Channel: "C1"}, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Claim with a cancelled context = %v, want context.Canceled", err)
	}
	if !r.OnRemote() || r.fallbacks.Load() != 0 {
		t.Error("a cancelled caller made the store fall back")
	}
}
