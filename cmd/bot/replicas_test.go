package main

// End-to-end tests of several replicas: real bot processes,
// built as the image builds them, against one fake Slack, one fake Plivo
// and one real redis-server. Each test prints what the supervisor saw and
// what Plivo received.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
	"github.com/coldtransfer/coldtransfer/internal/redistest"
)

const (
	supervisor = "U123ABC" // allowed by fakes.env
	floor      = "CFLOOR01"
)

// cluster is two (or more) bot processes sharing a Redis, a fake Slack that
// redelivers after 1 s, and a fake Plivo.
type cluster struct {
	t     *testing.T
	slack *fakeslack.Server
	plivo *fakeplivo.Server
	redis *redistest.Server
	env   []string
	bots  []*replica
	seq   atomic.Int64
}

// replica is one bot process and what it logged.
type replica struct {
	name   string
	cmd    *exec.Cmd
	logs   procLog
	exited chan struct{}
	conn   int    // its Socket Mode connection's number at the fake Slack
	health string // the address of its health probes and /metrics
}

func startCluster(t *testing.T, n int) *cluster {
	t.Helper()
	return startClusterWith(t, n, nil)
}

// startClusterWith is startCluster with extra variables in every replica's
// environment.
func startClusterWith(t *testing.T, n int, extra map[string]string) *cluster {
	t.Helper()
	rd := redistest.StartT(t)
	bin := botBinary(t)
	f := fakes{
		slack: fakeslack.New(fakeslack.Options{BotToken: botToken, AppToken: appToken, AckTimeout: time.Second}),
		plivo: fakeplivo.New(authID, authToken),
	}
	t.Cleanup(f.slack.Close)
	t.Cleanup(f.plivo.Close)
	c := &cluster{t: t, slack: f.slack, plivo: f.plivo, redis: rd}
	env := f.env()
	env["REDIS_URL"] = rd.URL()
	env["LOG_LEVEL"] = "info"
	env["HEALTH_ADDR"] = "127.0.0.1:0" // for /metrics: the events the tests wait on
	maps.Copy(env, extra)
	for k, v := range env {
		c.env = append(c.env, k+"="+v)
	}
	for i := range n {
		c.startReplica(t, bin, string(rune('A'+i)))
	}
	return c
}

// startReplica starts a bot process and waits for its connection; it has
// logged its health address by then.
func (c *cluster) startReplica(t *testing.T, bin, name string) *replica {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "replica-"+name+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{name: name, logs: procLog{out.Name()}, exited: make(chan struct{})}
	r.cmd = exec.Command(bin, "-env-file", "") // no .env: the environment below is all
	r.cmd.Env = c.env
	r.cmd.Stdout, r.cmd.Stderr = out, out
	err = r.cmd.Start()
	out.Close() // the process has its own
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		_ = r.cmd.Process.Signal(syscall.SIGCONT) // in case a test stopped it
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(30 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.exited
			t.Errorf("replica %s did not stop on SIGTERM", name)
		}
		if t.Failed() {
			t.Logf("replica %s logged:\n%s", name, r.logs.String())
		}
	})
	if err := c.slack.WaitConns(c.ctx(), len(c.bots)+1); err != nil {
		t.Fatalf("replica %s never connected: %v\n%s", name, err, r.logs.String())
	}
	conns := c.slack.Conns()
	r.conn = conns[len(conns)-1]
	r.health = healthAddr(t, r.logs.String())
	c.bots = append(c.bots, r)
	return r
}

func (c *cluster) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	c.t.Cleanup(cancel)
	return ctx
}

// envelope is a /transfer command with text, with a fresh trigger id.
func (c *cluster) envelope(text string) fakeslack.Envelope {
	cmd := slack.SlashCommand{
		Command: "/transfer", Text: text, UserID: supervisor, UserName: "sup", ChannelID: floor,
		ResponseURL: c.slack.ResponseURL(), TriggerID: c.slack.TriggerID(), TeamID: "T1", APIAppID: "A1",
	}
	payload, _ := json.Marshal(cmd)
	return fakeslack.Envelope{EnvelopeID: c.nextID(), Type: "slash_commands", Payload: payload, AcceptsResponsePayload: true}
}

func (c *cluster) nextID() string { return fmt.Sprintf("env-%d", c.seq.Add(1)) }

// transfer is a command to a number of its own, of a call of its own (a
// call is claimed for 15 s after its transfer).
func (c *cluster) transfer() fakeslack.Envelope {
	n := c.seq.Add(1)
	return c.envelope(fmt.Sprintf("+1415555%04d from %s", n, callOf(n)))
}

// callOf is the number of the agent on the n-th call.
func callOf(n int64) string { return fmt.Sprintf("+1415222%04d", n) }

// sendTo sends env to r's connection and waits for its (next) ack.
func (c *cluster) sendTo(r *replica, env fakeslack.Envelope) fakeslack.Ack {
	c.t.Helper()
	before := len(c.slack.Acks(env.EnvelopeID))
	if err := c.slack.SendTo(c.ctx(), r.conn, env); err != nil {
		c.t.Fatalf("send to replica %s: %v", r.name, err)
	}
	return c.waitAck(env, before+1)
}

// waitAck waits for the n-th ack of env.
func (c *cluster) waitAck(env fakeslack.Envelope, n int) fakeslack.Ack {
	c.t.Helper()
	waitFor(c.t, fmt.Sprintf("ack #%d of %s", n, env.EnvelopeID), func() bool { return len(c.slack.Acks(env.EnvelopeID)) >= n })
	return c.slack.Acks(env.EnvelopeID)[n-1]
}

// done waits until n transfers have ended (their announcement marked and
// their thread reply posted: the bot sends both side by side) and returns
// the thread replies so far.
func (c *cluster) done(n int) []string {
	c.t.Helper()
	if _, err := c.slack.WaitCalls(c.ctx(), "chat.update", n); err != nil {
		c.t.Fatalf("waiting for %d transfers to end: %v", n, err)
	}
	var replies []string
	waitFor(c.t, fmt.Sprintf("%d thread replies", n), func() bool {
		replies = replies[:0]
		for _, m := range c.slack.Calls("chat.postMessage") {
			if m.Arg("thread_ts") != "" {
				replies = append(replies, m.Arg("text"))
			}
		}
		return len(replies) >= n
	})
	return replies
}

// posts checks how many transfer requests Plivo received.
func (c *cluster) posts(want int, what string) {
	c.t.Helper()
	if got := c.plivo.Count(); got != want {
		c.t.Errorf("%s: Plivo received %d POSTs, want %d", what, got, want)
	} else {
		c.t.Logf("%s: Plivo received %d POSTs in all", what, got)
	}
}

// waitLog waits until r has logged n lines containing every one of parts.
// For lines that are themselves the behaviour under test and that no event
// follows; where one does, wait on it and then check with logged.
func (r *replica) waitLog(t *testing.T, n int, parts ...string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("replica %s to log %d lines with %q", r.name, n, parts), func() bool { return r.logs.count(parts...) >= n })
}

// logged fails t unless r has logged a line containing every one of parts.
// The line must be there already: check it after an event that follows it.
func (r *replica) logged(t *testing.T, parts ...string) {
	t.Helper()
	if r.logs.count(parts...) == 0 {
		t.Errorf("replica %s has logged no line with %q", r.name, parts)
	}
}

// waitMetric waits until the replicas rs count, together, at least want
// in metricSum(name, labels...) of their /metrics, and returns the count.
func (c *cluster) waitMetric(rs []*replica, want float64, name string, labels ...string) float64 {
	c.t.Helper()
	var addrs []string
	for _, r := range rs {
		addrs = append(addrs, r.health)
	}
	return waitMetric(c.t, c.ctx(), addrs, want, name, labels...)
}

// waitFor polls cond with a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling logs and records with a deadline
	}
}

// submission is the view_submission of the form the bot opened in call.
func submission(t *testing.T, call fakeslack.Call, to string) slack.InteractionCallback {
	t.Helper()
	var answer struct {
		View struct {
			ID              string `json:"id"`
			CallbackID      string `json:"callback_id"`
			PrivateMetadata string `json:"private_metadata"`
		} `json:"view"`
	}
	if err := json.Unmarshal(call.Answer, &answer); err != nil || answer.View.ID == "" {
		t.Fatalf("views.open answer %s: %v", call.Answer, err)
	}
	return slack.InteractionCallback{
		Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: supervisor}, Team: slack.Team{ID: "T1"}, APIAppID: "A1",
		View: slack.View{
			ID: answer.View.ID, Type: slack.VTModal, CallbackID: answer.View.CallbackID, PrivateMetadata: answer.View.PrivateMetadata,
			State: &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
				"trigger_source": {"trigger_source": {Type: "plain_text_input", Value: "+1415222" + to[len(to)-4:]}}, // a call of its own
				"to":             {"to": {Type: "plain_text_input", Value: to}},
				"role":           {"role": {Type: "radio_buttons", SelectedOption: slack.OptionBlockObject{Value: "agent"}}},
			}},
		},
	}
}

func interaction(t *testing.T, id string, cb slack.InteractionCallback) fakeslack.Envelope {
	t.Helper()
	payload, err := json.Marshal(&cb)
	if err != nil {
		t.Fatal(err)
	}
	return fakeslack.Envelope{EnvelopeID: id, Type: "interactive", Payload: payload, AcceptsResponsePayload: true}
}

// openForm types a bare /transfer on r and returns the views.open call.
func (c *cluster) openForm(r *replica) fakeslack.Call {
	c.t.Helper()
	n := len(c.slack.Calls("views.open"))
	c.sendTo(r, c.envelope(""))
	calls, err := c.slack.WaitCalls(c.ctx(), "views.open", n+1)
	if err != nil {
		c.t.Fatal(err)
	}
	return calls[n]
}

// A redelivered envelope, a command redelivered under a new envelope id,
// and a form submitted through both replicas each run once; a form opened
// through one replica is submitted to the other.
func TestReplicasRunEachRequestOnce(t *testing.T) {
	c := startCluster(t, 2)
	a, b := c.bots[0], c.bots[1]

	env := c.transfer()
	if ack := c.sendTo(a, env); ack.Payload != nil {
		t.Fatalf("ack %s", ack.Payload)
	}
	if replies := c.done(1); !strings.Contains(replies[0], "api_id") {
		t.Errorf("thread reply %q", replies[0])
	}
	again := env
	again.RetryAttempt, again.RetryReason = 1, "timeout"
	c.sendTo(b, again)
	c.waitMetric([]*replica{b}, 1, "coldtransfer_redeliveries_total", `kind="envelope"`) // ignored: its envelope id was seen
	sameTrigger := env
	sameTrigger.EnvelopeID = c.nextID()
	c.sendTo(b, sameTrigger)
	c.waitMetric([]*replica{b}, 1, "coldtransfer_redeliveries_total", `kind="trigger"`) // ignored: its trigger id was seen
	c.posts(1, "one command, redelivered to the other replica and again under a new envelope id")

	// One form, submitted through both replicas at once.
	cb := submission(t, c.openForm(a), "+14155550100")
	envA, envB := interaction(t, c.nextID(), cb), interaction(t, c.nextID(), cb)
	var wg sync.WaitGroup
	acks := make([]fakeslack.Ack, 2)
	wg.Go(func() { acks[0] = c.sendTo(a, envA) })
	wg.Go(func() { acks[1] = c.sendTo(b, envB) })
	wg.Wait()
	for i, ack := range acks {
		if ack.Payload != nil {
			t.Errorf("submission %d acked with %s; want an empty ack that closes the form", i, ack.Payload)
		}
	}
	c.done(2)
	// The losing replica ignores the second submission, recognised by its
	// view id.
	if n := c.waitMetric(c.bots, 1, "coldtransfer_redeliveries_total", `kind="view"`); n != 1 {
		t.Errorf("the replicas ignored %v submissions of the form, want 1", n)
	}
	c.posts(2, "and one form submitted through both replicas")

	// A form opened through A, submitted to B alone: private_metadata
	// carries all B needs.
	cb = submission(t, c.openForm(a), "+14155550200")
	c.sendTo(b, interaction(t, c.nextID(), cb))
	c.done(3)
	// The audit line is the behaviour here: B's trail of a form A opened.
	// A request is counted once its line is written: both forms are, when
	// the replicas count two (the first ran on either).
	c.waitMetric(c.bots, 2, "coldtransfer_requests_total", `path="modal"`, `outcome="transferred"`)
	b.logged(t, `"msg":"transfer"`, `"path":"modal"`, "+14155550200", `"channel":"`+floor+`"`, `"outcome":"transferred"`)
	ann, err := c.slack.WaitCall(c.ctx(), "chat.postMessage", func(m fakeslack.Call) bool {
		return m.Arg("thread_ts") == "" && strings.Contains(m.Arg("text"), "+14155550200")
	})
	if err != nil || ann.Arg("channel") != floor {
		t.Errorf("announcement of the form submitted to B: %v in %q, want in %s", err, ann.Arg("channel"), floor)
	}
	c.posts(3, "and a form opened through A, submitted to B")
}

// A replica that hangs does not ack: Slack redelivers to the other one,
// which runs it once. Then the hung replica is killed (SIGKILL) while idle,
// and the other serves every request.
func TestReplicaKilled(t *testing.T) {
	c := startCluster(t, 2)
	a, b := c.bots[0], c.bots[1]

	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The signal is delivered asynchronously: wait until the process is
	// stopped, or it may still ack what comes next.
	waitFor(t, "replica A to be stopped", func() bool { return processState(a.cmd.Process.Pid) == "T" })
	hung := c.transfer()
	if err := c.slack.SendTo(c.ctx(), a.conn, hung); err != nil {
		t.Fatal(err)
	}
	c.waitAck(hung, 1)
	c.done(1)
	ds := c.slack.Deliveries(hung.EnvelopeID)
	if len(ds) != 2 || ds[0].Conn != a.conn || ds[1].Conn != b.conn || ds[1].RetryAttempt != 1 {
		t.Errorf("deliveries of the envelope sent to the hung replica: %+v; want A's, then B's with retry_attempt 1", ds)
	}
	c.posts(1, "an envelope sent to a hung replica, redelivered to the other after the ack timeout")

	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	waitFor(t, "the dead replica's connection to go", func() bool {
		conns := c.slack.Conns()
		return len(conns) == 1 && conns[0] == b.conn
	})
	var envs []fakeslack.Envelope
	for range 3 {
		env := c.transfer()
		if err := c.slack.Send(c.ctx(), env); err != nil {
			t.Fatal(err)
		}
		envs = append(envs, env)
	}
	replies := c.done(1 + len(envs))
	for _, env := range envs {
		c.waitAck(env, 1)
		if ds := c.slack.Deliveries(env.EnvelopeID); len(ds) != 1 || ds[0].Conn != b.conn {
			t.Errorf("envelope %s delivered %+v, want once to B's connection %d", env.EnvelopeID, ds, b.conn)
		}
	}
	for _, r := range replies {
		if !strings.Contains(r, "api_id") {
			t.Errorf("thread reply %q", r)
		}
	}
	c.posts(1+len(envs), "and, replica A killed, three more commands")
}

// processState is the state letter of process pid in /proc ("T":
// stopped), or "" when it cannot be read.
func processState(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// pid (comm) state …; comm may hold spaces, so cut after its ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+3 > len(data) {
		return ""
	}
	return string(data[i+2 : i+3])
}

// Redis stops mid-run: both replicas keep transferring on memory, and say
// so at error level; a redelivery to the other replica then runs twice (the
// trade README.md describes). Redis back: shared again.
func TestRedisStopsAndComesBack(t *testing.T) {
	c := startCluster(t, 2)
	a, b := c.bots[0], c.bots[1]
	c.sendTo(a, c.transfer())
	c.done(1)
	c.posts(1, "Redis up")

	// The first seconds of an outage: nobody can check a call's claim, so
	// transfers are refused, and the requester is told to try again.
	c.redis.Stop()
	c.sendTo(a, c.transfer())
	c.sendTo(b, c.transfer())
	msgs, err := c.slack.WaitCalls(c.ctx(), "response_url", 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if text := m.Arg("text"); !strings.Contains(text, "Try again in a few seconds") {
			t.Errorf("transfer at the start of the outage: requester told %q", text)
		}
	}
	// The audit lines are the behaviour here; a request is counted once its
	// line is written.
	for _, r := range []*replica{a, b} {
		c.waitMetric([]*replica{r}, 1, "coldtransfer_requests_total", `outcome="claim_unchecked"`)
		r.logged(t, `"msg":"transfer"`, `"outcome":"claim_unchecked"`)
	}
	c.posts(1, "Redis stopped for less than 10 s")

	// Past 10 s, each replica takes claims from its memory, says so at
	// error level, and the floor transfers again. It counts the fall
	// first, then logs it: the error line, which is what the operator is
	// told, is waited for after.
	for _, r := range []*replica{a, b} {
		c.waitMetric([]*replica{r}, 1, "coldtransfer_store_fallbacks_total")
		r.waitLog(t, 1, `"level":"error"`, "takes call claims from its own memory")
	}
	c.sendTo(a, c.transfer())
	c.sendTo(b, c.transfer())
	for _, r := range c.done(3)[1:] {
		if !strings.Contains(r, "api_id") {
			t.Errorf("thread reply during the outage %q", r)
		}
	}
	c.posts(3, "Redis stopped for 10 s or more: one command on each replica")

	// During the outage a redelivery to the other replica is not recognised.
	env := c.transfer()
	c.sendTo(a, env)
	c.done(4)
	again := env
	again.RetryAttempt, again.RetryReason = 1, "timeout"
	c.sendTo(b, again)
	c.done(5)
	c.posts(5, "Redis stopped: a command redelivered to the other replica runs on both")
	// Same replica: still recognised from memory.
	c.sendTo(b, again)
	c.waitMetric([]*replica{b}, 1, "coldtransfer_redeliveries_total", `kind="envelope"`)

	if err := c.redis.Restart(c.ctx()); err != nil {
		t.Fatal(err)
	}
	// No event says that a replica is back on Redis: its warn line is the
	// one sign, and what the operator is told.
	for _, r := range []*replica{a, b} {
		r.waitLog(t, 1, "shared state is back on Redis")
	}
	env = c.transfer()
	c.sendTo(a, env)
	c.done(6)
	again = env
	again.RetryAttempt, again.RetryReason = 1, "timeout"
	c.sendTo(b, again)
	c.waitMetric([]*replica{b}, 2, "coldtransfer_redeliveries_total", `kind="envelope"`)
	c.posts(6, "Redis back: a command redelivered to the other replica runs once")
	if n := a.logs.count(`"level":"error"`, "takes call claims from its own memory") + b.logs.count(`"level":"error"`, "takes call claims from its own memory"); n != 2 {
		t.Errorf("%d outage lines at error level, want 2 (one per replica)", n)
	}
}

// A replica started while Redis is down runs, on memory, and joins Redis
// once it answers.
func TestReplicaStartsWithRedisDown(t *testing.T) {
	c := startCluster(t, 0)
	c.redis.Stop()
	a := c.startReplica(t, botBinary(t), "A")
	// The fall is counted, then logged at error level: the line is what
	// the operator is told.
	c.waitMetric([]*replica{a}, 1, "coldtransfer_store_fallbacks_total")
	a.waitLog(t, 1, `"level":"error"`, "takes call claims from its own memory")
	c.sendTo(a, c.transfer())
	c.done(1)
	if err := c.redis.Restart(c.ctx()); err != nil {
		t.Fatal(err)
	}
	// No event says that the replica is back on Redis: its warn line is the
	// one sign, and what the operator is told.
	a.waitLog(t, 1, "shared state is back on Redis")
	c.posts(1, "replica started with Redis down")
}

// procLog is what a bot process writes on stdout and stderr: a file that
// the process writes itself, rather than a pipe a goroutine of the test
// copies from, so that a line the process wrote before an event the test
// has seen (its connection, a count on /metrics) is there to read.
type procLog struct{ path string }

func (l procLog) String() string {
	data, _ := os.ReadFile(l.path)
	return string(data)
}

// count returns how many lines contain every one of parts.
func (l procLog) count(parts ...string) int {
	n := 0
lines:
	for line := range strings.Lines(l.String()) {
		for _, p := range parts {
			if !strings.Contains(line, p) {
				continue lines
			}
		}
		n++
	}
	return n
}
