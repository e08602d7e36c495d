package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
)

// -peers: coldtransfer side by side with the two peers in bench/peers
// (refbot, slack-go's SocketmodeHandler; boltjs, Bolt for JavaScript), the
// same scenarios, interleaved, one table.
//
// Every implementation gets the same fakes, the same environment (the peers
// read the same variables and ignore the rest, MAX_IN_FLIGHT included) and
// the same commands. The differences the harness allows for: a peer never
// marks its announcement (chat.update), so its last step, and what
// overhead waits for, is its thread reply; and a peer has no bound on work
// in flight, so coldtransfer's MAX_IN_FLIGHT is raised to at least the
// largest burst (1000 by default), which makes the bound equal: nobody is
// told to retry, everyone does all the work.

// peersOverheadN is scenario b's count of timed transfers side by side,
// unless -overhead says otherwise.
const peersOverheadN = 1000

// Figure names, as the scenarios record them for the -peers table.
const (
	figAckP50      = "ack p50"
	figAckP99      = "ack p99"
	figAckMax      = "ack max"
	figOverheadP50 = "overhead p50"
	figOverheadP99 = "overhead p99"
	figBurstTotal  = "burst first sent → last reply"
	figBurstAckP99 = "burst ack p99"
	figRSSIdle     = "RSS idle"
	figRSSIdleAnon = "RSS idle anonymous"
	figRSSBusy     = "RSS busy"
	figRSSPeak     = "RSS peak"
	// figCPU is prefixed with the scenario's letter: "a CPU/transfer".
	figCPU = "CPU/transfer"
	// figCPURequest, prefixed too, is CPU time per HTTP request the bot
	// made: like for like, as coldtransfer makes one more per transfer
	// (the ✅/❌ mark) than the peers.
	figCPURequest = "CPU/request"
)

// figure keeps d, in milliseconds, under name when figures are kept; a
// wait for what never came is +Inf.
func (b *bench) figure(name string, d time.Duration) {
	switch {
	case b.figures == nil:
	case d == never:
		b.figures[name] = math.Inf(1)
	default:
		b.figures[name] = float64(d) / float64(time.Millisecond)
	}
}

// figureKB keeps a size given in kB, in MB, under name when figures are kept.
func (b *bench) figureKB(name string, kB int64) {
	if b.figures != nil {
		b.figures[name] = float64(kB) / 1024
	}
}

// waitOne waits until the bot is done with t: its thread reply posted
// and, but for a peer, which marks nothing, its announcement marked. Only
// what Slack took counts (a call answered 429 posted nothing). The matches
// run under the fake's lock, over every call so far: they must stay cheap,
// or the fake's answers to the bot wait on them.
func (b *bench) waitOne(ctx context.Context, w *world, t *transfer) error {
	if !b.peer {
		// The mark goes beside the reply, so either may come last.
		if _, err := w.slack.WaitCall(ctx, "chat.update", func(c fakeslack.Call) bool { return mentions(c, t.to) && tookIt(c) }); err != nil {
			return err
		}
	}
	ann, err := w.slack.WaitCall(ctx, "chat.postMessage", func(c fakeslack.Call) bool {
		return mentions(c, t.to) && tookIt(c) && c.Arg("thread_ts") == ""
	})
	if err != nil {
		return err
	}
	ts := ann.AnswerArg("ts")
	_, err = w.slack.WaitCall(ctx, "chat.postMessage", func(c fakeslack.Call) bool {
		return tookIt(c) && c.Arg("thread_ts") == ts
	})
	return err
}

// mentions reports whether the call's body holds s, without decoding it.
func mentions(c fakeslack.Call, s string) bool {
	if c.Form != nil {
		return strings.Contains(c.Form.Get("text"), s)
	}
	return bytes.Contains(c.JSON, []byte(s))
}

// tookIt reports whether the fake answered the call ok:true, without
// decoding the answer (the fake encodes its answers with sorted keys and no
// spaces).
func tookIt(c fakeslack.Call) bool { return bytes.Contains(c.Answer, []byte(`"ok":true`)) }

// scenarioParams are the scenarios' knobs, as the flags set them.
type scenarioParams struct {
	only            string
	inflight        int
	probes          int
	probeInterval   time.Duration
	overheadN       int
	overheadConc    int
	overheadDelay   time.Duration
	throughputN     int
	throughputDelay time.Duration
	memoryN         int
	memoryHold      time.Duration
	settle          time.Duration
	floor           floorParams
}

// peersConfig says which implementations run side by side (-peers,
// -compare, -floor), beyond the scenarios' knobs.
type peersConfig struct {
	peers       bool   // run refbot and the Bolt peer too
	dir         string // the peers' folder; "" is bench/peers
	compare     string // other coldtransfer binaries to run beside it ("before"), comma-separated, or ""
	peersEnv    string // NAME=value,… added to the peers' environment (e.g. GOMAXPROCS=1), or ""
	runs        int    // rounds: each runs every scenario once per implementation
	bin         string // coldtransfer binary; "" builds ./cmd/bot
	maxInFlight int
	keep        bool
	redis       bool // coldtransfer builds run as two replicas sharing a redis-server (-redis)
	metrics     bool // coldtransfer builds run with HEALTH_ADDR, and so with metrics (-metrics)
	pin         bool // the load test on one CPU, the bots on another (-pin)
}

// impl is one implementation under test.
type impl struct {
	name string
	bin  string // what to run; "" when it could not be prepared
	why  string // why not, when bin is ""
	peer bool
	// likeForLike marks a build shown beside the peers for comparison
	// but never counted as the best other: not a peer (see likeforlike.go).
	likeForLike bool
	scenarios   string // the scenarios it runs; "" is all
}

// peerScenario is one scenario as -peers runs it: how many transfers it
// makes (for CPU per transfer) and how to run it on a bench.
type peerScenario struct {
	id        byte
	transfers int
	run       func(context.Context, *bench) ([]row, error)
}

func (p scenarioParams) scenarios() []peerScenario {
	all := []peerScenario{
		{'a', p.inflight + p.probes, func(ctx context.Context, b *bench) ([]row, error) {
			return b.ackLatency(ctx, p.inflight, p.probes, p.probeInterval)
		}},
		{'b', p.overheadN + 10, func(ctx context.Context, b *bench) ([]row, error) { // 10 warm-up transfers
			return b.overhead(ctx, p.overheadN, p.overheadConc, p.overheadDelay)
		}},
		{'c', p.throughputN, func(ctx context.Context, b *bench) ([]row, error) {
			return b.throughput(ctx, p.throughputN, p.throughputDelay)
		}},
		{'d', p.memoryN, func(ctx context.Context, b *bench) ([]row, error) {
			return b.memory(ctx, p.memoryN, p.memoryHold, p.settle)
		}},
		{'f', len(p.floor.schedule()), func(ctx context.Context, b *bench) ([]row, error) {
			return b.busyFloor(ctx, p.floor)
		}},
	}
	return slices.DeleteFunc(all, func(s peerScenario) bool { return !strings.ContainsRune(p.only, rune(s.id)) })
}

// cell is one implementation's values of one figure over the runs, or why
// there are none.
type cell struct {
	values []float64
	why    string
}

// runPeers is -peers (and -compare, -floor): it prepares the
// implementations, runs every scenario for each, interleaved, cfg.runs
// times, and prints one table.
func runPeers(ctx context.Context, cfg peersConfig, p scenarioParams, stdout, stderr io.Writer) int {
	began := time.Now()
	load0 := loadAvg()
	dir, err := os.MkdirTemp("", "coldtransfer-peers-")
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return 1
	}
	keep := cfg.keep
	defer func() {
		if keep {
			fmt.Fprintf(stderr, "logs kept in %s\n", dir)
		} else {
			os.RemoveAll(dir)
		}
	}()

	// Equal bounds: the peers have none, so coldtransfer's must hold the
	// largest burst, or it would tell some requesters to retry and do less.
	maxInFlight := max(cfg.maxInFlight, p.inflight+p.probes, p.throughputN, p.memoryN)

	ct := impl{name: "coldtransfer", bin: cfg.bin}
	if ct.bin == "" {
		fmt.Fprintln(stderr, "building ./cmd/bot …")
		if ct.bin, err = buildBot(ctx, dir); err != nil {
			fmt.Fprintf(stderr, "loadtest: %v\n", err)
			return 1
		}
	}
	impls := []impl{ct}
	if cfg.compare != "" {
		for _, bin := range strings.Split(cfg.compare, ",") {
			impls = append(impls, impl{name: filepath.Base(bin), bin: bin})
		}
	}
	if cfg.peers {
		peersDir, err := findPeers(ctx, cfg.dir)
		if err != nil {
			fmt.Fprintf(stderr, "loadtest: %v\n", err)
			return 1
		}
		env := strings.FieldsFunc(cfg.peersEnv, func(r rune) bool { return r == ',' })
		impls = append(impls, prepareRefbot(ctx, peersDir, dir, env, stderr), prepareBolt(ctx, peersDir, dir, env, stderr),
			prepareRefbotLibraries(ctx, peersDir, dir, env, stderr))
	}

	pins := pinning{why: "-pin=false"}
	if cfg.pin {
		pins = pin() // after the builds: they may use every CPU
	}

	scenarios := p.scenarios()
	cells := map[string]map[string]*cell{} // figure → implementation → values
	put := func(fig, name string, v float64) {
		if cells[fig] == nil {
			cells[fig] = map[string]*cell{}
		}
		if cells[fig][name] == nil {
			cells[fig][name] = &cell{}
		}
		cells[fig][name].values = append(cells[fig][name].values, v)
	}
	fail := func(s peerScenario, name, why string) {
		for _, r := range peerRows {
			if r.scenario == s.id {
				if cells[r.key] == nil {
					cells[r.key] = map[string]*cell{}
				}
				if cells[r.key][name] == nil {
					cells[r.key][name] = &cell{}
				}
				if cells[r.key][name].why == "" {
					cells[r.key][name].why = why
				}
			}
		}
	}

	failed := false
	for run := range cfg.runs {
		for _, s := range scenarios {
			// Round-robin: each run starts with the next implementation, so
			// that none always goes first (or last) on a warming machine.
			for i := range impls {
				im := impls[(i+run)%len(impls)]
				if im.bin == "" {
					fail(s, im.name, im.why)
					continue
				}
				if im.scenarios != "" && !strings.ContainsRune(im.scenarios, rune(s.id)) {
					fail(s, im.name, "like for like on memory only")
					continue
				}
				sub := filepath.Join(dir, fmt.Sprintf("%s-%d", strings.ReplaceAll(im.name, " ", "-"), run+1))
				if err := os.MkdirAll(sub, 0o755); err != nil {
					fmt.Fprintf(stderr, "loadtest: %v\n", err)
					return 1
				}
				b := &bench{bin: im.bin, dir: sub, maxInFlight: maxInFlight, replicas: 1, peer: im.peer, pin: pins, figures: map[string]float64{}}
				if !im.peer { // the peers have neither Redis nor metrics
					b.metrics = cfg.metrics
					if cfg.redis {
						b.replicas, b.redis = 2, true
					}
				}
				fmt.Fprintf(stderr, "run %d/%d: %c %-13s …", run+1, cfg.runs, s.id, im.name)
				start := time.Now()
				_, err := s.run(ctx, b)
				fmt.Fprintf(stderr, " %.1f s\n", time.Since(start).Seconds())
				for _, n := range b.notes {
					fmt.Fprintf(stderr, "  note: %s\n", n)
				}
				if b.keep {
					keep = true
				}
				if err != nil {
					fmt.Fprintf(stderr, "  %s, scenario %c: %v\n", im.name, s.id, err)
					fail(s, im.name, "failed: "+firstLine(err.Error()))
					if im.name == impls[0].name {
						failed, keep = true, true
					}
					if ctx.Err() != nil {
						return 1
					}
					continue
				}
				for k, v := range b.figures {
					put(k, im.name, v)
				}
				if b.cpu > 0 && s.transfers > 0 {
					put(fmt.Sprintf("%c %s", s.id, figCPU), im.name, float64(b.cpu)/float64(time.Millisecond)/float64(s.transfers))
				}
				if b.cpu > 0 && b.requests > 0 {
					put(fmt.Sprintf("%c %s", s.id, figCPURequest), im.name, float64(b.cpu)/float64(time.Millisecond)/float64(b.requests))
				}
			}
		}
	}

	fmt.Fprintf(stdout, "coldtransfer side by side (%s): each bot binary against fake Slack (Socket Mode) and fake Plivo on loopback\n", names(impls))
	if cfg.compare != "" {
		fmt.Fprintf(stdout, "compare: %s\n", cfg.compare)
	}
	fmt.Fprintf(stdout, "machine: %s, %d CPUs, %s/%s, %s; load average %s at the start, %s at the end\n",
		cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), load0, loadAvg())
	fmt.Fprintf(stdout, "CPUs: %s\n", pins.describe())
	fmt.Fprintf(stdout, "%d interleaved runs (each scenario, each implementation in turn, a fresh process each); median (min–max); lower is better\n", cfg.runs)
	if cfg.peersEnv != "" {
		fmt.Fprintf(stdout, "peers' environment: %s\n", cfg.peersEnv)
	}
	fmt.Fprintf(stdout, "all: LOG_LEVEL=warn; coldtransfer: MAX_IN_FLIGHT=%d (≥ the largest burst, so it refuses nothing: the peers have no bound)", maxInFlight)
	if env := runtimeEnv(); env != nil {
		fmt.Fprintf(stdout, ", %s", strings.Join(env, " "))
	}
	fmt.Fprintf(stdout, "\ncoldtransfer builds: metrics %s", metricsMode(cfg.metrics))
	if cfg.redis {
		fmt.Fprintf(stdout, "; two replicas sharing a redis-server (REDIS_URL): RSS per replica (mean), CPU per transfer summed over both")
	}
	fmt.Fprintf(stdout, "\n\n")
	printPeerTable(stdout, impls, cells, p)
	fmt.Fprintf(stdout, "\nwhole run: %.1f s\n", time.Since(began).Seconds())
	if failed || ctx.Err() != nil {
		return 1
	}
	return 0
}

// peerRow is one row of the -peers table.
type peerRow struct {
	key      string
	scenario byte
	label    func(scenarioParams) string
	unit     string
}

var peerRows = []peerRow{
	{figAckP50, 'a', func(p scenarioParams) string { return fmt.Sprintf("a. ack p50, %d in flight", p.inflight) }, "ms"},
	{figAckP99, 'a', func(p scenarioParams) string { return fmt.Sprintf("a. ack p99, %d in flight", p.inflight) }, "ms"},
	{figAckMax, 'a', func(p scenarioParams) string { return fmt.Sprintf("a. ack max, %d in flight", p.inflight) }, "ms"},
	{"a " + figCPU, 'a', func(p scenarioParams) string { return fmt.Sprintf("a. CPU per transfer (%d)", p.inflight+p.probes) }, "ms"},
	{"a " + figCPURequest, 'a', func(scenarioParams) string { return "a. CPU per HTTP request it made (like for like)" }, "ms"},
	{figOverheadP50, 'b', func(scenarioParams) string { return "b. overhead p50" }, "ms"},
	{figOverheadP99, 'b', func(scenarioParams) string { return "b. overhead p99" }, "ms"},
	{"b " + figCPU, 'b', func(scenarioParams) string { return "b. CPU per transfer, one at a time" }, "ms"},
	{"b " + figCPURequest, 'b', func(scenarioParams) string { return "b. CPU per HTTP request it made (like for like)" }, "ms"},
	{figBurstTotal, 'c', func(p scenarioParams) string {
		return fmt.Sprintf("c. %d at once, %v Plivo: first sent → last reply", p.throughputN, p.throughputDelay)
	}, "ms"},
	{figBurstAckP99, 'c', func(p scenarioParams) string { return fmt.Sprintf("c. %d at once: ack p99", p.throughputN) }, "ms"},
	{"c " + figCPU, 'c', func(p scenarioParams) string { return fmt.Sprintf("c. %d at once: CPU per transfer", p.throughputN) }, "ms"},
	{"c " + figCPURequest, 'c', func(scenarioParams) string { return "c. CPU per HTTP request it made (like for like)" }, "ms"},
	{figRSSIdle, 'd', func(scenarioParams) string { return "d. RSS idle" }, "MB"},
	{figRSSIdleAnon, 'd', func(scenarioParams) string { return "d. RSS idle, anonymous only (not the binary's pages)" }, "MB"},
	{figRSSBusy, 'd', func(p scenarioParams) string { return fmt.Sprintf("d. RSS, %d in flight", p.memoryN) }, "MB"},
	{figRSSPeak, 'd', func(p scenarioParams) string { return fmt.Sprintf("d. RSS peak, %d in flight (VmHWM)", p.memoryN) }, "MB"},
	{"d " + figCPU, 'd', func(p scenarioParams) string { return fmt.Sprintf("d. %d held: CPU per transfer", p.memoryN) }, "ms"},
	{"d " + figCPURequest, 'd', func(scenarioParams) string { return "d. CPU per HTTP request it made (like for like)" }, "ms"},
	{figFloorPlivoP50, 'f', func(scenarioParams) string { return "f. busy floor: envelope → Plivo request p50" }, "ms"},
	{figFloorPlivoP99, 'f', func(scenarioParams) string { return "f. busy floor: envelope → Plivo request p99" }, "ms"},
	{figFloorPlivoMax, 'f', func(scenarioParams) string { return "f. busy floor: envelope → Plivo request max" }, "ms"},
	{figFloorReplyP50, 'f', func(scenarioParams) string { return "f. busy floor: envelope → thread reply p50" }, "ms"},
	{figFloorReplyP99, 'f', func(scenarioParams) string { return "f. busy floor: envelope → thread reply p99" }, "ms"},
	{figFloorReplyMax, 'f', func(scenarioParams) string { return "f. busy floor: envelope → thread reply max" }, "ms"},
	{figFloorMarkP50, 'f', func(scenarioParams) string { return "f. busy floor: envelope → ✅ p50 (peers mark nothing)" }, "ms"},
	{figFloorMarkP99, 'f', func(scenarioParams) string { return "f. busy floor: envelope → ✅ p99 (peers mark nothing)" }, "ms"},
	{figFloorLost, 'f', func(p scenarioParams) string {
		return fmt.Sprintf("f. busy floor: transfers without a thread reply (of %d)", len(p.floor.schedule()))
	}, "count"},
	{figFloor429, 'f', func(scenarioParams) string { return "f. busy floor: Slack's 429 answers" }, "count"},
	{"f " + figCPU, 'f', func(scenarioParams) string { return "f. busy floor: CPU per transfer" }, "ms"},
}

func names(impls []impl) string {
	ns := make([]string, len(impls))
	for i, im := range impls {
		ns[i] = im.name
	}
	return strings.Join(ns, ", ")
}

func printPeerTable(out io.Writer, impls []impl, cells map[string]map[string]*cell, p scenarioParams) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	header := []string{"figure", "unit"}
	for _, im := range impls {
		header = append(header, im.name)
	}
	header = append(header, "coldtransfer ÷ best other")
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, r := range peerRows {
		if !strings.ContainsRune(p.only, rune(r.scenario)) {
			continue
		}
		line := []string{r.label(p), r.unit}
		var ours, best float64 = -1, -1
		for _, im := range impls {
			c := cells[r.key][im.name]
			if c == nil || len(c.values) == 0 {
				why := "not run"
				if c != nil && c.why != "" {
					why = c.why
				}
				line = append(line, "— ("+why+")")
				continue
			}
			med := median(c.values)
			if r.unit == "count" {
				line = append(line, countSpread(c.values))
			} else {
				line = append(line, spread(c.values))
			}
			switch {
			case im.name == impls[0].name:
				ours = med
			case im.likeForLike:
			case best < 0 || med < best:
				best = med
			}
		}
		ratio := "—"
		switch {
		case ours < 0 || best < 0:
		case math.IsInf(ours, 1) && math.IsInf(best, 1), ours == 0 && best == 0:
			ratio = "equal"
		case math.IsInf(best, 1):
			ratio = "leads"
		case math.IsInf(ours, 1):
			ratio = "behind"
		case ours >= 0 && best == 0:
			ratio = "behind"
		case ours >= 0 && best > 0:
			ratio = fmt.Sprintf("%.2f×", ours/best)
			if ours <= best {
				ratio += " leads"
			} else {
				ratio += " behind"
			}
		}
		line = append(line, ratio)
		fmt.Fprintln(tw, strings.Join(line, "\t")+"\t")
	}
	tw.Flush()
}

// median returns the middle value (the lower of the two middle ones for an
// even count, like percentile).
func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// spread renders the median and, for several runs, the range.
func spread(vs []float64) string {
	if len(vs) == 1 {
		return num(vs[0])
	}
	return fmt.Sprintf("%s (%s–%s)", num(median(vs)), num(slices.Min(vs)), num(slices.Max(vs)))
}

// countSpread is spread for counts: whole numbers.
func countSpread(vs []float64) string {
	if len(vs) == 1 {
		return fmt.Sprintf("%.0f", vs[0])
	}
	return fmt.Sprintf("%.0f (%.0f–%.0f)", median(vs), slices.Min(vs), slices.Max(vs))
}

// num renders a figure with precision to suit its size.
func num(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "never"
	case f < 1:
		return fmt.Sprintf("%.3f", f)
	case f < 10:
		return fmt.Sprintf("%.2f", f)
	case f < 100:
		return fmt.Sprintf("%.1f", f)
	default:
		return fmt.Sprintf("%.0f", f)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 80 {
		s = s[:77] + "…"
	}
	return s
}

// loadAvg is the first three fields of /proc/loadavg, or "unknown".
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// findPeers returns the peers' folder: dir when given, otherwise the bench
// module's peers folder (bench/peers in the repository).
func findPeers(ctx context.Context, dir string) (string, error) {
	if dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return "", fmt.Errorf("-peers-dir: %w", err)
		}
		return filepath.Abs(dir)
	}
	bench, err := benchRoot(ctx)
	if err != nil {
		return "", fmt.Errorf("%w, or give -peers-dir", err)
	}
	p := filepath.Join(bench, "peers")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the peers: %w; give -peers-dir", err)
	}
	return p, nil
}

// prepareRefbot builds refbot (a module of its own) into dir; with env, it
// runs through a start script that sets env and execs it.
func prepareRefbot(ctx context.Context, peersDir, dir string, env []string, stderr io.Writer) impl {
	im := impl{name: "refbot", peer: true}
	src := filepath.Join(peersDir, "refbot")
	if _, err := os.Stat(filepath.Join(src, "go.mod")); err != nil {
		im.why = "no " + src + "/go.mod"
		return im
	}
	return buildGoPeer(ctx, im, src, dir, env, stderr)
}

// buildGoPeer builds the Go module in src into dir as im's binary; with env,
// im runs through a start script that sets env and execs it.
func buildGoPeer(ctx context.Context, im impl, src, dir string, env []string, stderr io.Writer) impl {
	fmt.Fprintf(stderr, "building %s …\n", im.name)
	file := strings.ReplaceAll(im.name, " ", "-")
	bin := filepath.Join(dir, file)
	build := exec.CommandContext(ctx, goTool(), "build", "-o", bin, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "GOWORK=off") // its own module, whatever encloses it
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(stderr, "loadtest: go build %s: %v\n%s", im.name, err, out)
		im.why = "build failed"
		return im
	}
	im.bin = bin
	if len(env) > 0 {
		script, err := startScript(filepath.Join(dir, file+".sh"), env, bin)
		if err != nil {
			im.bin, im.why = "", "start script: "+err.Error()
			return im
		}
		im.bin = script
	}
	return im
}

// startScript writes a shell script at path that execs argv with env added
// to its environment (exec: the process the load test measures is argv's).
func startScript(path string, env []string, argv ...string) (string, error) {
	var b strings.Builder
	b.WriteString("#!/bin/sh\nexec")
	if len(env) > 0 {
		b.WriteString(" /usr/bin/env")
		for _, kv := range env {
			b.WriteString(" " + shellQuote(kv))
		}
	}
	for _, a := range argv {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString("\n")
	return path, os.WriteFile(path, []byte(b.String()), 0o755)
}

// prepareBolt copies the Bolt peer into dir (so that node_modules stays out
// of the repository, whose folder may be read-only),
// installs its locked dependencies with npm ci, and writes a start script
// that execs node, so that the process the load test measures is node
// itself. Without node or npm, or when npm ci fails, it says why.
func prepareBolt(ctx context.Context, peersDir, dir string, env []string, stderr io.Writer) impl {
	im := impl{name: "Bolt for JS", peer: true}
	node, err := exec.LookPath("node")
	if err != nil {
		im.why = "node not found"
		return im
	}
	if _, err := exec.LookPath("npm"); err != nil {
		im.why = "npm not found"
		return im
	}
	src := filepath.Join(peersDir, "boltjs")
	if _, err := os.Stat(filepath.Join(src, "package-lock.json")); err != nil {
		im.why = "no " + src + "/package-lock.json"
		return im
	}
	app := filepath.Join(dir, "boltjs")
	fmt.Fprintln(stderr, "installing the Bolt peer (npm ci) …")
	if out, err := exec.CommandContext(ctx, "cp", "-r", src, app).CombinedOutput(); err != nil {
		fmt.Fprintf(stderr, "loadtest: cp -r %s: %v\n%s", src, err, out)
		im.why = "copy failed"
		return im
	}
	install := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	install.Dir = app
	if out, err := install.CombinedOutput(); err != nil {
		fmt.Fprintf(stderr, "loadtest: npm ci: %v\n%s", err, out)
		im.why = "npm ci failed"
		return im
	}
	// The bot's environment has no PATH: name node by its full path. The
	// load test's arguments (-env-file …) are not for node.
	start, err := startScript(filepath.Join(app, "start.sh"), env, node, filepath.Join(app, "app.js"))
	if err != nil {
		im.why = "start script: " + err.Error()
		return im
	}
	im.bin = start
	return im
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// answeredInAck reports whether an ack carried an answer (a busy or help
// message) rather than being a plain acknowledgement. Bolt's Socket Mode
// client sends a plain ack as "payload":{}, slack-go sends none.
func answeredInAck(payload json.RawMessage) bool {
	p := bytes.TrimSpace(payload)
	return len(p) > 0 && string(p) != "null" && string(p) != "{}"
}
