package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
)

// startBotWithMetrics starts a bot as startBot does, with a HEALTH_ADDR
// of its own on a free loopback port, which is what turns its metrics on
// (without HEALTH_ADDR it counts nothing).
func startBotWithMetrics(ctx context.Context, argv []string, dir, name string, env, extra []string, fs *fakeslack.Server, conns int) (*botProc, error) {
	var err error
	// The port is free when asked for, but another process on the machine
	// may take it before the bot binds it: then try another.
	for range 3 {
		var addr string
		if addr, err = freeAddr(); err != nil {
			return nil, err
		}
		var bp *botProc
		if bp, err = startBot(ctx, argv, dir, name, append(slices.Clone(env), "HEALTH_ADDR="+addr), extra, fs, conns); err == nil {
			bp.healthAddr = addr
			return bp, nil
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
func (h histogram) minus(earlier histogram) histogram { return h.add(earlier, -1) }

// plus returns h and o, with the same buckets, together: two replicas'
// histograms summed, as PromQL's sum by (le) would.
func (h histogram) plus(o histogram) histogram { return h.add(o, 1) }

// add returns h + k·o, bucket by bucket.
func (h histogram) add(o histogram, k float64) histogram {
	r := histogram{bounds: h.bounds, counts: slices.Clone(h.counts), sum: h.sum + k*o.sum}
	for i := range r.counts {
		r.counts[i] += k * o.counts[i]
	}
	return r
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

// ackHistogram scrapes each bot's /metrics for its ack histogram and sums
// them; nil when the bots run without metrics.
func (w *world) ackHistogram(ctx context.Context) (*histogram, error) {
	if w.bots[0].healthAddr == "" {
		return nil, nil
	}
	hs, err := perBot(w, func(bp *botProc) (histogram, error) { return bp.ackHistogram(ctx) })
	if err != nil {
		return nil, err
	}
	sum := hs[0]
	for _, h := range hs[1:] {
		if !slices.Equal(h.bounds, sum.bounds) {
			return nil, fmt.Errorf("the replicas' %s have different buckets", ackMetric)
		}
		sum = sum.plus(h)
	}
	return &sum, nil
}

// ackHistogram scrapes the bot's /metrics for its ack histogram.
func (bp *botProc) ackHistogram(ctx context.Context) (histogram, error) {
	var h histogram
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+bp.healthAddr+"/metrics", nil)
	if err != nil {
		return h, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return h, fmt.Errorf("scrape the bot's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("scrape the bot's metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return h, fmt.Errorf("scrape the bot's metrics: %w", err)
	}
	mf := families[ackMetric]
	if mf == nil || len(mf.GetMetric()) != 1 || mf.GetMetric()[0].GetHistogram() == nil {
		return h, fmt.Errorf("the bot's metrics have no histogram %s", ackMetric)
	}
	ph := mf.GetMetric()[0].GetHistogram()
	h.sum = ph.GetSampleSum()
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

// ownAckRow shows the bots' own view of the probes' acks in scenario a;
// with several replicas, their histograms summed.
func ownAckRow(h histogram, replicas int) row {
	whose := "the bot timed them: " + ackMetric + ", from its buckets"
	if replicas > 1 {
		whose = fmt.Sprintf("the %d replicas timed them: %s, their buckets summed", replicas, ackMetric)
	}
	return row{
		scenario: "a. the same acks as " + whose,
		figure: fmt.Sprintf("p50 ≈ %s, p99 ≈ %s, mean %s (%d acks)",
			seconds(h.quantile(.5)), seconds(h.quantile(.99)), seconds(h.sum/h.count()), int(h.count())),
	}
}

// costRun is one run of scenarios a and d, with or without metrics. With
// several replicas, the memory and CPU figures are their mean.
type costRun struct {
	ackP50, ackP99   time.Duration // as the fake Slack timed them
	idle, busy, peak int64         // kB: VmRSS idle and with d's transfers in flight; VmHWM once they are done
	cpu              time.Duration // the bot's CPU time, connect to the end of d's transfers
}

// metricsCost (scenario e) runs scenarios a and d `runs` times with metrics
// and `runs` times without, alternating which goes first, and compares the
// medians: what metrics cost in ack latency, resident memory and CPU.
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
			r := costRun{
				ackP50: percentile(a.lat, 50), ackP99: percentile(a.lat, 99),
				idle: mean(d.idle, func(m memory) int64 { return m.RSS }),
				busy: mean(d.busy, func(m memory) int64 { return m.RSS }),
				peak: mean(d.done, func(m memory) int64 { return m.Peak }),
				cpu:  mean(d.cpu, func(c time.Duration) time.Duration { return c }),
			}
			if b.metrics {
				on = append(on, r)
			} else {
				off = append(off, r)
			}
			b.note("e: run %d, metrics %s: ack p50 %s p99 %s; VmRSS idle %s, %d in flight %s; VmHWM %s; CPU %s",
				i+1, onOff(b.metrics), ms(r.ackP50), ms(r.ackP99), mb(r.idle), memN, mb(r.busy), mb(r.peak), ms(r.cpu))
		}
	}

	label := fmt.Sprintf("e. metrics off → on, median of %d runs each: ", runs)
	per := ""
	if b.replicas > 1 {
		per = fmt.Sprintf(" (mean of %d replicas)", b.replicas)
	}
	cmpMs := func(f func(costRun) time.Duration) string {
		a, b := medianRun(off, f), medianRun(on, f)
		return fmt.Sprintf("%s → %s (%+.0f%%)", ms(a), ms(b), change(float64(a), float64(b)))
	}
	cmpMB := func(f func(costRun) int64) string {
		a, b := medianRun(off, f), medianRun(on, f)
		return fmt.Sprintf("%s → %s (%+.1f MB)", mb(a), mb(b), float64(b-a)/1024)
	}
	return []row{
		{scenario: label + fmt.Sprintf("ack p50, %d in flight", held), figure: cmpMs(func(r costRun) time.Duration { return r.ackP50 })},
		{scenario: label + fmt.Sprintf("ack p99, %d in flight", held), figure: cmpMs(func(r costRun) time.Duration { return r.ackP99 })},
		{scenario: label + "VmRSS idle" + per, figure: cmpMB(func(r costRun) int64 { return r.idle })},
		{scenario: label + fmt.Sprintf("VmRSS, %d in flight%s", memN, per), figure: cmpMB(func(r costRun) int64 { return r.busy })},
		{scenario: label + fmt.Sprintf("VmHWM, %d in flight then answered%s", memN, per), figure: cmpMB(func(r costRun) int64 { return r.peak })},
		{scenario: label + fmt.Sprintf("bot CPU time, connect → %d transfers done (d)%s", memN, per), figure: cmpMs(func(r costRun) time.Duration { return r.cpu })},
	}, nil
}

// mean is the mean of f over xs (not empty): one figure for the replicas.
func mean[T any, V ~int64](xs []T, f func(T) V) V {
	var sum V
	for _, x := range xs {
		sum += f(x)
	}
	return sum / V(len(xs))
}

// medianRun is the median of f over rs.
func medianRun[V ~int64](rs []costRun, f func(costRun) V) V {
	vs := make([]V, len(rs))
	for i, r := range rs {
		vs[i] = f(r)
	}
	return percentile(vs, 50)
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
		return "on (each bot its own HEALTH_ADDR, /metrics scraped around a's probes)"
	}
	return "off (no HEALTH_ADDR)"
}
