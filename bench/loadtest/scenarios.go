package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
)

// waitTimeout bounds each wait on the bot: generous, so that only a hung or
// broken bot hits it.
const waitTimeout = 30 * time.Second

// row is one line of the result table. An empty verdict marks a figure
// shown for context, with no target.
type row struct {
	scenario, figure, target, verdict string
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "over"
}

// bench runs the scenarios; each starts its own bot process and fakes, so
// that one's leftovers (connections, memory) do not colour the next.
type bench struct {
	bin, dir    string
	maxInFlight int
	seq         atomic.Int64 // numbers handed out: every transfer has its own
	notes       []string     // things worth knowing about the run
	keep        bool         // keep the bot logs: something in them matters
	replicas    int          // bot processes per scenario (-redis: 2)
	redis       bool         // the bots share a redis-server (-redis)
	metrics     bool         // run the bots with HEALTH_ADDR, and so with their metrics
	pin         pinning      // the bots' CPUs (-pin)

	peer    bool               // a peer bot (-peers): it never marks the announcement
	figures map[string]float64 // raw figures by name, kept for -peers (nil: not kept)
	cpu     time.Duration      // the bots' CPU time since connect, over the last scenario
	// requests counts the HTTP requests the fakes took over the last
	// scenario (Web API, response URLs, Plivo): CPU per request compares
	// bots that make different numbers of them per transfer.
	requests int
	calib    calibration // -prod: the delayed network's own cost
}

// start starts a scenario's world: one bot, or with -redis the replicas
// and their redis-server.
func (b *bench) start(ctx context.Context, name string) (*world, error) {
	return startWorld(ctx, worldConfig{bin: b.bin, dir: b.dir, name: name, maxInFlight: b.maxInFlight,
		replicas: b.replicas, redis: b.redis, metrics: b.metrics, pin: b.pin})
}

func (b *bench) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

// transfer is one /transfer command sent, and what became of it as the
// fakes recorded it.
type transfer struct {
	to   string // destination number, unique in the run
	from string // the agent's call (trigger_source), unique too: one transfer per call
	sent time.Time
	env  string // envelope id

	ackLatency time.Duration // envelope written → ack read, by the fake
	ackPayload json.RawMessage
	announced  time.Time // chat.postMessage of the announcement arrived
	toPlivo    time.Time // the Plivo request arrived
	replied    time.Time // chat.postMessage of the thread reply arrived
	replyOK    bool      // the reply carries the fake Plivo's api_id
	marked     time.Time // chat.update of the announcement arrived: the bot is done
}

// newTransfer returns a transfer to a number of its own, of a call of its
// own (the bot takes one transfer per call).
func (b *bench) newTransfer() *transfer {
	n := b.seq.Add(1)
	return &transfer{to: fmt.Sprintf("+1415555%06d", n), from: fmt.Sprintf("+1415666%06d", n)}
}

// command is t's /transfer text.
func (t *transfer) command() string { return t.to + " from " + t.from }

// send sends one /transfer.
func (b *bench) send(ctx context.Context, w *world) (*transfer, error) {
	t := b.newTransfer()
	t.sent = time.Now()
	env, err := w.slack.SendSlashCommand(ctx, slack.SlashCommand{
		UserID: requester, ChannelID: channel, Text: t.command(),
	})
	t.env = env.EnvelopeID
	return t, err
}

func (b *bench) sendN(ctx context.Context, w *world, n int) ([]*transfer, error) {
	ts := make([]*transfer, 0, n)
	for range n {
		t, err := b.send(ctx, w)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// checkAcks waits for the acks of ts and fails when the bot refused any of
// them in its ack (busy: MAX_IN_FLIGHT reached), since those never finish.
func checkAcks(ctx context.Context, w *world, ts []*transfer) error {
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	refused := 0
	for _, t := range ts {
		ack, err := w.slack.WaitAck(ctx, t.env)
		if err != nil {
			return err
		}
		if answeredInAck(ack.Payload) {
			refused++
		}
	}
	if refused > 0 {
		return fmt.Errorf("%d of %d transfers refused in the ack (busy? raise -max-in-flight)", refused, len(ts))
	}
	return nil
}

// waitDone waits until the bot has done n transfers: posted each one's
// announcement and thread reply and, but for a peer, marked the
// announcement (beside the reply, so either may come last).
func (b *bench) waitDone(ctx context.Context, w *world, n int) error {
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if !b.peer {
		if _, err := w.slack.WaitCalls(ctx, "chat.update", n); err != nil {
			return err
		}
	}
	_, err := w.slack.WaitCalls(ctx, "chat.postMessage", 2*n) // announcement + reply each
	return err
}

var (
	numberRE = regexp.MustCompile(`\+1415555\d{6}`)
	// fakeAPIID starts every api_id the fake Plivo hands out.
	fakeAPIID = "00000000-0000-4000-8000-"
)

// collect fills in what the fakes recorded of ts, and returns an error
// when any transfer did not go through: acked with a message (busy),
// not announced, not sent to Plivo, or without a successful thread reply.
func collect(ctx context.Context, w *world, ts []*transfer) error {
	byTo := make(map[string]*transfer, len(ts))
	for _, t := range ts {
		byTo[t.to] = t
		ack, err := w.slack.WaitAck(ctx, t.env)
		if err != nil {
			return err
		}
		t.ackLatency, t.ackPayload = ack.Latency, ack.Payload
	}
	parents := make(map[string]*transfer) // announcement ts → its transfer
	for _, c := range w.slack.Calls("chat.postMessage") {
		if thread := c.Arg("thread_ts"); thread != "" {
			if t := parents[thread]; t != nil {
				t.replied, t.replyOK = c.Time, strings.Contains(c.Arg("text"), fakeAPIID)
			}
		} else if t := byTo[numberRE.FindString(c.Arg("text"))]; t != nil && c.AnswerArg("ok") == "true" {
			t.announced = c.Time
			parents[c.AnswerArg("ts")] = t
		}
	}
	for _, c := range w.slack.Calls("chat.update") {
		if t := byTo[numberRE.FindString(c.Arg("text"))]; t != nil {
			t.marked = c.Time
		}
	}
	for _, r := range w.plivo.Requests() {
		var body struct {
			To string `json:"to"`
		}
		if json.Unmarshal(r.Body, &body) == nil && byTo[body.To] != nil {
			byTo[body.To].toPlivo = r.Received
		}
	}

	var problems []string
	if n := len(w.slack.Calls("usergroups.users.list")); n > 0 && !w.byGroup {
		problems = append(problems, fmt.Sprintf("%d group lookups (the requester should be allowed by id)", n))
	}
	check := func(what string, bad func(*transfer) bool) {
		if n := count(ts, bad); n > 0 {
			problems = append(problems, fmt.Sprintf("%d %s", n, what))
		}
	}
	check("acked with a message (busy?)", func(t *transfer) bool { return answeredInAck(t.ackPayload) })
	check("not announced", func(t *transfer) bool { return t.announced.IsZero() })
	check("never reached Plivo", func(t *transfer) bool { return t.toPlivo.IsZero() })
	check("without a successful thread reply", func(t *transfer) bool { return !t.replyOK })
	if problems != nil {
		return fmt.Errorf("of %d transfers: %s", len(ts), strings.Join(problems, ", "))
	}
	return nil
}

// stages says, p50/p99, how long each step of the transfers took, as the
// fakes saw it: the bot's time is in each but the Plivo delay.
func stages(ts []*transfer, delay time.Duration) string {
	steps := []struct {
		name string
		f    func(*transfer) time.Duration
	}{
		{"envelope→ack", func(t *transfer) time.Duration { return t.ackLatency }},
		{"envelope→announcement", func(t *transfer) time.Duration { return t.announced.Sub(t.sent) }},
		{"announcement→Plivo request", func(t *transfer) time.Duration { return t.toPlivo.Sub(t.announced) }},
		{fmt.Sprintf("Plivo request→thread reply − %v", delay), func(t *transfer) time.Duration { return t.replied.Sub(t.toPlivo) - delay }},
		{"thread reply→chat.update", func(t *transfer) time.Duration { return t.marked.Sub(t.replied) }},
	}
	parts := make([]string, 0, len(steps))
	for i, s := range steps {
		if i == len(steps)-1 && count(ts, func(t *transfer) bool { return t.marked.IsZero() }) > 0 {
			break // a peer marks nothing
		}
		ds := durations(ts, s.f)
		parts = append(parts, fmt.Sprintf("%s %s/%s", s.name, ms(percentile(ds, 50)), ms(percentile(ds, 99))))
	}
	return "(p50/p99) " + strings.Join(parts, ", ")
}

func count(ts []*transfer, pred func(*transfer) bool) int {
	n := 0
	for _, t := range ts {
		if pred(t) {
			n++
		}
	}
	return n
}

func durations(ts []*transfer, f func(*transfer) time.Duration) []time.Duration {
	ds := make([]time.Duration, len(ts))
	for i, t := range ts {
		ds[i] = f(t)
	}
	return ds
}

func latest(ts []*transfer, f func(*transfer) time.Time) time.Time {
	var last time.Time
	for _, t := range ts {
		if v := f(t); v.After(last) {
			last = v
		}
	}
	return last
}

func earliest(ts []*transfer, f func(*transfer) time.Time) time.Time {
	first := f(ts[0])
	for _, t := range ts[1:] {
		if v := f(t); v.Before(first) {
			first = v
		}
	}
	return first
}

// ackLatency (scenario a) holds `held` transfers in flight on a slow Plivo,
// then sends `probes` more transfers at a steady pace, which Plivo answers
// at once, and measures how long their acks take. The held ones are only
// answered after the last probe, so the bot always has at least `held`
// transfers in flight while the acks are measured. With metrics, the bot's
// own view of the same acks is shown beside.
func (b *bench) ackLatency(ctx context.Context, held, probes int, interval time.Duration) ([]row, error) {
	r, err := b.measureAcks(ctx, held, probes, interval)
	if err != nil {
		return nil, err
	}
	p99 := percentile(r.lat, 99)
	b.figure(figAckP50, percentile(r.lat, 50))
	b.figure(figAckP99, p99)
	b.figure(figAckMax, percentile(r.lat, 100))
	rows := []row{{
		scenario: fmt.Sprintf("a. ack of /transfer, %d in flight (%d sent at 1 per %v)", held, probes, interval),
		figure:   fmt.Sprintf("p50 %s, p99 %s, max %s", ms(percentile(r.lat, 50)), ms(p99), ms(percentile(r.lat, 100))),
		target:   "p99 ≤ 5 ms",
		verdict:  verdict(p99 <= 5*time.Millisecond),
	}}
	if r.own != nil {
		rows = append(rows, ownAckRow(*r.own, b.replicas))
	}
	return rows, nil
}

// ackRun is what measureAcks measured.
type ackRun struct {
	lat []time.Duration // the probes' acks, envelope written → ack read, by the fake
	own *histogram      // the bots' coldtransfer_ack_duration_seconds over the probes, summed; nil without metrics
}

// measureAcks runs scenario a.
func (b *bench) measureAcks(ctx context.Context, held, probes int, interval time.Duration) (ackRun, error) {
	var r ackRun
	w, err := b.start(ctx, "a")
	if err != nil {
		return r, err
	}
	defer b.finish(w)
	defer b.noteFallbacks("a", w)

	hold := time.Duration(probes)*interval + 2*time.Second
	rs := make([]fakeplivo.Response, held+1) // the last, immediate 201, repeats
	for i := range held {
		rs[i].Delay = hold
	}
	w.plivo.Respond(rs...)

	heldTs, err := b.sendN(ctx, w, held)
	if err == nil {
		err = checkAcks(ctx, w, heldTs)
	}
	if err != nil {
		return r, err
	}
	wctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if _, err := w.plivo.WaitRequests(wctx, held); err != nil {
		return r, err
	}
	before, err := w.ackHistogram(ctx)
	if err != nil {
		return r, err
	}
	probeTs := make([]*transfer, 0, probes)
	start := time.Now()
	for i := range probes {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		t, err := b.send(ctx, w)
		if err != nil {
			return r, err
		}
		probeTs = append(probeTs, t)
	}
	if err := checkAcks(ctx, w, probeTs); err != nil {
		return r, err
	}
	after, err := w.ackHistogram(ctx)
	if err != nil {
		return r, err
	}
	if err := b.waitDone(ctx, w, held+probes); err != nil {
		return r, err
	}
	if err := collect(ctx, w, append(slices.Clone(heldTs), probeTs...)); err != nil {
		return r, err
	}
	lastProbeAck := latest(probeTs, func(t *transfer) time.Time { return t.sent.Add(t.ackLatency) })
	if first := earliest(heldTs, func(t *transfer) time.Time { return t.replied }); !first.After(lastProbeAck) {
		b.note("a: a held transfer finished before the last probe was acked: fewer than %d in flight at the end", held)
	}

	r.lat = durations(probeTs, func(t *transfer) time.Duration { return t.ackLatency })
	if after != nil {
		own := after.minus(*before)
		r.own = &own
	}
	return r, nil
}

// overhead (scenario b) runs n transfers, `concurrency` at a time, against
// a Plivo that answers after delay, and measures from the envelope sent to
// the thread reply's arrival at the fake Slack, minus delay. A few warm-up
// transfers first open the connections; they are not counted.
func (b *bench) overhead(ctx context.Context, n, concurrency int, delay time.Duration) ([]row, error) {
	w, err := b.start(ctx, "b")
	if err != nil {
		return nil, err
	}
	defer b.finish(w)
	defer b.noteFallbacks("b", w)
	w.plivo.Respond(fakeplivo.Response{Delay: delay})

	one := func() (*transfer, error) {
		t, err := b.send(ctx, w)
		if err == nil {
			err = checkAcks(ctx, w, []*transfer{t})
		}
		if err != nil {
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, waitTimeout)
		defer cancel()
		return t, b.waitOne(wctx, w, t)
	}
	const warmup = 10
	for range warmup {
		if _, err := one(); err != nil {
			return nil, err
		}
	}

	ts := make([]*transfer, n)
	var next atomic.Int64
	errs := make(chan error, concurrency)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				t, err := one()
				if err != nil {
					errs <- err
					return
				}
				ts[i] = t
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if err := collect(ctx, w, ts); err != nil {
		return nil, err
	}

	over := durations(ts, func(t *transfer) time.Duration { return t.replied.Sub(t.sent) - delay })
	p50 := percentile(over, 50)
	b.figure(figOverheadP50, p50)
	b.figure(figOverheadP99, percentile(over, 99))
	b.note("b: where the time goes: %s", stages(ts, delay))
	return []row{{
		scenario: fmt.Sprintf("b. overhead envelope→thread reply − Plivo delay (%d transfers, %d at a time, Plivo %v)", n, concurrency, delay),
		figure:   fmt.Sprintf("p50 %s, p99 %s", ms(p50), ms(percentile(over, 99))),
		target:   "p50 ≤ 2 ms",
		verdict:  verdict(p50 <= 2*time.Millisecond),
	}}, nil
}

// throughput (scenario c) sends n transfers back to back against a Plivo
// that answers each after delay, and measures from the first envelope sent
// to the last thread reply.
func (b *bench) throughput(ctx context.Context, n int, delay time.Duration) ([]row, error) {
	w, err := b.start(ctx, "c")
	if err != nil {
		return nil, err
	}
	defer b.finish(w)
	defer b.noteFallbacks("c", w)
	w.plivo.Respond(fakeplivo.Response{Delay: delay})

	ts, err := b.sendN(ctx, w, n)
	if err != nil {
		return nil, err
	}
	sentIn := time.Since(ts[0].sent)
	if err := checkAcks(ctx, w, ts); err != nil {
		return nil, err
	}
	if err := b.waitDone(ctx, w, n); err != nil {
		return nil, err
	}
	if err := collect(ctx, w, ts); err != nil {
		return nil, err
	}
	total := latest(ts, func(t *transfer) time.Time { return t.replied }).Sub(ts[0].sent)
	spread := latest(ts, func(t *transfer) time.Time { return t.toPlivo }).Sub(earliest(ts, func(t *transfer) time.Time { return t.toPlivo }))
	lat := durations(ts, func(t *transfer) time.Duration { return t.ackLatency })
	b.note("c: the %d envelopes were sent in %s; their acks p50 %s, p99 %s; Plivo requests arrived over %s",
		n, ms(sentIn), ms(percentile(lat, 50)), ms(percentile(lat, 99)), ms(spread))
	b.note("c: where the time goes: %s", stages(ts, delay))
	limit := delay + time.Second
	b.figure(figBurstTotal, total)
	b.figure(figBurstAckP99, percentile(lat, 99))
	return []row{{
		scenario: fmt.Sprintf("c. %d transfers against a %v Plivo: first sent → last reply", n, delay),
		figure:   ms(total),
		target:   "≤ " + ms(limit),
		verdict:  verdict(total <= limit),
	}}, nil
}

// memory (scenario d) reads the bot's resident memory idle after connect,
// then sends n transfers that Plivo holds for hold, reads it again once all
// n reached Plivo, and reads the peak once all are done.
func (b *bench) memory(ctx context.Context, n int, hold, settle time.Duration) ([]row, error) {
	m, err := b.measureMemory(ctx, n, hold, settle)
	if err != nil {
		return nil, err
	}
	idle, busy, done := m.idle, m.busy, m.done
	const idleLimit, peakLimit = 25 << 10, 60 << 10 // kB
	per := ""
	if len(idle) > 1 {
		per = ", per replica"
	}
	figure := func(ms []memory, f func(memory) int64, limit int64) (string, bool) {
		parts := make([]string, len(ms))
		ok := true
		for i, m := range ms {
			parts[i] = mb(f(m))
			ok = ok && f(m) <= limit
		}
		return strings.Join(parts, " / "), ok
	}
	rss := func(m memory) int64 { return m.RSS }
	peak := func(m memory) int64 { return m.Peak }
	b.figureKB(figRSSIdle, mean(idle, rss)) // with replicas, per replica
	b.figureKB(figRSSIdleAnon, mean(idle, func(m memory) int64 { return m.Anon }))
	b.figureKB(figRSSBusy, mean(busy, rss))
	b.figureKB(figRSSPeak, mean(done, peak))
	idleFig, idleOK := figure(idle, rss, idleLimit)
	busyFig, _ := figure(busy, rss, 0)
	peakFig, peakOK := figure(done, peak, peakLimit)
	return []row{
		{
			scenario: fmt.Sprintf("d. resident memory idle, %v after connect (VmRSS%s)", settle, per),
			figure:   idleFig,
			target:   "≤ " + mb(idleLimit),
			verdict:  verdict(idleOK),
		},
		{
			scenario: fmt.Sprintf("d. resident memory with %d in flight (VmRSS%s)", n, per),
			figure:   busyFig,
			target:   "",
		},
		{
			scenario: fmt.Sprintf("d. peak resident memory, %d in flight then answered (VmHWM%s)", n, per),
			figure:   peakFig,
			target:   "≤ " + mb(peakLimit),
			verdict:  verdict(peakOK),
		},
	}, nil
}

// memoryRun is what measureMemory read of each bot, in order: idle, with n
// in flight, and once they are done; and the CPU time each had used by then
// since it connected.
type memoryRun struct {
	idle, busy, done []memory
	cpu              []time.Duration
}

// measureMemory runs scenario d.
func (b *bench) measureMemory(ctx context.Context, n int, hold, settle time.Duration) (memoryRun, error) {
	var m memoryRun
	w, err := b.start(ctx, "d")
	if err != nil {
		return m, err
	}
	defer b.finish(w)
	defer b.noteFallbacks("d", w)
	w.plivo.Respond(fakeplivo.Response{Delay: hold})

	time.Sleep(settle)
	idle, err := w.memories()
	if err != nil {
		return m, err
	}
	ts, err := b.sendN(ctx, w, n)
	if err == nil {
		err = checkAcks(ctx, w, ts)
	}
	if err != nil {
		return m, err
	}
	wctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if _, err := w.plivo.WaitRequests(wctx, n); err != nil {
		return m, err
	}
	busy, err := w.memories()
	if err != nil {
		return m, err
	}
	if err := b.waitDone(ctx, w, n); err != nil {
		return m, err
	}
	done, err := w.memories()
	if err != nil {
		return m, err
	}
	cpu, err := perBot(w, (*botProc).cpuSinceConnect)
	if err != nil {
		return m, err
	}
	if err := collect(ctx, w, ts); err != nil {
		return m, err
	}
	first := earliest(ts, func(t *transfer) time.Time { return t.replied })
	if last := latest(ts, func(t *transfer) time.Time { return t.toPlivo }); !last.Before(first) {
		b.note("d: the first reply came before the last Plivo request: not all %d were in flight at once (raise -memory-hold)", n)
	}
	return memoryRun{idle, busy, done, cpu}, nil
}

// finish stops the bot and notes anything it logged: at LOG_LEVEL=warn a
// clean run logs nothing.
func (b *bench) finish(w *world) {
	b.cpu = w.cpuSinceConnect()
	b.requests = len(w.slack.AllCalls()) + len(w.plivo.Requests())
	if err := w.stop(); err != nil {
		b.note("%v", err)
		b.keep = true
	}
	if n, paths := w.logLines(); n > 0 {
		b.note("the bot logged %d warn/error lines: %s", n, paths)
		b.keep = true
	}
}
