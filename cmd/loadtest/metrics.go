package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// launch starts a world for the scenario name with the bench's settings:
// with metrics, the bot gets a HEALTH_ADDR on a free loopback port, which is
// what turns its metrics on (without HEALTH_ADDR it counts nothing).
func (b *bench) launch(ctx context.Context, name string) (*world, error) {
	if !b.metrics {
		return startWorld(ctx, b.bin, b.dir, name, b.maxInFlight)
	}
	var err error
	// The port is free when asked for, but another process on the machine
	// may take it before the bot binds it: then try another.
	for range 3 {
		var addr string
		if addr, err = freeAddr(); err != nil {
			return nil, err
		}
		var w *world
		if w, err = startWorld(ctx, b.bin, b.dir, name, b.maxInFlight, "HEALTH_ADDR="+addr); err == nil {
			return w, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, err
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// ackMetric is the bot's own timing of its acks.
const ackMetric = "coldtransfer_ack_duration_seconds"

// histogram is a Prometheus histogram as scraped.
type histogram struct {
	bounds []float64 // bucket upper bounds, ascending, +Inf last
	counts []float64 // cumulative counts, one per bound
	sum    float64
}

// count is how many observations the histogram holds.
func (h histogram) count() float64 { return h.counts[len(h.counts)-1] }

// minus returns what h holds beyond earlier, a scrape of the same
// histogram taken before.
func (h histogram) minus(earlier histogram) histogram {
	d := histogram{bounds: h.bounds, counts: slices.Clone(h.counts), sum: h.sum - earlier.sum}
	for i := range d.counts {
		d.counts[i] -= earlier.counts[i]
	}
	return d
}

// quantile estimates the q-quantile (0 ≤ q ≤ 1) the way PromQL's
// histogram_quantile does: find the bucket the rank falls in and
// interpolate linearly inside it. It is NaN for an empty histogram.
func (h histogram) quantile(q float64) float64 {
	n := h.count()
	if n == 0 {
		return math.NaN()
	}
	rank := q * n
	i, _ := slices.BinarySearch(h.counts, rank)
	i = min(i, len(h.counts)-1)
	if math.IsInf(h.bounds[i], 1) {
		// Beyond the last finite bound: its bound is all that is known.
		return h.bounds[max(i-1, 0)]
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = h.bounds[i-1], h.counts[i-1]
	}
	inBucket := h.counts[i] - below
	if inBucket == 0 {
		return h.bounds[i]
	}
	return lower + (h.bounds[i]-lower)*(rank-below)/inBucket
}

// ackHistogram scrapes the bot's /metrics for its ack histogram; nil when
// the bot runs without metrics.
func (w *world) ackHistogram(ctx context.Context) (*histogram, error) {
	if w.healthAddr == "" {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+w.healthAddr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape the bot's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape the bot's metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape the bot's metrics: %w", err)
	}
	mf := families[ackMetric]
	if mf == nil || len(mf.GetMetric()) != 1 || mf.GetMetric()[0].GetHistogram() == nil {
		return nil, fmt.Errorf("the bot's metrics have no histogram %s", ackMetric)
	}
	ph := mf.GetMetric()[0].GetHistogram()
	h := &histogram{sum: ph.GetSampleSum()}
	for _, bk := range ph.GetBucket() {
		if math.IsInf(bk.GetUpperBound(), 1) {
			continue
		}
		h.bounds = append(h.bounds, bk.GetUpperBound())
		h.counts = append(h.counts, float64(bk.GetCumulativeCount()))
	}
	h.bounds = append(h.bounds, math.Inf(1))
	h.counts = append(h.counts, float64(ph.GetSampleCount()))
	return h, nil
}

// seconds renders a figure in seconds as a duration in milliseconds.
func seconds(s float64) string {
	if math.IsNaN(s) {
		return "—"
	}
	return ms(time.Duration(s * float64(time.Second)))
}

// ownAckRow shows the bot's own view of the probes' acks in scenario a.
func ownAckRow(h histogram) row {
	return row{
		scenario: "a. the same acks as the bot timed them: " + ackMetric + ", from its buckets",
		figure: fmt.Sprintf("p50 ≈ %s, p99 ≈ %s, mean %s (%d acks)",
			seconds(h.quantile(.5)), seconds(h.quantile(.99)), seconds(h.sum/h.count()), int(h.count())),
	}
}

// costRun is one run of scenarios a and d, with or without metrics.
type costRun struct {
	ackP50, ackP99 time.Duration // as the fake Slack timed them
	mem            memoryRun
}

// metricsCost (scenario e) runs scenarios a and d `runs` times with metrics
// and `runs` times without, alternating which goes first, and compares the
// medians: what metrics cost in ack latency and in resident memory.
func (b *bench) metricsCost(ctx context.Context, runs, held, probes int, interval time.Duration, memN int, hold, settle time.Duration) ([]row, error) {
	defer func(m bool) { b.metrics = m }(b.metrics)
	var off, on []costRun
	for i := range runs {
		for j := range 2 {
			b.metrics = (i+j)%2 == 1 // off first in even runs, on first in odd ones
			a, err := b.measureAcks(ctx, held, probes, interval)
			if err != nil {
				return nil, err
			}
			d, err := b.measureMemory(ctx, memN, hold, settle)
			if err != nil {
				return nil, err
			}
			r := costRun{ackP50: percentile(a.lat, 50), ackP99: percentile(a.lat, 99), mem: d}
			if b.metrics {
				on = append(on, r)
			} else {
				off = append(off, r)
			}
			b.note("e: run %d, metrics %s: ack p50 %s p99 %s; VmRSS idle %s, %d in flight %s; VmHWM %s; CPU %s",
				i+1, onOff(b.metrics), ms(r.ackP50), ms(r.ackP99), mb(d.idle.RSS), memN, mb(d.busy.RSS), mb(d.done.Peak), ms(d.cpu))
		}
	}

	durs := func(rs []costRun, f func(costRun) time.Duration) time.Duration {
		ds := make([]time.Duration, len(rs))
		for i, r := range rs {
			ds[i] = f(r)
		}
		return percentile(ds, 50)
	}
	kBs := func(rs []costRun, f func(costRun) int64) int64 {
		return int64(durs(rs, func(r costRun) time.Duration { return time.Duration(f(r)) }))
	}
	label := fmt.Sprintf("e. metrics off → on, median of %d runs each: ", runs)
	cmpMs := func(f func(costRun) time.Duration) string {
		a, b := durs(off, f), durs(on, f)
		return fmt.Sprintf("%s → %s (%+.0f%%)", ms(a), ms(b), change(float64(a), float64(b)))
	}
	cmpMB := func(f func(costRun) int64) string {
		a, b := kBs(off, f), kBs(on, f)
		return fmt.Sprintf("%s → %s (%+.1f MB)", mb(a), mb(b), float64(b-a)/1024)
	}
	return []row{
		{scenario: label + fmt.Sprintf("ack p50, %d in flight", held), figure: cmpMs(func(r costRun) time.Duration { return r.ackP50 })},
		{scenario: label + fmt.Sprintf("ack p99, %d in flight", held), figure: cmpMs(func(r costRun) time.Duration { return r.ackP99 })},
		{scenario: label + "VmRSS idle", figure: cmpMB(func(r costRun) int64 { return r.mem.idle.RSS })},
		{scenario: label + fmt.Sprintf("VmRSS, %d in flight", memN), figure: cmpMB(func(r costRun) int64 { return r.mem.busy.RSS })},
		{scenario: label + fmt.Sprintf("VmHWM, %d in flight then answered", memN), figure: cmpMB(func(r costRun) int64 { return r.mem.done.Peak })},
		{scenario: label + fmt.Sprintf("bot CPU time, start + %d transfers (d)", memN), figure: cmpMs(func(r costRun) time.Duration { return r.mem.cpu })},
	}, nil
}

// change is the relative change from a to b, in percent.
func change(a, b float64) float64 {
	if a == 0 {
		return 0
	}
	return (b - a) / a * 100
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// metricsMode says how scenarios a to d run the bot.
func metricsMode(on bool) string {
	if on {
		return "on (HEALTH_ADDR set, /metrics scraped around a's probes)"
	}
	return "off (no HEALTH_ADDR)"
}

// cpuTime is the CPU time the bot has used so far, user and system, all
// its threads (/proc/<pid>/stat; the kernel counts it in clock ticks,
// 10 ms on most Linux systems).
func (w *world) cpuTime() (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", w.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read the bot's CPU time: %w", err)
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count from the last ')'. utime and stime are fields 14 and 15.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(fields) < 13 {
		return 0, errors.New("read the bot's CPU time: /proc/<pid>/stat is too short")
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read the bot's CPU time: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on Linux.
const clockTicks = 100
