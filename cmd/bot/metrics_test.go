package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
)

func TestRunVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if status := run(t.Context(), []string{"-version"}, lookup(nil), strings.NewReader(""), &stdout, &stderr); status != exitOK {
		t.Errorf("run -version returned %d, want %d", status, exitOK)
	}
	want := fmt.Sprintf("coldtransfer %s %s\n", buildVersion(), runtime.Version())
	if stdout.String() != want || stderr.Len() != 0 {
		t.Errorf("run -version printed %q on stdout and %q on stderr, want %q on stdout", stdout.String(), stderr.String(), want)
	}
}

// The -ldflags version wins over the one the go command stamped.
func TestBuildVersionFromLdflags(t *testing.T) {
	defer func(v string) { version = v }(version)
	version = "v9.8.7"
	if got := buildVersion(); got != "v9.8.7" {
		t.Errorf("buildVersion() = %q, want the -X main.version value", got)
	}
	version = ""
	if got := buildVersion(); got == "" {
		t.Error("buildVersion() is empty without -ldflags; want the stamped version or (devel)")
	}
}

// A real scrape of /metrics on HEALTH_ADDR after a transfer, a refusal and
// a transfer that Plivo answers 500: the counts are there, and no token, no
// number, no SIP address, no user or channel id.
func TestRunServesMetrics(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	const (
		allowed  = "U123ABC" // TRANSFER_ALLOWED_USERS of f.env
		stranger = "UNOTALLOWED9"
		channel  = "CFLOOR7788"
	)
	env := merge(f.env(), map[string]string{"HEALTH_ADDR": "127.0.0.1:0", "LOG_LEVEL": "debug"})
	ctx, addr := serveReady(t, f, env)

	f.plivo.Respond(fakeplivo.Response{}, fakeplivo.Response{Status: 500, Body: `{"error":"internal"}`})
	for i, cmd := range []slack.SlashCommand{
		{UserID: allowed, ChannelID: channel, Text: "+1 415 222 5555 from sip:agent7@pbx.example.com"},
		{UserID: stranger, ChannelID: channel, Text: "+14152226666 from +14152223333"},
		{UserID: allowed, ChannelID: channel, Text: "sip:queue@pbx.example.com from +14152224444"},
	} {
		if _, err := f.slack.SendSlashCommand(ctx, cmd); err != nil {
			t.Fatal(err)
		}
		// One at a time, so that the second Plivo answer (500) goes to the
		// third command: a request has ended once it is counted, after its
		// audit line, its messages and its call to Plivo.
		waitMetric(t, ctx, []string{addr}, float64(i+1), "coldtransfer_requests_total")
	}

	body := scrape(t, ctx, "http://"+addr+"/metrics")
	for _, want := range []string{
		`coldtransfer_requests_total{action="cold_transfer",outcome="transferred",path="command"} 1`,
		`coldtransfer_requests_total{action="cold_transfer",outcome="refused",path="command"} 1`,
		`coldtransfer_requests_total{action="cold_transfer",outcome="unknown",path="command"} 1`,
		`coldtransfer_plivo_request_duration_seconds_count{action="cold_transfer",result="201"} 1`,
		`coldtransfer_plivo_request_duration_seconds_count{action="cold_transfer",result="500"} 1`,
		`coldtransfer_slack_api_requests_total{method="chat.postMessage",result="ok"} 4`,
		`coldtransfer_slack_api_requests_total{method="response_url",result="ok"} 1`,
		`coldtransfer_ack_duration_seconds_count 3`,
		`coldtransfer_transfer_duration_seconds_count 2`,
		`coldtransfer_socket_connected 1`,
		`coldtransfer_build_info{goversion="` + runtime.Version() + `",version="` + buildVersion() + `"} 1`,
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	never := append([]string{
		allowed, stranger, channel, authID, // ids
		"4152225555", "4152226666", "4152223333", "4152224444", // numbers, with or without +
		"sip:", "agent7", "queue@", "pbx.example.com", // SIP addresses
		f.slack.APIURL(), f.plivo.URL(), "/response/", // where the bot talks to
	}, secrets...)
	for _, s := range never {
		if strings.Contains(body, s) {
			t.Errorf("scrape contains %q", s)
		}
	}
}

// metricSum is the sum of the samples of a text-format scrape whose series
// is name carrying every one of labels (each like `outcome="refused"`).
func metricSum(body, name string, labels ...string) float64 {
	sum := 0.0
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		i := strings.LastIndexByte(line, ' ')
		if i < 0 || strings.HasPrefix(line, "#") {
			continue
		}
		series, value := line[:i], line[i+1:]
		n, set, _ := strings.Cut(series, "{")
		if n != name {
			continue
		}
		set = "," + strings.TrimSuffix(set, "}") + ","
		if !slices.ContainsFunc(labels, func(l string) bool { return !strings.Contains(set, ","+l+",") }) {
			v, err := strconv.ParseFloat(value, 64)
			if err == nil {
				sum += v
			}
		}
	}
	return sum
}

// waitMetric waits until the sum of metricSum(name, labels...) over the
// bots serving /metrics at addrs is at least want, and returns it.
func waitMetric(t *testing.T, ctx context.Context, addrs []string, want float64, name string, labels ...string) float64 {
	t.Helper()
	var got float64
	waitFor(t, fmt.Sprintf("%s{%s} to reach %v at %s", name, strings.Join(labels, ","), want, addrs), func() bool {
		got = 0
		for _, addr := range addrs {
			got += metricSum(scrape(t, ctx, "http://"+addr+"/metrics"), name, labels...)
		}
		return got >= want
	})
	return got
}

func scrape(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
	}
	return string(body)
}

// serveReady runs the bot with env (which sets HEALTH_ADDR) against f
// until the test ends, and returns once it has connected to f's Slack and
// /readyz answers 200: a context for the test's waits, and the health
// listener's address. What the bot logged is shown if the test fails.
func serveReady(t *testing.T, f fakes, env map[string]string) (context.Context, string) {
	t.Helper()
	b := runInBackground(t, 30*time.Second, env)
	// A bot that ends before it connects fails the test at once.
	if err := f.slack.WaitConns(b.live, 1); err != nil {
		t.Fatalf("the bot never connected: %v; stderr:\n%s", err, b.stderr)
	}
	addr := healthAddr(t, b.stderr.String())
	if err := pollOK(b.ctx, "http://"+addr+"/readyz"); err != nil {
		t.Fatalf("%v; stderr:\n%s", err, b.stderr)
	}
	return b.ctx, addr
}

// healthAddr is the address of the health listener of the bot that logged
// log, from its "health probes listening" line: with HEALTH_ADDR=
// 127.0.0.1:0 the kernel picks the port, and that line is where the bot
// tells it. The bot logs it before it dials Slack, so once it has
// connected (fakeslack's WaitConns) the line is there, with no wait.
func healthAddr(t *testing.T, log string) string {
	t.Helper()
	listening := logEntry(log, "health probes listening")
	addr, _ := listening["addr"].(string)
	if addr == "" {
		t.Fatalf("no \"health probes listening\" line with an addr; log:\n%s", log)
	}
	return addr
}

// runUntilConnected runs the bot with env until it has connected to f's
// Slack, then stops it, and returns what it logged. A bot that ends before
// it connects fails the test at once, not at the deadline.
func runUntilConnected(t *testing.T, f fakes, env map[string]string) *syncBuffer {
	t.Helper()
	b := runInBackground(t, 20*time.Second, env)
	if err := f.slack.WaitConns(b.live, 1); err != nil {
		t.Fatalf("the bot never connected: %v; stderr:\n%s", err, b.stderr)
	}
	b.stopAndWait(t)
	assertNoSecrets(t, b.stderr.String())
	return b.stderr
}
