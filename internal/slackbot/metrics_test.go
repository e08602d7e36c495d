package slackbot_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
	"github.com/coldtransfer/coldtransfer/internal/metrics"
)

// A scripted run through the fake Slack, as a floor would have it: a
// transfer, its envelope redelivered and its trigger redelivered under a new
// envelope, a refusal (with Slack failing the group lookup), a transfer that
// Plivo answers 500 (with Slack failing a chat.update once), a transfer by
// form, submitted twice, and a command that does not parse, redelivered
// (help is not counted: it is no request). Afterwards every metric holds exactly what
// happened, counted once where it happened.
func TestMetricsCountAScriptedRun(t *testing.T) {
	m := metrics.New("test")
	h := start(t, options{metrics: m})
	g := m.Gatherer()

	// 1. A transfer.
	env, _ := h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	h.audit(1)
	if got := value(t, g, "coldtransfer_socket_connected", ""); got != 1 {
		t.Errorf("socket_connected = %v while connected, want 1", got)
	}

	// 2. Its envelope redelivered, then its trigger under a new envelope.
	again := env
	again.RetryAttempt, again.RetryReason = 1, "timeout"
	if err := h.slack.Send(h.ctx(), again); err != nil {
		t.Fatal(err)
	}
	sameTrigger := env
	sameTrigger.EnvelopeID = "redelivered-under-a-new-id"
	if err := h.slack.Send(h.ctx(), sameTrigger); err != nil {
		t.Fatal(err)
	}
	h.ack(sameTrigger)

	// 3. A refusal: the stranger is in no list, and the group lookup fails.
	h.slack.Fail("usergroups.users.list", fakeslack.Failure{Error: "fatal_error"})
	h.command(stranger, floorChannel, "+14152226666 from +14152224444")
	h.audit(2)

	// 4. Plivo answers 500, and Slack fails the announcement's update once.
	h.plivo.Respond(fakeplivo.Response{Status: 500, Body: `{"error":"internal"}`}, fakeplivo.Response{})
	h.slack.Fail("chat.update", fakeslack.Failure{Status: 500})
	h.command(groupMember, floorChannel, "+14152227777 from +14152228888")
	h.audit(3)

	// 5. A transfer by form, and the same form submitted again.
	h.command(supervisor, floorChannel, "")
	v := h.openedView()
	cb := v.submission(supervisor, "VMETRICS", "+14152220001", "+14152229999", "agent")
	h.submit(cb)
	h.submit(cb)

	// 6. A command that does not parse, redelivered; then help, whose ack
	// comes after the redelivery's, since one loop acks in order.
	bad, _ := h.command(supervisor, floorChannel, "+14152225555 to +14152223333")
	bad.RetryAttempt, bad.RetryReason = 1, "timeout"
	if err := h.slack.Send(h.ctx(), bad); err != nil {
		t.Fatal(err)
	}
	h.command(supervisor, floorChannel, "help")
	if acks := h.slack.Acks(bad.EnvelopeID); len(acks) != 2 {
		t.Fatalf("redelivered invalid command acked %d times, want 2", len(acks))
	}
	if err := h.shutdown(); err != nil { // waits for everything in flight
		t.Fatal(err)
	}

	if n := len(h.logs.FilterMessage("transfer").All()); n != 5 {
		t.Fatalf("%d audit lines, want 5: the script did not run as planned", n)
	}
	tests := []struct {
		name string
		want map[string]float64 // by labels; every other series must be 0
	}{
		{"coldtransfer_requests_total", map[string]float64{
			"action=cold_transfer,outcome=transferred,path=command": 1,
			"action=cold_transfer,outcome=refused,path=command":     1,
			"action=cold_transfer,outcome=unknown,path=command":     1,
			"action=cold_transfer,outcome=transferred,path=modal":   1,
			"action=cold_transfer,outcome=invalid,path=command":     1,
		}},
		{"coldtransfer_plivo_request_duration_seconds", map[string]float64{"action=cold_transfer,result=201": 2, "action=cold_transfer,result=500": 1}},
		{"coldtransfer_slack_api_requests_total", map[string]float64{
			"method=auth.test,result=ok":                      1,
			"method=apps.connections.open,result=ok":          float64(len(h.slack.Calls("apps.connections.open"))),
			"method=usergroups.users.list,result=fatal_error": 1,
			"method=usergroups.users.list,result=ok":          float64(len(h.slack.Calls("usergroups.users.list")) - 1),
			"method=views.open,result=ok":                     1,
			"method=chat.postMessage,result=ok":               6, // three announcements, three replies
			"method=chat.update,result=http_500":              1, // retried:
			"method=chat.update,result=ok":                    3,
			"method=response_url,result=ok":                   1, // the refusal
		}},
		{"coldtransfer_ack_duration_seconds", map[string]float64{"": 11}},     // every envelope: 6 commands, 3 redelivered, 2 submissions
		{"coldtransfer_transfer_duration_seconds", map[string]float64{"": 3}}, // the refusal has no thread
		{"coldtransfer_redeliveries_total", map[string]float64{"kind=envelope": 2, "kind=trigger": 1, "kind=view": 1}},
		{"coldtransfer_in_flight", nil},
		{"coldtransfer_socket_connected", nil}, // after the shutdown
		{"coldtransfer_store_fallbacks_total", nil},
		{"coldtransfer_directory_reloads_total", nil},
	}
	// Shutting down may cancel a reconnect on its way: the bot's own doing,
	// counted as canceled, never seen by Slack.
	shutdownReconnect := "method=apps.connections.open,result=canceled"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := values(t, g, tt.name)
			if v := got[shutdownReconnect]; v <= 1 {
				delete(got, shutdownReconnect)
			}
			for labels, v := range got {
				if v != tt.want[labels] {
					t.Errorf("{%s} = %v, want %v", labels, v, tt.want[labels])
				}
			}
			for labels := range tt.want {
				if _, ok := got[labels]; !ok {
					t.Errorf("no series {%s}; have %v", labels, slices.Sorted(maps.Keys(got)))
				}
			}
		})
	}

	// Every attempt Slack saw is counted once: the fake's record agrees.
	slackCalls := values(t, g, "coldtransfer_slack_api_requests_total")
	for _, method := range []string{"auth.test", "apps.connections.open", "usergroups.users.list", "views.open", "chat.postMessage", "chat.update", "response_url"} {
		var counted float64
		for labels, v := range slackCalls {
			if strings.HasPrefix(labels, "method="+method+",") && labels != shutdownReconnect {
				counted += v
			}
		}
		if seen := len(h.slack.Calls(method)); counted != float64(seen) {
			t.Errorf("%s: counted %v attempts, the fake Slack saw %d", method, counted, seen)
		}
	}
	if n, err := testutil.GatherAndCount(g, "coldtransfer_plivo_request_duration_seconds"); err != nil || n != 2 {
		t.Errorf("%d Plivo result series (%v), want 2: 201 and 500", n, err)
	}
	if n := h.plivo.Count(); n != 3 {
		t.Errorf("Plivo saw %d requests, want 3", n)
	}
	problems, err := testutil.GatherAndLint(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// values returns the series of the metric family name, by their labels
// ("k=v,k=v" in Prometheus's order, "" for none): a counter's or gauge's
// value, a histogram's sample count.
func values(t *testing.T, g prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := strings.Join(labels, ",")
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			default:
				t.Fatalf("%s: unexpected type %v", name, mf.GetType())
			}
		}
		return out
	}
	t.Fatalf("no metric %s", name)
	return nil
}

// value is the one series of name with labels.
func value(t *testing.T, g prometheus.Gatherer, name, labels string) float64 {
	t.Helper()
	v, ok := values(t, g, name)[labels]
	if !ok {
		t.Fatalf("no series %s{%s}", name, labels)
	}
	return v
}
