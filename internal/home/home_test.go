package home

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/intake"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
	"github.com/coldtransfer/coldtransfer/internal/store"
)

const supervisor = "USUPER1"

// publisher is a Slack that takes every tab.
type publisher struct {
	mu    sync.Mutex
	views []slack.HomeTabViewRequest
}

func (p *publisher) PublishHome(_ context.Context, _ string, v slack.HomeTabViewRequest) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.views = append(p.views, v)
	return nil
}

func (p *publisher) published() []slack.HomeTabViewRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]slack.HomeTabViewRequest(nil), p.views...)
}

type noLinks struct{}

func (noLinks) ThreadLink(context.Context, string, string) string { return "" }

// newService returns a started Service for a floor where supervisor may
// transfer, and the log it writes; stop it before reading what it did.
func newService(t *testing.T, pub Publisher) (s *Service, logs *observer.ObservedLogs, stop func()) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	az := authz.New(authz.Policy{Users: []string{supervisor}}, nil)
	s = New(Config{}, pub, az, store.NewMemory(store.MemoryConfig{}), noLinks{}, zap.New(core))
	var once sync.Once
	started := s.Start()
	stop = func() { once.Do(started) } // the test's stop, and Cleanup's when it did not
	t.Cleanup(stop)
	return s, logs, stop
}

// results are the results of the "home tab" lines, in the order written.
func results(logs *observer.ObservedLogs) []string {
	var rs []string
	for _, l := range logs.FilterMessage("home tab").All() {
		rs = append(rs, l.ContextMap()["result"].(string))
	}
	return rs
}

// A second open within the interval waits its turn: one publish, and the
// second open says "later".
func TestOpenedPublishesOnceWithinTheInterval(t *testing.T) {
	pub := &publisher{}
	s, logs, stop := newService(t, pub)
	s.Opened(supervisor, "D1", nil)
	s.Opened(supervisor, "D1", nil)
	stop()
	if n := len(pub.published()); n != 1 {
		t.Errorf("views.publish called %d times, want once", n)
	}
	rs := strings.Join(results(logs), " ")
	if !strings.Contains(rs, "published") || !strings.Contains(rs, "later") {
		t.Errorf("home tab results %q, want one published and one later", rs)
	}
}

// A tab that Slack says shows what a build comes to is not published again,
// by any replica; a view of another app's is not taken for ours.
func TestOpenedSkipsWhatTheTabShowsAlready(t *testing.T) {
	first := &publisher{}
	s, _, stop := newService(t, first)
	s.Opened(supervisor, "D1", nil)
	stop()
	shown := first.published()[0].PrivateMetadata

	tests := []struct {
		name   string
		view   *slack.View
		result string
	}{
		{"the same", &slack.View{CallbackID: callbackID, PrivateMetadata: shown}, "unchanged"},
		{"another app's", &slack.View{CallbackID: "other_app", PrivateMetadata: shown}, "published"},
		{"none", nil, "published"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &publisher{}
			s, logs, stop := newService(t, pub)
			s.Opened(supervisor, "D1", tt.view)
			stop()
			if rs := results(logs); len(rs) != 1 || rs[0] != tt.result {
				t.Errorf("home tab results %v, want [%s]", rs, tt.result)
			}
		})
	}
}

// Only a request that named somewhere to send the call is kept, under the
// destination's name when it had one and the agent's Slack id when known.
func TestRecordKeeps(t *testing.T) {
	to, _ := plivo.ParseEndpoint("+14155550100")
	from, _ := plivo.ParseEndpoint("+14152223333")
	named := intake.Spec{To: to, TriggerSource: from, Destination: "billing", Agent: "UAGENT01"}
	typed := intake.Spec{To: to, TriggerSource: from}
	tests := []struct {
		name    string
		o       outcome.Outcome
		spec    intake.Spec
		kept    bool
		dest    string
		agent   string
		outcome string
	}{
		{"transferred by name", outcome.Transferred, named, true, "billing", "UAGENT01", "transferred"},
		{"failed, typed", outcome.Failed, typed, true, "+14155550100", "+14152223333", "failed"},
		{"abort, no destination", outcome.Transferred, intake.Spec{TriggerSource: from, Action: outcome.AbortTransfer}, true, "", "+14152223333", "transferred"},
		{"refused before naming one", outcome.Refused, intake.Spec{}, false, "", "", ""},
		{"invalid", outcome.Invalid, named, false, "", "", ""},
		{"busy", outcome.Busy, named, false, "", "", ""},
		{"no outcome", "", named, false, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{}, &publisher{}, nil, nil, noLinks{}, zap.NewNop())
			s.Record(Transfer{Requester: supervisor, At: time.Unix(1, 0), Channel: "C1", Thread: "1.2", Outcome: tt.o, Spec: tt.spec})
			select {
			case r := <-s.remember:
				if !tt.kept {
					t.Fatalf("kept %+v, want nothing", r)
				}
				if r.user != supervisor || r.rec.Destination != tt.dest || r.rec.Agent != tt.agent || r.rec.Outcome != tt.outcome ||
					r.rec.Channel != "C1" || r.rec.ThreadTS != "1.2" {
					t.Errorf("kept %+v for %s, want destination %q, agent %q, outcome %q", r.rec, r.user, tt.dest, tt.agent, tt.outcome)
				}
			default:
				if tt.kept {
					t.Error("nothing kept")
				}
			}
		})
	}
}

// Lines past a section's size go to the next section, and past the last
// one allowed, a note says how many were left out.
func TestSections(t *testing.T) {
	line := strings.Repeat("x", 100)
	forty := make([]string, 40)
	for i := range forty {
		forty[i] = line
	}
	tests := []struct {
		name   string
		lines  []string
		n      int
		blocks int
		last   string // how the last block ends
	}{
		{"fits", forty[:3], 1, 1, line},
		{"cut", forty, 1, 1, "\n…and 12 more: the form offers them all."},
		{"two sections", forty, 2, 2, line},
		{"one long line clipped", []string{strings.Repeat("é", 2000)}, 1, 1, "é"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blocks := sections(tt.lines, tt.n)
			if len(blocks) != tt.blocks {
				t.Fatalf("%d blocks, want %d", len(blocks), tt.blocks)
			}
			for _, b := range blocks {
				if text := b.(*slack.SectionBlock).Text.Text; len(text) > maxSectionText {
					t.Errorf("a section of %d bytes, over Slack's %d", len(text), maxSectionText)
				}
			}
			if text := blocks[len(blocks)-1].(*slack.SectionBlock).Text.Text; !strings.HasSuffix(text, tt.last) {
				t.Errorf("the last section ends %q, want %q", text[max(0, len(text)-60):], tt.last)
			}
		})
	}
}

func TestClipBytes(t *testing.T) {
	tests := []struct {
		name, s string
		n       int
		want    string
	}{
		{"short", "abc", 5, "abc"},
		{"cut", "abcdef", 3, "abc"},
		{"at a character boundary", "ééé", 3, "é"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clipBytes(tt.s, tt.n); got != tt.want {
				t.Errorf("clipBytes(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
			}
		})
	}
}
