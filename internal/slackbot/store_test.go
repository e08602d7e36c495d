package slackbot_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/store"
)

// gatedStore is an in-memory store whose FirstSeen waits for open, as a
// slow Redis would (ignoring the caller's deadline, so that the test does
// not depend on how long it is), and reports each call on calls.
type gatedStore struct {
	*store.Memory
	open     chan struct{}
	openOnce sync.Once
	calls    chan string
	fail     atomic.Bool // answer every FirstSeen with an error
}

func newGatedStore(t *testing.T) *gatedStore {
	g := &gatedStore{Memory: store.NewMemory(store.MemoryConfig{}), open: make(chan struct{}), calls: make(chan string, 100)}
	t.Cleanup(g.release)
	return g
}

func (g *gatedStore) release() { g.openOnce.Do(func() { close(g.open) }) }

func (g *gatedStore) FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	g.calls <- key
	<-g.open
	if g.fail.Load() {
		return false, errors.New("redis first-seen: connection refused")
	}
	return g.Memory.FirstSeen(ctx, key, ttl)
}

// the ack comes first; the store is asked after it, in the
// request's own goroutine.
func TestAckDoesNotWaitOnTheStore(t *testing.T) {
	gs := newGatedStore(t)
	h := start(t, options{store: gs})

	env, ack := h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	if ack.Payload != nil {
		t.Errorf("ack %s", ack.Payload)
	}
	select {
	case key := <-gs.calls:
		if !strings.HasPrefix(key, "envelope:"+env.EnvelopeID) && !strings.HasPrefix(key, "trigger:") {
			t.Errorf("store asked about %q", key)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the store was never asked")
	}
	// Acked while the store still holds the request back: nothing has run.
	h.noneOf("chat.postMessage")
	h.noPlivo()

	gs.release()
	tr := h.threadOf(floorChannel, supervisor)
	if !strings.Contains(tr.reply.Arg("text"), "api_id") {
		t.Errorf("reply %q", tr.reply.Arg("text"))
	}
}

// A store that cannot answer does not stop a transfer.
func TestStoreErrorRunsTheRequest(t *testing.T) {
	gs := newGatedStore(t)
	gs.release()
	gs.fail.Store(true)
	h := start(t, options{store: gs})
	h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	h.threadOf(floorChannel, supervisor)
	if n := h.plivo.Count(); n != 1 {
		t.Errorf("Plivo received %d requests, want 1", n)
	}
	if n := len(h.logs.FilterMessage("redelivery check failed; taking the request as new").All()); n == 0 {
		t.Error("the store's failure was not logged")
	}
}
