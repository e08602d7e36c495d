package main

import (
	"bufio"
	"flag"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

// updateMetricNames is -update: write metricNamesFile instead of comparing.
var updateMetricNames = flag.Bool("update", false, "rewrite "+metricNamesFile+" from a scrape of the running bot")

// metricNamesFile is the list of series the bot exports, which the Helm
// chart's checks (deploy/check) hold the alert rules and the dashboard to.
const metricNamesFile = "../../deploy/check/testdata/metrics.txt"

const metricNamesHeader = `# The series names of a scrape of the bot's GET /metrics after a transfer,
# on Linux (the process_ series are Linux's). Written by
#   go test ./cmd/bot -run TestMetricNames -update
`

// TestMetricNames scrapes /metrics of the running bot after a transfer and
// compares its series names with metricNamesFile: a metric added, renamed
// or removed shows up here, and deploy/check then checks the alerts and
// the dashboard against the new list. The transfer gives every labelled
// vector a series.
func TestMetricNames(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the process collector's series differ by OS; the list is Linux's, where the image runs")
	}
	t.Parallel()
	f := newFakes(t)
	env := merge(f.env(), map[string]string{"HEALTH_ADDR": "127.0.0.1:0"})
	ctx, addr := serveReady(t, f, env)
	cmd := slack.SlashCommand{UserID: "U123ABC", ChannelID: "CFLOOR7788", Text: "+14152225555 from +14152223333"}
	if _, err := f.slack.SendSlashCommand(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	// The transfer has ended once it is counted, after its audit line, its
	// messages and its call to Plivo.
	waitMetric(t, ctx, []string{addr}, 1, "coldtransfer_requests_total")

	got := seriesNames(scrape(t, ctx, "http://"+addr+"/metrics"))
	if *updateMetricNames {
		if err := os.WriteFile(metricNamesFile, []byte(metricNamesHeader+strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(metricNamesFile)
	if err != nil {
		t.Fatalf("%v; write it with: go test ./cmd/bot -run TestMetricNames -update", err)
	}
	want := seriesNames(string(data))
	var added, removed []string
	for _, n := range got {
		if !slices.Contains(want, n) {
			added = append(added, n)
		}
	}
	for _, n := range want {
		if !slices.Contains(got, n) {
			removed = append(removed, n)
		}
	}
	if len(added)+len(removed) > 0 {
		t.Errorf("the bot's series differ from %s:\n  scraped, not listed: %s\n  listed, not scraped: %s\n"+
			"regenerate it with: go test ./cmd/bot -run TestMetricNames -update (then bash .ci/chart checks the chart's alerts and dashboard against it)",
			metricNamesFile, strings.Join(added, " "), strings.Join(removed, " "))
	}
}

// seriesNames returns the sorted, distinct series names of a text-format
// scrape (or of the list, one name a line); # lines are skipped.
func seriesNames(text string) []string {
	var names []string
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			line = line[:i]
		}
		names = append(names, line)
	}
	slices.Sort(names)
	return slices.Compact(names)
}
