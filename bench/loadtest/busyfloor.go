package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/bench/busyfloor"
	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
)

// Scenario f, the busy floor (-floor): not loopback speed but what a
// supervisor waits for on a real, busy floor. The fake Slack answers every
// Web API call after 100–300 ms and takes about one message per second per
// channel, in short bursts (HTTP 429 with Retry-After past it); a few
// channels each get transfers at random (a Poisson stream, the same one in
// every run: the seed is fixed) against a Plivo that takes its time. What
// is measured is the supervisor's wait: envelope → Plivo request (the
// announcement is on that path: no announcement, no transfer) and
// envelope → thread reply, and for coldtransfer envelope → ✅ on the
// announcement. A transfer that never gets its reply (the bot gave up on
// the rate limit, or told the requester it could not post) is counted, not
// timed.

// floorParams are the busy floor's knobs.
type floorParams struct {
	channels   int
	every      time.Duration // mean time between transfers in one channel
	duration   time.Duration // how long transfers keep coming
	plivo      time.Duration // the fake Plivo's delay
	minLatency time.Duration
	maxLatency time.Duration
	perSecond  float64 // messages per second per channel
	burst      int
	grace      time.Duration // how long after the last command to wait for the bot
}

// floorFlags registers the busy floor's flags on fs.
func floorFlags(fs *flag.FlagSet) *floorParams {
	p := &floorParams{}
	fs.IntVar(&p.channels, "floor-channels", 4, "f: busy channels")
	fs.DurationVar(&p.every, "floor-every", 4*time.Second, "f: mean time between transfers in one channel (random arrivals)")
	fs.DurationVar(&p.duration, "floor-duration", 60*time.Second, "f: how long transfers keep coming")
	fs.DurationVar(&p.plivo, "floor-plivo", 500*time.Millisecond, "f: the fake Plivo's delay")
	fs.DurationVar(&p.minLatency, "floor-min-latency", 100*time.Millisecond, "f: fastest Slack Web API answer")
	fs.DurationVar(&p.maxLatency, "floor-max-latency", 300*time.Millisecond, "f: slowest Slack Web API answer")
	fs.Float64Var(&p.perSecond, "floor-rate", 1, "f: messages per second per channel (chat.postMessage and chat.update)")
	fs.IntVar(&p.burst, "floor-burst", 3, "f: messages a quiet channel takes at once")
	fs.DurationVar(&p.grace, "floor-grace", 30*time.Second, "f: how long after the last command to wait for the bot to finish")
	return p
}

// floorRuns is how many rounds to run: the busy floor alone runs once
// unless -runs says otherwise, since its commands and Slack's latencies are
// the same in every round (the seed is fixed) and a round takes a minute.
func floorRuns(fs *flag.FlagSet, only string, runs int) int {
	if only == "f" && !isSet(fs, "runs") {
		return 1
	}
	return runs
}

// isSet reports whether the command line set the flag name.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// Busy-floor figures, as -peers keeps them.
const (
	figFloorPlivoP50 = "floor envelope→Plivo p50"
	figFloorPlivoP99 = "floor envelope→Plivo p99"
	figFloorPlivoMax = "floor envelope→Plivo max"
	figFloorReplyP50 = "floor envelope→reply p50"
	figFloorReplyP99 = "floor envelope→reply p99"
	figFloorReplyMax = "floor envelope→reply max"
	figFloorMarkP50  = "floor envelope→mark p50"
	figFloorMarkP99  = "floor envelope→mark p99"
	figFloorLost     = "floor without reply"
	figFloor429      = "floor 429s"
)

// arrival is one command of the floor's schedule.
type arrival struct {
	at      time.Duration // after the start
	channel string
}

// schedule returns the commands of a run: in each channel, arrivals of a
// Poisson stream with mean interval every, for duration, merged in time
// order. The seed is fixed, so every run and every implementation gets the
// same floor.
func (p floorParams) schedule() []arrival {
	rnd := rand.New(rand.NewPCG(14, 11))
	var as []arrival
	for i := range p.channels {
		ch := fmt.Sprintf("CFLOOR%02d", i+1)
		for at := time.Duration(0); ; {
			at += time.Duration(rnd.ExpFloat64() * float64(p.every))
			if at >= p.duration {
				break
			}
			as = append(as, arrival{at, ch})
		}
	}
	slices.SortFunc(as, func(a, b arrival) int { return int(a.at - b.at) })
	return as
}

// busyFloor (scenario f) runs the schedule against a bot whose Slack is
// slow and rate-limited, and measures the supervisors' waits.
func (b *bench) busyFloor(ctx context.Context, p floorParams) ([]row, error) {
	w, err := b.start(ctx, "f")
	if err != nil {
		return nil, err
	}
	defer b.finish(w)
	defer b.noteFallbacks("f", w)
	w.plivo.Respond(fakeplivo.Response{Delay: p.plivo})
	// Set once connected: start-up is not what is measured.
	w.floor.Set(busyfloor.Floor{MinLatency: p.minLatency, MaxLatency: p.maxLatency,
		PerSecond: p.perSecond, Burst: p.burst, Seed: 14})

	plan := p.schedule()
	if len(plan) == 0 {
		return nil, fmt.Errorf("no transfers in %v at one per %v per channel", p.duration, p.every)
	}
	ts := make([]*transfer, 0, len(plan))
	respURLs := make(map[*transfer]string, len(plan))
	start := time.Now()
	for _, a := range plan {
		time.Sleep(time.Until(start.Add(a.at)))
		t, url, err := b.sendTo(ctx, w, a.channel)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
		respURLs[t] = url
	}
	if err := checkAcks(ctx, w, ts); err != nil {
		return nil, err
	}

	// Wait until each transfer is settled: done (marked, or for a peer
	// replied), or the requester was told privately that it could not be.
	wctx, cancel := context.WithTimeout(ctx, p.grace)
	defer cancel()
	var wg sync.WaitGroup
	for _, t := range ts {
		wg.Go(func() {
			one, stop := context.WithCancel(wctx)
			defer stop()
			settled := make(chan struct{}, 2)
			go func() {
				_, _ = w.slack.WaitCall(one, "response_url", func(c fakeslack.Call) bool { return c.URL == respURLs[t] })
				settled <- struct{}{}
			}()
			go func() {
				_ = b.waitOne(one, w, t)
				settled <- struct{}{}
			}()
			<-settled
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	floorCollect(w, ts)
	// A transfer the bot gave up on is waited for forever: it counts, as
	// never, so that a bot cannot look quick by dropping the slow ones.
	toPlivo := durationsIf(ts, func(t *transfer) (time.Duration, bool) { return t.toPlivo.Sub(t.sent), !t.toPlivo.IsZero() })
	replied := durationsIf(ts, func(t *transfer) (time.Duration, bool) { return t.replied.Sub(t.sent), t.replyOK })
	marked := durationsIf(ts, func(t *transfer) (time.Duration, bool) { return t.marked.Sub(t.sent), !t.marked.IsZero() })
	reachedPlivo, lost := len(toPlivo), len(ts)-len(replied)
	for _, ds := range []*[]time.Duration{&toPlivo, &replied, &marked} {
		for len(*ds) < len(ts) {
			*ds = append(*ds, never)
		}
	}
	limited := w.floor.RateLimited()

	b.figure(figFloorPlivoP50, percentile(toPlivo, 50))
	b.figure(figFloorPlivoP99, percentile(toPlivo, 99))
	b.figure(figFloorPlivoMax, percentile(toPlivo, 100))
	b.figure(figFloorReplyP50, percentile(replied, 50))
	b.figure(figFloorReplyP99, percentile(replied, 99))
	b.figure(figFloorReplyMax, percentile(replied, 100))
	if !b.peer {
		b.figure(figFloorMarkP50, percentile(marked, 50))
		b.figure(figFloorMarkP99, percentile(marked, 99))
	}
	if b.figures != nil {
		b.figures[figFloorLost] = float64(lost)
		b.figures[figFloor429] = float64(limited)
	}
	b.note("f: %d transfers in %d channels over %v; %d reached Plivo, %d got their thread reply; Slack answered 429 %d times",
		len(ts), p.channels, p.duration, reachedPlivo, len(ts)-lost, limited)

	wait := func(d time.Duration) string {
		if d == never {
			return "never"
		}
		return ms(d)
	}
	pct := func(ds []time.Duration) string {
		return fmt.Sprintf("p50 %s, p99 %s, max %s", wait(percentile(ds, 50)), wait(percentile(ds, 99)), wait(percentile(ds, 100)))
	}
	name := fmt.Sprintf("f. busy floor (%d channels, a transfer per %v each, Slack %v–%v and %g msg/s/channel, Plivo %v)",
		p.channels, p.every, p.minLatency, p.maxLatency, p.perSecond, p.plivo)
	rows := []row{
		{scenario: name + ": envelope → Plivo request", figure: pct(toPlivo)},
		{scenario: name + ": envelope → thread reply", figure: pct(replied)},
	}
	if !b.peer {
		rows = append(rows, row{scenario: name + ": envelope → ✅ on the announcement", figure: pct(marked)})
	}
	rows = append(rows, row{scenario: name + ": transfers without a thread reply", figure: fmt.Sprintf("%d of %d", lost, len(ts))})
	return rows, nil
}

// sendTo sends one /transfer in channel ch to a number of its own, and
// returns it with its response URL.
func (b *bench) sendTo(ctx context.Context, w *world, ch string) (*transfer, string, error) {
	t := b.newTransfer()
	url := w.slack.ResponseURL()
	t.sent = time.Now()
	env, err := w.slack.SendSlashCommand(ctx, slack.SlashCommand{
		UserID: requester, ChannelID: ch, Text: t.command(), ResponseURL: url,
	})
	t.env = env.EnvelopeID
	return t, url, err
}

// floorCollect fills in what the fakes recorded of ts, counting only what
// Slack took (a call answered 429 posted nothing): the announcement, the
// first thread reply, the first mark, the Plivo request.
func floorCollect(w *world, ts []*transfer) {
	byTo := make(map[string]*transfer, len(ts))
	for _, t := range ts {
		byTo[t.to] = t
	}
	parents := make(map[string]*transfer)
	for _, c := range w.slack.Calls("chat.postMessage") {
		if c.AnswerArg("ok") != "true" {
			continue
		}
		if thread := c.Arg("thread_ts"); thread != "" {
			if t := parents[thread]; t != nil && !t.replyOK {
				t.replied, t.replyOK = c.Time, strings.Contains(c.Arg("text"), fakeAPIID)
			}
		} else if t := byTo[numberRE.FindString(c.Arg("text"))]; t != nil && t.announced.IsZero() {
			t.announced = c.Time
			parents[c.AnswerArg("ts")] = t
		}
	}
	for _, c := range w.slack.Calls("chat.update") {
		if t := byTo[numberRE.FindString(c.Arg("text"))]; t != nil && c.AnswerArg("ok") == "true" && t.marked.IsZero() {
			t.marked = c.Time
		}
	}
	for _, r := range w.plivo.Requests() {
		if t := byTo[numberRE.FindString(string(r.Body))]; t != nil && t.toPlivo.IsZero() {
			t.toPlivo = r.Received
		}
	}
}

// never is the wait for what never came.
const never = time.Duration(math.MaxInt64)

// durationsIf returns f's durations of the transfers for which it says ok.
func durationsIf(ts []*transfer, f func(*transfer) (time.Duration, bool)) []time.Duration {
	var ds []time.Duration
	for _, t := range ts {
		if d, ok := f(t); ok {
			ds = append(ds, d)
		}
	}
	return ds
}
