package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
)

// Production mode (-prod): on a real network a transfer's wait is made of
// round trips, to Slack (tens of ms), to Plivo (tens to hundreds), and the
// handshakes of any connection that has to be made again. Every fake is
// behind TLS and a one-way delay each way (prodnet.go), closes connections
// left idle for -prod-idle, and each bot gets, in turn:
//
//  1. its first transfer, a second after it connected (its Slack
//     connection is open from start-up's auth.test, its Plivo one is not);
//  2. -prod-warm transfers a few seconds apart: the warm ones;
//  3. one transfer after -prod-quiet without any: past the idle time-out,
//     unless the bot kept its connections warm.
//
// Each hop is shown beside its floor, the injected delays alone: a
// transfer's envelope takes one Slack one-way delay to reach the bot, the
// announcement one Slack round trip, the Plivo request one Plivo round
// trip, and the thread reply and the ✅, which need Plivo's answer and
// nothing of each other, one Slack round trip, so that
//
//	envelope → ack            1 Slack round trip
//	envelope → announcement   1 Slack round trip
//	envelope → Plivo request  1½ Slack round trips + ½ Plivo round trip
//	envelope → thread reply   2 Slack round trips + 1 Plivo round trip
//	envelope → ✅             2 Slack round trips + 1 Plivo round trip
//
// (a bot that marks after the reply is a Slack round trip over the ✅'s).
//
// Several builds or settings (-prod-bot, repeated) run side by side, each
// with fakes of its own, their transfers staggered so that no two overlap;
// every bot sees both CPUs unless -pin is given.

// prodParams are production mode's knobs.
type prodParams struct {
	slack, plivo time.Duration // one-way delays
	idle         time.Duration // the fakes close connections idle this long
	quiet        time.Duration // before the after-quiet transfer
	warm         int           // warm transfers per bot
	bots         prodBots
}

// prodBot is one bot of the run: a label, its binary ("" the one built or
// -bot) and variables added to its environment.
type prodBot struct {
	label, bin string
	env        []string
}

// prodBots is the repeated -prod-bot flag.
type prodBots []prodBot

func (bs *prodBots) String() string { return "" }

// Set parses "label [binary] [NAME=value …]".
func (bs *prodBots) Set(s string) error {
	fields := strings.Fields(s)
	if len(fields) == 0 || strings.Contains(fields[0], "=") {
		return errors.New(`want "label [binary] [NAME=value …]"`)
	}
	b := prodBot{label: fields[0]}
	for _, f := range fields[1:] {
		switch {
		case strings.Contains(f, "="):
			b.env = append(b.env, f)
		case b.bin == "":
			b.bin = f
		default:
			return fmt.Errorf("two binaries in %q", s)
		}
	}
	*bs = append(*bs, b)
	return nil
}

// needsBuild reports whether a bot of the run is the build of ./cmd/bot:
// one without a binary of its own, or none given.
func (p prodParams) needsBuild() bool {
	return len(p.bots) == 0 || slices.ContainsFunc(p.bots, func(b prodBot) bool { return b.bin == "" })
}

// prodFlags registers production mode's flags on fs.
func prodFlags(fs *flag.FlagSet) *prodParams {
	p := &prodParams{}
	fs.DurationVar(&p.slack, "prod-slack", 40*time.Millisecond, "-prod: one-way delay to Slack, each way")
	fs.DurationVar(&p.plivo, "prod-plivo", 60*time.Millisecond, "-prod: one-way delay to Plivo, each way")
	fs.DurationVar(&p.idle, "prod-idle", 60*time.Second, "-prod: the fakes close connections idle this long")
	fs.DurationVar(&p.quiet, "prod-quiet", 70*time.Second, "-prod: quiet period before the after-quiet transfer")
	fs.IntVar(&p.warm, "prod-warm", 5, "-prod: warm transfers per bot")
	fs.Var(&p.bots, "prod-bot", "-prod: a `bot` to run, \"label [binary] [NAME=value …]\", repeatable; default the one built (or -bot), labelled main")
	return p
}

// Phases of a bot's transfers.
const (
	phaseFirst = iota
	phaseWarm
	phaseQuiet
	phases
)

// prodRun is one bot of the run and its transfers.
type prodRun struct {
	bot       prodBot
	w         *world
	net       *prodNet
	connected time.Time
	ts        [phases][]*transfer
	cpu       time.Duration
	warmSlack int // auth.test calls after start-up: warm requests
	warmPlivo int // GETs: warm requests
}

// hop is one figure of a transfer, beside its floor.
type hop struct {
	name  string
	floor time.Duration
	took  func(*transfer) time.Duration
}

func (p prodParams) hops() []hop {
	s, v := p.slack, p.plivo
	return []hop{
		{"ack", 2 * s, func(t *transfer) time.Duration { return t.ackLatency }},
		{"announcement", 2 * s, func(t *transfer) time.Duration { return t.announced.Sub(t.sent) }},
		{"Plivo request", 3*s + v, func(t *transfer) time.Duration { return t.toPlivo.Sub(t.sent) }},
		{"thread reply", 4*s + 2*v, func(t *transfer) time.Duration { return t.replied.Sub(t.sent) }},
		{"✅", 4*s + 2*v, func(t *transfer) time.Duration { return t.marked.Sub(t.sent) }},
	}
}

// stagger is the time between two bots' transfers: long enough for a
// transfer that opens both connections anew (two round trips more to each)
// to be done before the next bot's begins.
func (p prodParams) stagger() time.Duration {
	worst := 10*p.slack + 6*p.plivo
	return max(time.Second, (worst * 3 / 2).Round(100*time.Millisecond))
}

// runProduction runs production mode and prints its table. It returns the
// exit status.
func runProduction(ctx context.Context, p prodParams, b *bench, stdout, stderr io.Writer) int {
	began := time.Now()
	if p.slack < 0 || p.plivo < 0 || p.idle < 0 || p.quiet < 0 || p.warm < 0 {
		fmt.Fprintln(stderr, "loadtest: -prod: delays, time-outs and counts must not be negative")
		return 2
	}
	if len(p.bots) == 0 {
		p.bots = prodBots{{label: "main"}}
	}
	fmt.Fprintf(stderr, "production mode: about %s\n", p.duration().Round(time.Second))
	runs, err := b.production(ctx, p, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: -prod: %v\n", err)
		b.keep = true
		return 1
	}
	printProduction(stdout, p, runs, b)
	fmt.Fprintf(stdout, "\nwhole run: %.1f s\n", time.Since(began).Seconds())
	return 0
}

// duration is about how long the run takes, start-up aside.
func (p prodParams) duration() time.Duration {
	slot := p.slot()
	return time.Duration(p.warm)*slot + p.quiet + time.Duration(len(p.bots))*p.stagger() + 2*time.Second
}

// slot is the time between one bot's successive transfers.
func (p prodParams) slot() time.Duration {
	return max(2*time.Second, time.Duration(max(len(p.bots), 1))*p.stagger())
}

// production starts every bot with its fakes, runs the schedule and
// collects what the fakes recorded.
func (b *bench) production(ctx context.Context, p prodParams, stderr io.Writer) ([]*prodRun, error) {
	ca, err := newTestCA(b.dir)
	if err != nil {
		return nil, err
	}
	if b.calib, err = calibrate(ctx, ca, p.slack); err != nil {
		return nil, fmt.Errorf("the delayed TLS network: %w", err)
	}
	runs := make([]*prodRun, 0, len(p.bots))
	defer func() {
		for _, r := range runs {
			b.finish(r.w)
		}
	}()
	for _, pb := range p.bots {
		bin := pb.bin
		if bin == "" {
			bin = b.bin
		}
		pn := newProdNet(ca, p.slack, p.plivo, p.idle)
		w, err := startWorld(ctx, worldConfig{bin: bin, dir: b.dir, name: "p-" + pb.label, maxInFlight: b.maxInFlight,
			replicas: 1, metrics: b.metrics, pin: b.pin, net: pn, env: pb.env})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pb.label, err)
		}
		runs = append(runs, &prodRun{bot: pb, w: w, net: pn, connected: time.Now()})
	}

	// The schedule: bot i's transfers at i staggers past each slot.
	type send struct {
		at    time.Time
		run   *prodRun
		phase int
	}
	var plan []send
	start := time.Now().Add(time.Second)
	stagger, slot := p.stagger(), p.slot()
	for i, r := range runs {
		off := start.Add(time.Duration(i) * stagger)
		plan = append(plan, send{off, r, phaseFirst})
		for k := 1; k <= p.warm; k++ {
			plan = append(plan, send{off.Add(time.Duration(k) * slot), r, phaseWarm})
		}
		plan = append(plan, send{off.Add(time.Duration(p.warm)*slot + p.quiet), r, phaseQuiet})
	}
	slices.SortFunc(plan, func(a, b send) int { return a.at.Compare(b.at) })
	quietSaid := false
	for _, s := range plan {
		if s.phase == phaseQuiet && !quietSaid {
			fmt.Fprintf(stderr, "quiet for %v …\n", p.quiet)
			quietSaid = true
		}
		if err := sleepUntil(ctx, s.at); err != nil {
			return nil, err
		}
		t, err := b.send(ctx, s.run.w)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.run.bot.label, err)
		}
		s.run.ts[s.phase] = append(s.run.ts[s.phase], t)
	}

	for _, r := range runs {
		all := slices.Concat(r.ts[:]...)
		if err := b.waitDone(ctx, r.w, len(all)); err != nil {
			return nil, fmt.Errorf("%s: %w", r.bot.label, err)
		}
		wctx, cancel := context.WithTimeout(ctx, waitTimeout)
		err := collect(wctx, r.w, all)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.bot.label, err)
		}
		r.cpu = r.w.cpuSinceConnect()
		for _, c := range r.w.slack.Calls("auth.test") {
			if c.Time.After(r.connected) {
				r.warmSlack++
			}
		}
		for _, req := range r.w.plivo.Requests() {
			if req.Method == http.MethodGet {
				r.warmPlivo++
			}
		}
	}
	return runs, nil
}

// sleepUntil waits until t or ctx's end.
func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// calibration is what the delayed TLS network costs a Go client of the
// load test's own, over its floor: the timers' lateness and TLS's work, not
// the bot's.
type calibration struct {
	newConn time.Duration // a request on a new connection, over 3 round trips (TCP's, TLS's, its own)
	reused  time.Duration // a request on that connection again, over 1 round trip: the median of 10
}

// calibrate measures the delayed TLS network with a Go client of the load
// test's own, and fails when a request took less than its floor.
func calibrate(ctx context.Context, ca *testCA, oneWay time.Duration) (calibration, error) {
	pn := newProdNet(ca, oneWay, oneWay, time.Minute)
	conns := &connLog{}
	srv := fakeplivo.NewStartedBy(plivoAuthID, plivoAuthToken, pn.start(oneWay, conns))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	rtt := 2 * oneWay
	var c calibration
	var reused []time.Duration
	for i := range 11 {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL()+"/v1/phlo/p/multi_party_call/n", strings.NewReader(`{"action":"call"}`))
		if err != nil {
			return c, err
		}
		req.SetBasicAuth(plivoAuthID, plivoAuthToken)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return c, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		floor := rtt
		if i == 0 {
			floor = 3 * rtt
		}
		if took < floor {
			return c, fmt.Errorf("request %d took %v, less than its floor %v", i+1, took, floor)
		}
		if i == 0 {
			c.newConn = took - floor
		} else {
			reused = append(reused, took-floor)
		}
	}
	if n := conns.between(time.Time{}, time.Now()); n != 1 {
		return c, fmt.Errorf("%d connections for 11 requests, want 1", n)
	}
	c.reused = percentile(reused, 50)
	return c, nil
}

// printProduction prints the run's table: each bot's transfers, phase by
// phase, each hop beside its floor.
func printProduction(out io.Writer, p prodParams, runs []*prodRun, b *bench) {
	fmt.Fprintf(out, "coldtransfer production-shaped run: TLS on every fake (a CA of the run's, trusted through SSL_CERT_FILE), "+
		"%v each way to Slack and %v to Plivo on every byte, handshakes included; the fakes close connections idle for %v\n",
		p.slack, p.plivo, p.idle)
	fmt.Fprintf(out, "machine: %s, %d CPUs, %s/%s, %s; load average %s\n", cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), loadAvg())
	fmt.Fprintf(out, "the network alone (a Go client of the load test's, %v each way): a request on a new connection 3 round trips + %s ms, on an open one 1 round trip + %s ms\n",
		p.slack, msNum(b.calib.newConn), msNum(b.calib.reused))
	fmt.Fprintf(out, "each bot: a first transfer 1 s after connecting, %d warm ones %v apart, one after %v of quiet; %s; %s\n",
		p.warm, p.slot(), p.quiet, b.pin.describe(), prodMetrics(b.metrics))
	for _, r := range runs {
		bin := r.bot.bin
		if bin == "" {
			bin = "the build of ./cmd/bot"
			if b.bin != "" {
				bin = b.bin
			}
		}
		env := ""
		if len(r.bot.env) > 0 {
			env = ", " + strings.Join(r.bot.env, " ")
		}
		fmt.Fprintf(out, "  %s: %s%s\n", r.bot.label, bin, env)
	}
	fmt.Fprintln(out, "figures in ms, envelope sent → each arrival at the fake, beside the floor (the injected delays alone): value (+ over the floor); warm: median (max)")
	fmt.Fprintln(out)

	hops := p.hops()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	head := []string{"bot", "transfers"}
	for _, h := range hops {
		head = append(head, h.name)
	}
	head = append(head, "new connections Slack/Plivo", "")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	floors := []string{"floor", ""}
	for _, h := range hops {
		floors = append(floors, msNum(h.floor))
	}
	fmt.Fprintln(tw, strings.Join(append(floors, "", ""), "\t"))
	names := [phases]string{"first after start", "warm", "after %v quiet"}
	for _, r := range runs {
		for ph, ts := range r.ts {
			if len(ts) == 0 {
				continue
			}
			name := names[ph]
			if ph == phaseQuiet {
				name = fmt.Sprintf(name, p.quiet)
			}
			if len(ts) > 1 {
				name = fmt.Sprintf("%s (%d)", name, len(ts))
			}
			cells := []string{r.bot.label, name}
			for _, h := range hops {
				ds := durations(ts, h.took)
				med := percentile(ds, 50)
				cell := fmt.Sprintf("%s (+%s)", msNum(med), msNum(med-h.floor))
				if len(ts) > 1 {
					cell += fmt.Sprintf(" (max +%s)", msNum(percentile(ds, 100)-h.floor))
				}
				cells = append(cells, cell)
			}
			slackNew, plivoNew := 0, 0
			for _, t := range ts {
				slackNew += r.net.slackConns.between(t.sent, t.marked)
				plivoNew += r.net.plivoConns.between(t.sent, t.marked)
			}
			cells = append(cells, fmt.Sprintf("%d/%d", slackNew, plivoNew), "")
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
	}
	tw.Flush()
	fmt.Fprintln(out)
	for _, r := range runs {
		fmt.Fprintf(out, "%s: CPU since connect %s; warm requests seen: %d auth.test, %d GETs to Plivo\n",
			r.bot.label, ms(r.cpu), r.warmSlack, r.warmPlivo)
	}
	for _, n := range b.notes {
		fmt.Fprintf(out, "note: %s\n", n)
	}
}

// msNum renders d in milliseconds, without the unit.
func msNum(d time.Duration) string {
	return strings.TrimSuffix(ms(d), " ms")
}

func prodMetrics(on bool) string {
	if on {
		return "metrics on (HEALTH_ADDR)"
	}
	return "metrics off"
}
