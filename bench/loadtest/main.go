// Command loadtest measures the bot: the real bot binary against a fake
// Slack and a fake Plivo on loopback. It lives in the bench module, apart
// from the product's:
//
//	cd bench && go run ./loadtest
//
// It builds the repository's ./cmd/bot with the same go command, then for
// each scenario starts, in this process, a fakeslack server (real Socket
// Mode over a websocket, and the Web API) and a fakeplivo server, runs the
// bot binary as a child process pointed at them (SLACK_API_URL,
// PLIVO_PHLO_URL, tokens and ids the fakes accept, one supervisor allowed
// by id so that no group lookup happens, no per-requester rate
// (TRANSFER_RATE_PER_USER=0), LOG_LEVEL=warn, -env-file "" (no file) and
// none of the caller's environment but GOGC, GOMEMLIMIT, GOMAXPROCS and
// GODEBUG, which pass through to try them), waits for the socket, and
// drives /transfer commands with distinct numbers, each of a call of its
// own (the bot takes one transfer per call). Every figure comes from the
// fakes' own records: when an envelope was written and its ack read, when
// each Web API call and Plivo request arrived.
//
//	a. Ack latency while transfers are in flight: -inflight transfers are
//	   held by Plivo; meanwhile -probes more are sent at one per
//	   -probe-interval (Plivo answers those at once) and their acks timed.
//	b. Overhead: envelope sent → thread reply received, minus the fake
//	   Plivo's -overhead-delay, over -overhead transfers run
//	   -overhead-concurrency at a time, after 10 warm-up transfers. The
//	   delay is 0 by default: a real one adds the fake's timer overshoot
//	   (~0.3 ms on a small VM) and both processes' wake-up from idle to
//	   the figure, which are not the bot's work.
//	c. Throughput: -throughput transfers sent back to back against a Plivo
//	   that answers each after -throughput-delay; first sent → last reply.
//	   The target is the delay plus 1 s (1.5 s at the default).
//	d. Memory: the bot's VmRSS idle after connect, VmRSS once -memory
//	   transfers all wait on Plivo (held -memory-hold), and VmHWM (peak) once
//	   they are done, from /proc/<pid>/status.
//	e. The cost of metrics (not run by default: -only e): a and d, each run
//	   -cost-runs times with metrics and as many without, alternating which
//	   goes first; the medians side by side, with the bot's CPU time over d
//	   from /proc/<pid>/stat.
//
// The bot runs with metrics (a HEALTH_ADDR on a free loopback port, which is
// what turns them on) unless -metrics=false. Scenario a then also scrapes
// the bot's /metrics before and after its probes and shows the bot's own
// view of the same acks, coldtransfer_ack_duration_seconds, with quantiles
// estimated from the histogram's buckets as histogram_quantile would.
//
// Each scenario gets a fresh bot process, so that none inherits another's
// connections or heap. The fakes share the machine with the bot: on a small
// machine they take part of the CPU the bot would otherwise have.
//
// The output is a table of figures with their targets, and the machine. The
// exit status is 1 only when the run itself failed (a transfer that did not
// go through, a bot that did not start); a missed target is reported "over"
// and still exits 0. The bot's logs stay in a temporary directory, which is
// kept, and named, when the bot logged anything or the run failed.
//
// -redis runs every scenario against two replicas of the bot instead of
// one: both bot processes get REDIS_URL pointing at one redis-server started
// for the scenario (Debian's package, on a loopback port), and the fake
// Slack hands envelopes to their two connections in turn, so every request
// also goes through the shared store. Memory is reported per replica. With
// metrics, each replica has a HEALTH_ADDR of its own, and scenario a sums
// their ack histograms bucket by bucket (as sum by (le) would), so that the
// bots' view covers the same probes as the fake's; scenario e reports the
// mean of the replicas' memory and CPU.
//
// -bot runs a binary built elsewhere instead, e.g. a scratch copy with a
// change to compare, or with profiling added.
//
// -peers runs the same scenarios for coldtransfer and its two peers in
// bench/peers (refbot, built from its own module; the Bolt for JS bot,
// installed with npm ci in a temporary copy where node is present),
// interleaved over -runs rounds, and prints one table: each figure per
// implementation, with CPU time per transfer from /proc/<pid>/stat, and
// coldtransfer's ratio to the best peer (peers.go). -compare BIN adds
// another coldtransfer build as a column (before and after a change).
// -redis and -metrics apply to the coldtransfer builds only: with -redis
// each runs as two replicas (RSS per replica, CPU summed over both).
//
// -floor runs scenario f, the busy floor (busyfloor.go): Slack answers in
// 100–300 ms and takes about one message per second per channel (HTTP 429
// with Retry-After past it), a few channels get transfers at random, and
// the figures are what a supervisor waits for: envelope → Plivo request
// and envelope → thread reply. It combines with -peers and -compare.
//
// -prod runs production mode instead (prod.go, prodnet.go): every fake
// behind TLS with a certificate of a CA made for the run (the bot trusts it
// through SSL_CERT_FILE), a one-way delay per hop on every byte, handshakes
// included (-prod-slack, -prod-plivo), idle connections closed by the fakes
// (-prod-idle), and for each bot a first transfer, -prod-warm warm ones and
// one after -prod-quiet without any. Each hop, envelope → ack,
// announcement, Plivo request, thread reply and ✅, is printed beside its
// floor, the injected delays alone. -prod-bot "label [binary] [NAME=value
// …]", repeated, runs several builds or settings side by side.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/redistest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var (
		only        = flags.String("only", "abcd", "`scenarios` to run, e.g. \"ac\"")
		bin         = flags.String("bot", "", "bot `binary` to run instead of building ./cmd/bot")
		maxInFlight = flags.Int("max-in-flight", 2000, "the bot's MAX_IN_FLIGHT")
		keep        = flags.Bool("keep", false, "keep the temporary directory with the bot's logs")
		redisMode   = flags.Bool("redis", false, "run two replicas of the bot sharing a redis-server (REDIS_URL), envelopes spread over both")
		metricsOn   = flags.Bool("metrics", true, "run the bot with HEALTH_ADDR, which turns its metrics on (a, b, c, d)")
		costRuns    = flags.Int("cost-runs", 3, "e: runs of a and d with metrics and as many without")

		inflight      = flags.Int("inflight", 100, "a: transfers held in flight")
		probes        = flags.Int("probes", 500, "a: transfers whose acks are timed")
		probeInterval = flags.Duration("probe-interval", 2*time.Millisecond, "a: pace of the timed transfers")

		overheadN     = flags.Int("overhead", 200, "b: transfers timed (-peers, -compare: 1000 unless set)")
		overheadConc  = flags.Int("overhead-concurrency", 1, "b: transfers at a time")
		overheadDelay = flags.Duration("overhead-delay", 0, "b: the fake Plivo's delay")

		throughputN     = flags.Int("throughput", 1000, "c: transfers")
		throughputDelay = flags.Duration("throughput-delay", 500*time.Millisecond, "c: the fake Plivo's delay")

		memoryN    = flags.Int("memory", 1000, "d: transfers in flight")
		memoryHold = flags.Duration("memory-hold", 3*time.Second, "d: how long the fake Plivo holds each")
		settle     = flags.Duration("settle", 500*time.Millisecond, "d: wait after connect before reading idle memory")

		peers    = flags.Bool("peers", false, "run coldtransfer and the peers (refbot, Bolt for JS) side by side, interleaved")
		peersDir = flags.String("peers-dir", "", "the peers' `folder` (default the bench module's peers)")
		peersEnv = flags.String("peers-env", "", "`NAME=value,…` added to the peers' environment, e.g. GOMAXPROCS=1")
		compare  = flags.String("compare", "", "other coldtransfer `binaries` to run side by side, comma-separated (e.g. before a change)")
		runs     = flags.Int("runs", 3, "-peers, -compare, -floor: rounds of every scenario for every implementation")
		floor    = flags.Bool("floor", false, "run scenario f, the busy floor (as -only f), see busyfloor.go")
		pinCPUs  = flags.Bool("pin", true, "-peers, -compare, -floor: the load test on CPU 0, every bot on CPU 1 (2+ CPUs, taskset), see cpus.go")
	)
	prodMode := flags.Bool("prod", false, "production mode: TLS, delays per hop, idle connections closed, quiet periods; see prod.go")
	floorParams := floorFlags(flags)
	prodParams := prodFlags(flags)
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *inflight < 1 || *probes < 1 || *overheadN < 1 || *overheadConc < 1 || *throughputN < 1 || *memoryN < 1 || *costRuns < 1 {
		fmt.Fprintln(stderr, "loadtest: counts must be at least 1")
		return 2
	}
	if *floor && !strings.ContainsRune(*only, 'f') {
		*only = "f"
	}
	if *redisMode {
		if err := redistest.Installed(); err != nil {
			fmt.Fprintf(stderr, "loadtest: -redis: %v\n", err)
			return 1
		}
	}
	*runs = floorRuns(flags, *only, *runs)
	if *peers || *compare != "" || strings.ContainsRune(*only, 'f') {
		if !isSet(flags, "overhead") {
			// Side by side, b times more transfers: its p99 is then the
			// 10th worst, not the 2nd, and its CPU per transfer is the
			// bot's steady state more than its first hundred transfers'.
			*overheadN = peersOverheadN
		}
		return runPeers(ctx, peersConfig{*peers, *peersDir, *compare, *peersEnv, *runs, *bin, *maxInFlight, *keep, *redisMode, *metricsOn, *pinCPUs},
			scenarioParams{*only, *inflight, *probes, *probeInterval, *overheadN, *overheadConc, *overheadDelay,
				*throughputN, *throughputDelay, *memoryN, *memoryHold, *settle, *floorParams}, stdout, stderr)
	}
	began := time.Now()

	dir, err := os.MkdirTemp("", "coldtransfer-loadtest-")
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return 1
	}
	b := &bench{bin: *bin, dir: dir, maxInFlight: *maxInFlight, keep: *keep, replicas: 1, metrics: *metricsOn}
	if *redisMode {
		b.replicas, b.redis = 2, true
	}
	defer func() {
		if b.keep {
			fmt.Fprintf(stderr, "bot logs kept in %s\n", dir)
		} else {
			os.RemoveAll(dir)
		}
	}()
	if b.bin == "" && (!*prodMode || prodParams.needsBuild()) {
		fmt.Fprintln(stderr, "building ./cmd/bot …")
		if b.bin, err = buildBot(ctx, dir); err != nil {
			fmt.Fprintf(stderr, "loadtest: %v\n", err)
			return 1
		}
	}

	if *prodMode {
		b.pin = pinning{why: "as in production, each bot may run on either CPU"}
		if isSet(flags, "pin") && *pinCPUs {
			b.pin = pin()
		}
		return runProduction(ctx, *prodParams, b, stdout, stderr)
	}

	scenarios := []struct {
		id  byte
		run func() ([]row, error)
	}{
		{'a', func() ([]row, error) { return b.ackLatency(ctx, *inflight, *probes, *probeInterval) }},
		{'b', func() ([]row, error) { return b.overhead(ctx, *overheadN, *overheadConc, *overheadDelay) }},
		{'c', func() ([]row, error) { return b.throughput(ctx, *throughputN, *throughputDelay) }},
		{'d', func() ([]row, error) { return b.memory(ctx, *memoryN, *memoryHold, *settle) }},
		{'e', func() ([]row, error) {
			return b.metricsCost(ctx, *costRuns, *inflight, *probes, *probeInterval, *memoryN, *memoryHold, *settle)
		}},
	}
	var rows []row
	failed := false
	for _, s := range scenarios {
		if !strings.ContainsRune(*only, rune(s.id)) {
			continue
		}
		fmt.Fprintf(stderr, "running %c …", s.id)
		start := time.Now()
		rs, err := s.run()
		fmt.Fprintf(stderr, " %.1f s\n", time.Since(start).Seconds())
		if err != nil {
			fmt.Fprintf(stderr, "loadtest: scenario %c: %v\n", s.id, err)
			rows = append(rows, row{scenario: fmt.Sprintf("%c. FAILED", s.id), figure: "see above"})
			failed, b.keep = true, true
		}
		rows = append(rows, rs...)
		if ctx.Err() != nil {
			break
		}
	}

	fmt.Fprintf(stdout, "coldtransfer load test: the bot binary against fake Slack (Socket Mode) and fake Plivo on loopback\n")
	fmt.Fprintf(stdout, "machine: %s, %d CPUs, %s/%s, %s\n", cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	if b.redis {
		fmt.Fprintf(stdout, "replicas: %d bot processes sharing one redis-server (REDIS_URL) on loopback; the fake Slack hands envelopes to their connections in turn\n", b.replicas)
	}
	fmt.Fprintf(stdout, "bot: LOG_LEVEL=warn (a successful transfer's audit line is info, so not written), MAX_IN_FLIGHT=%d", *maxInFlight)
	if env := runtimeEnv(); env != nil {
		fmt.Fprintf(stdout, ", %s", strings.Join(env, " "))
	}
	fmt.Fprintf(stdout, "; fakes in the load test's process\n")
	fmt.Fprintf(stdout, "metrics: %s in a, b, c and d (-metrics); e runs a and d with and without\n\n", metricsMode(*metricsOn))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tfigure\ttarget\t")
	for _, r := range rows {
		target := r.target
		if target == "" {
			target = "—"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.scenario, r.figure, target, r.verdict)
	}
	tw.Flush()
	if len(b.notes) > 0 {
		fmt.Fprintln(stdout)
		for _, n := range b.notes {
			fmt.Fprintf(stdout, "note: %s\n", n)
		}
	}
	fmt.Fprintf(stdout, "\nwhole run: %.1f s\n", time.Since(began).Seconds())
	if failed || ctx.Err() != nil {
		return 1
	}
	return 0
}

// cpuModel returns the CPU's model name from /proc/cpuinfo, or "unknown CPU".
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(data)) {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}
