package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/outcome"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// A nil *Metrics is a working no-op: every method may be called on it.
func TestNilMetricsCountNothing(t *testing.T) {
	var m *Metrics
	m.Request("command", "cold_transfer", "transferred")
	m.PlivoRequest("cold_transfer", "201", time.Millisecond)
	m.SlackCall("chat.postMessage", "ok")
	m.Ack(time.Millisecond)
	m.TransferDone(time.Second)
	m.InFlightInc()
	m.InFlightDec()
	m.SocketConnected(true)
	m.Redelivered("envelope")
	m.StoreFallback()
	m.DirectoryReload(true)
	if h := m.Handler(); h != nil {
		t.Errorf("nil Metrics has a handler %v; want nil, so that nothing is served", h)
	}
	if mfs, err := m.Gatherer().Gather(); err != nil || len(mfs) != 0 {
		t.Errorf("nil Metrics gathers %d families (%v); want none", len(mfs), err)
	}
}

// Each method moves its own series and only that one.
func TestMethodsCount(t *testing.T) {
	tests := []struct {
		name  string
		do    func(m *Metrics)
		check func(m *Metrics) float64
		want  float64
	}{
		{"request", func(m *Metrics) {
			m.Request("modal", "cold_transfer", "unknown")
			m.Request("modal", "cold_transfer", "unknown")
		},
			func(m *Metrics) float64 {
				return testutil.ToFloat64(m.requests.WithLabelValues("modal", "cold_transfer", "unknown"))
			}, 2},
		{"request leaves the other outcomes at 0", func(m *Metrics) { m.Request("modal", "cold_transfer", "unknown") },
			func(m *Metrics) float64 {
				return testutil.ToFloat64(m.requests.WithLabelValues("command", "cold_transfer", "unknown"))
			}, 0},
		{"plivo", func(m *Metrics) { m.PlivoRequest("cold_transfer", "500", 30*time.Millisecond) },
			func(m *Metrics) float64 {
				return float64(histogram(t, m.plivo.WithLabelValues("cold_transfer", "500")).GetSampleCount())
			}, 1},
		{"plivo duration in seconds", func(m *Metrics) { m.PlivoRequest("cold_transfer", "201", 1500*time.Millisecond) },
			func(m *Metrics) float64 {
				return histogram(t, m.plivo.WithLabelValues("cold_transfer", "201")).GetSampleSum()
			}, 1.5},
		{"slack call", func(m *Metrics) { m.SlackCall("chat.update", "http_500") },
			func(m *Metrics) float64 {
				return testutil.ToFloat64(m.slackAPI.WithLabelValues("chat.update", "http_500"))
			}, 1},
		{"ack", func(m *Metrics) { m.Ack(250 * time.Microsecond); m.Ack(time.Millisecond) },
			func(m *Metrics) float64 { return float64(histogram(t, m.ack).GetSampleCount()) }, 2},
		{"transfer", func(m *Metrics) { m.TransferDone(2 * time.Second) },
			func(m *Metrics) float64 { return histogram(t, m.transfer).GetSampleSum() }, 2},
		{"in flight", func(m *Metrics) { m.InFlightInc(); m.InFlightInc(); m.InFlightDec() },
			func(m *Metrics) float64 { return testutil.ToFloat64(m.inFlight) }, 1},
		{"socket up", func(m *Metrics) { m.SocketConnected(true) },
			func(m *Metrics) float64 { return testutil.ToFloat64(m.socket) }, 1},
		{"socket down again", func(m *Metrics) { m.SocketConnected(true); m.SocketConnected(false) },
			func(m *Metrics) float64 { return testutil.ToFloat64(m.socket) }, 0},
		{"redelivered", func(m *Metrics) { m.Redelivered("view") },
			func(m *Metrics) float64 { return testutil.ToFloat64(m.redeliveries.WithLabelValues("view")) }, 1},
		{"store fallback", func(m *Metrics) { m.StoreFallback(); m.StoreFallback() },
			func(m *Metrics) float64 { return testutil.ToFloat64(m.storeFallbacks) }, 2},
		{"directory reload ok", func(m *Metrics) { m.DirectoryReload(true); m.DirectoryReload(false) },
			func(m *Metrics) float64 { return testutil.ToFloat64(m.directoryReloads.WithLabelValues("ok")) }, 1},
		{"directory reload refused", func(m *Metrics) { m.DirectoryReload(false) },
			func(m *Metrics) float64 { return testutil.ToFloat64(m.directoryReloads.WithLabelValues("refused")) }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New("v1.2.3")
			tt.do(m)
			if got := tt.check(m); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// The series an alert needs exist at zero before their first event.
func TestKnownSeriesStartAtZero(t *testing.T) {
	m := New("v1")
	tests := []struct {
		collector prometheus.Collector
		want      int
	}{
		{m.requests, len(outcome.Paths) * len(outcome.Actions) * len(outcome.All)},
		{m.redeliveries, 3},
		{m.directoryReloads, 2},
		{m.storeFallbacks, 1},
		{m.socket, 1},
		{m.plivo, 0}, // statuses are not known in advance
		{m.slackAPI, 0},
	}
	for _, tt := range tests {
		if got := testutil.CollectAndCount(tt.collector); got != tt.want {
			t.Errorf("%v: %d series, want %d", tt.collector, got, tt.want)
		}
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("command", "cold_transfer", "unknown")); got != 0 {
		t.Errorf("requests{outcome=unknown} starts at %v", got)
	}
}

// The names and help texts pass promlint, and the registry has the Go and
// process collectors beside the bot's own metrics.
func TestRegistryLintsAndHasCollectors(t *testing.T) {
	m := New("v1.2.3")
	m.PlivoRequest("cold_transfer", "201", time.Millisecond)
	m.SlackCall("auth.test", "ok")
	problems, err := testutil.GatherAndLint(m.Gatherer())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	for _, name := range []string{
		"coldtransfer_requests_total", "coldtransfer_plivo_request_duration_seconds",
		"coldtransfer_slack_api_requests_total", "coldtransfer_ack_duration_seconds",
		"coldtransfer_transfer_duration_seconds", "coldtransfer_in_flight",
		"coldtransfer_socket_connected", "coldtransfer_redeliveries_total",
		"coldtransfer_store_fallbacks_total", "coldtransfer_directory_reloads_total",
		"coldtransfer_build_info", "go_goroutines", "process_resident_memory_bytes",
	} {
		n, err := testutil.GatherAndCount(m.Gatherer(), name)
		if err != nil || n == 0 {
			t.Errorf("%s: %d series (%v), want it registered", name, n, err)
		}
	}
}

func TestBuildInfo(t *testing.T) {
	m := New("v1.2.3")
	want := `# HELP coldtransfer_build_info Always 1; the labels say which build is running.
# TYPE coldtransfer_build_info gauge
coldtransfer_build_info{goversion="` + runtime.Version() + `",version="v1.2.3"} 1
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "coldtransfer_build_info"); err != nil {
		t.Error(err)
	}
}

// Handler serves the text format a Prometheus server scrapes.
func TestHandlerServesTextFormat(t *testing.T) {
	m := New("v1.2.3")
	m.Request("command", "cold_transfer", "transferred")
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("GET /metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if want := `coldtransfer_requests_total{action="cold_transfer",outcome="transferred",path="command"} 1`; !strings.Contains(string(body), want) {
		t.Errorf("scrape lacks %s", want)
	}
}

// histogram reads one histogram's state.
func histogram(t *testing.T, o prometheus.Observer) *dto.Histogram {
	t.Helper()
	var pb dto.Metric
	if err := o.(prometheus.Metric).Write(&pb); err != nil {
		t.Fatal(err)
	}
	return pb.GetHistogram()
}

// What one transfer costs in counting: its ack, in-flight slot, five Slack
// calls, the Plivo request, the thread reply and the audit line.
func BenchmarkOneTransfer(b *testing.B) {
	m := New("bench")
	b.ReportAllocs()
	for b.Loop() {
		m.Ack(300 * time.Microsecond)
		m.InFlightInc()
		m.SlackCall("chat.postMessage", "ok")
		m.PlivoRequest("cold_transfer", "201", 120*time.Millisecond)
		m.SlackCall("chat.postMessage", "ok")
		m.TransferDone(200 * time.Millisecond)
		m.SlackCall("chat.update", "ok")
		m.SlackCall("response_url", "ok")
		m.SlackCall("usergroups.users.list", "ok")
		m.Request("command", "cold_transfer", "transferred")
		m.InFlightDec()
	}
}
