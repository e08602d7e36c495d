package auditchannel

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/coldtransfer/coldtransfer/internal/intake"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
	"github.com/coldtransfer/coldtransfer/internal/slackapi"
)

// poster is a Slack that takes every post.
type poster struct {
	mu    sync.Mutex
	posts []slackapi.Message
}

func (p *poster) PostMessage(_ context.Context, _ slackapi.Priority, msg slackapi.Message) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.posts = append(p.posts, msg)
	return "1.1", nil
}

type links map[string]string

func (l links) ThreadLink(_ context.Context, channel, ts string) string { return l[channel+"/"+ts] }

// counter counts the posts by result.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) AuditChannelPost(result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[result]++
}

func (c *counter) count(result string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[result]
}

// The line says what the request's announcement said, why it was refused,
// and links its thread.
func TestLine(t *testing.T) {
	to, _ := plivo.ParseEndpoint("+14155550100")
	from, _ := plivo.ParseEndpoint("+14152223333")
	at := time.Date(2025, 3, 1, 9, 30, 5, 0, time.UTC)
	tests := []struct {
		name string
		it   Item
		link string
		want string
	}{
		{"refused", Item{At: at, Requester: "U1", Channel: "C1", Outcome: outcome.Refused, Reason: "user U1 <not> allowed"}, "",
			"<!date^1740821405^{date_short} {time_secs}|2025-03-01 09:30:05 UTC> <@U1> :no_entry: `refused` · cold transfer in <#C1> · reason: user U1 &lt;not&gt; allowed"},
		{"transferred by name, with its thread", Item{At: at, Requester: "U1", Channel: "C1", Action: outcome.WarmTransfer, Outcome: outcome.Transferred,
			Spec: intake.Spec{To: to, TriggerSource: from, Destination: "billing", Label: "Billing & co", Agent: "UAGENT01"}}, "https://x/archives/C1/p11?a&b",
			"<!date^1740821405^{date_short} {time_secs}|2025-03-01 09:30:05 UTC> <@U1> :white_check_mark: `transferred` · warm transfer in <#C1>" +
				" · to Billing &amp; co · `+14155550100` · agent <@UAGENT01> · `+14152223333` · <https://x/archives/C1/p11?a&amp;b|thread>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := line(tt.it, tt.link); got != tt.want {
				t.Errorf("line\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// The worker posts the lines in the order they were queued, each with its
// thread's link, and a stop posts what is still queued.
func TestPostsInOrderAndFlushesAtStop(t *testing.T) {
	p, m := &poster{}, &counter{}
	a := New(Config{Channel: "CAUDIT"}, p, links{"C1/1.2": "https://x/archives/C1/p12"}, m, zap.NewNop())
	for _, r := range []string{"first", "second", "third"} {
		a.Post(Item{Requester: "U1", Channel: "C1", Outcome: outcome.Refused, Reason: r, Thread: "1.2"})
	}
	a.Start()()
	if len(p.posts) != 3 || m.count("ok") != 3 {
		t.Fatalf("%d posts, %d counted ok; want the 3 queued", len(p.posts), m.count("ok"))
	}
	for i, r := range []string{"first", "second", "third"} {
		if msg := p.posts[i]; msg.Channel != "CAUDIT" || !strings.Contains(msg.Text, "reason: "+r+" · <https://x/archives/C1/p12|thread>") {
			t.Errorf("post %d in %s: %q, want the %s line with its thread", i, msg.Channel, msg.Text, r)
		}
	}
}

// Past the queue's bound a line is dropped from the channel, counted and
// logged once, never waited for.
func TestPostDropsPastTheQueue(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	m := &counter{}
	a := New(Config{Channel: "CAUDIT"}, &poster{}, links{}, m, zap.New(core))
	for range queueSize + 3 {
		a.Post(Item{Requester: "U1", Outcome: outcome.Refused})
	}
	if n := m.count("dropped"); n != 3 {
		t.Errorf("%d lines counted dropped, want 3", n)
	}
	if n := logs.FilterMessage("audit line not posted in the audit channel: too many waiting").Len(); n != 1 {
		t.Errorf("%d warnings about the full queue, want 1", n)
	}
}

// Without a channel nothing is queued, and nothing starts.
func TestNoChannel(t *testing.T) {
	p := &poster{}
	a := New(Config{}, p, links{}, nil, zap.NewNop())
	a.Post(Item{Requester: "U1", Outcome: outcome.Refused})
	a.Start()()
	if len(p.posts) != 0 {
		t.Errorf("%d posts without an audit channel, want none", len(p.posts))
	}
}
