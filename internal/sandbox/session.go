package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
	"github.com/coldtransfer/coldtransfer/internal/sandbox/screen"
)

// Options are what the caller adds to a session.
type Options struct {
	// Notes are printed under the banner, one line each: e.g. that a .env
	// file is ignored.
	Notes []string
}

// Timeouts of the session's waits. None is a pause: each bounds a wait for
// something the bot does, and ends as soon as it is done.
const (
	// connectTimeout bounds the wait for the bot's Socket Mode connection.
	connectTimeout = 15 * time.Second
	// commandTimeout bounds one command, Plivo's timeout and Slack's
	// retries included.
	commandTimeout = 20 * time.Second
	// auditTimeout bounds the wait for the audit line of a request that was
	// answered in its ack: it is written right after the ack.
	auditTimeout = 5 * time.Second
)

// labelWidth is the width of the transcript's left column.
const labelWidth = 10

// session is one run of the read-print loop.
type session struct {
	w      *World
	out    io.Writer
	tty    bool          // input is a terminal: prompt, and do not echo
	screen screen.Screen // how Slack shows what the bot sends, and takes what is typed

	user  person
	steer *steering // set by `plivo …` until a Plivo request takes it
	// steerAt is the index, among Plivo's requests, of the one the
	// steering applies to.
	steerAt int
	apiIDs  int

	shownSlack, shownPlivo int                 // records printed so far
	messages               map[string][]string // ts → lines of a message shown, so an edit shows what changed

	last *request // the last request sent to the bot
}

// request is one envelope sent to the bot, and what identifies its effects.
type request struct {
	user        person
	text        string // the slash command's text; "" for a form submission
	responseURL string
	triggerID   string
	audits      int // audit lines written before it
	start       time.Time
}

// Session reads commands from in, one a line, and prints on out what each
// one did, completely, before reading the next. It returns at the end of
// input, on `quit`, when out's reader has gone (a closed pipe), or when ctx
// ends; any other failure to read in or write out is its error. The bot
// must be running against the World's Env, and Session first waits for it
// to connect.
func (w *World) Session(ctx context.Context, in io.Reader, out io.Writer, opts Options) error {
	tr := &transcript{w: out}
	s := &session{w: w, out: tr, tty: isTerminal(in), user: people[0], messages: map[string][]string{},
		screen: screen.Screen{Names: floor{}, PressHint: "   (press abort / press again)"}}

	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	err := w.slack.WaitConnected(cctx)
	cancel()
	if err != nil {
		return fmt.Errorf("the bot did not connect to the fake Slack (see %s): %w", w.LogPath(), err)
	}
	s.banner(opts.Notes)
	s.skipRecords() // the bot's start-up calls

	done := make(chan struct{})
	defer close(done)
	input := scanLines(in, done)
	for {
		switch {
		case errors.Is(tr.err, syscall.EPIPE):
			// Whoever read the transcript stopped (… | head -1): like quit,
			// and the rest of the input would run unseen.
			return nil
		case tr.err != nil:
			return fmt.Errorf("write the transcript: %w", tr.err)
		}
		if s.tty {
			fmt.Fprint(s.out, "> ")
		}
		var line inputLine
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case line, ok = <-input:
		}
		switch {
		case !ok:
			return nil
		case line.err != nil:
			return fmt.Errorf("read line %d of the input: %w", line.n, line.err)
		case line.tooLong > 0:
			s.say("sandbox", fmt.Sprintf("Line %d is %d bytes long, over the %d MiB a line may have: skipped.", line.n, line.tooLong, maxLine>>20))
			continue
		}
		if !s.tty {
			fmt.Fprintln(s.out, "> "+line.text)
		}
		if quit := s.do(ctx, strings.TrimSpace(line.text)); quit {
			return nil
		}
	}
}

// transcript is the session's output. It keeps the first write error, so
// that the session can stop when its reader is gone.
type transcript struct {
	w   io.Writer
	err error
}

func (t *transcript) Write(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	n, err := t.w.Write(p)
	if err != nil {
		t.err = err
	}
	return n, err
}

// isTerminal reports whether r is a terminal (a character device).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// do runs one command line; it reports whether the session should end.
func (s *session) do(ctx context.Context, line string) bool {
	if line == "" || strings.HasPrefix(line, "#") {
		return false
	}
	word, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(word) {
	case "/transfer":
		s.slashCommand(ctx, rest)
	case "form":
		s.formCommand(ctx, rest)
	case "home":
		s.home(ctx)
	case "shortcut":
		s.shortcut(ctx, rest)
	case "press":
		s.press(ctx, rest)
	case "as":
		s.as(rest)
	case "plivo":
		s.plivo(strings.Fields(rest))
	case "audit":
		s.audit()
	case "directory":
		s.directory()
	case "help", "?":
		s.help()
	case "quit", "exit":
		return true
	default:
		s.say("sandbox", fmt.Sprintf("%q is not a command here. Type a line as a supervisor would (/transfer …), or help.", word))
	}
	return false
}

// say prints lines under a label in the transcript's left column.
func (s *session) say(label string, ls ...string) {
	for i, l := range ls {
		if i > 0 {
			label = ""
		}
		fmt.Fprintln(s.out, strings.TrimRight(fmt.Sprintf("%-*s %s", labelWidth, label, l), " "))
	}
}

// sayText prints the lines of a Slack message under a label, wrapped.
func (s *session) sayText(label string, ls ...string) {
	var out []string
	for _, l := range ls {
		out = append(out, screen.WrapProse(l, screen.TextWidth)...)
	}
	s.say(label, out...)
}

func (s *session) banner(notes []string) {
	fmt.Fprintln(s.out, "coldtransfer sandbox: the real bot, with a fake Slack and a fake Plivo on this machine.")
	for _, n := range notes {
		fmt.Fprintln(s.out, n)
	}
	fmt.Fprintf(s.out, "You are @%s in #%s. The sample directory is %s:\n", s.user.name, channelName, s.w.dirFile)
	s.directory()
	fmt.Fprintln(s.out, "Try:  /transfer billing from @alice    (or /transfer list, or form)")
	fmt.Fprintln(s.out, "Type help for the sandbox's commands.")
}

func (s *session) directory() {
	for _, d := range destinations {
		only := ""
		if d.who == leadsGroup {
			only = "  (only " + leadsGroup + ": @lead)"
		}
		s.say("", fmt.Sprintf("%-12s %-25s %s%s", d.name, d.label, d.to, only))
	}
	var agents []string
	for _, p := range people {
		if p.agentAt != "" {
			agents = append(agents, "@"+p.name+" "+p.agentAt)
		}
	}
	const head = "agents: "
	ls := screen.Pack(agents, " · ", screen.TextWidth-len(head))
	for i := range ls {
		if i == 0 {
			ls[i] = head + ls[i]
		} else {
			ls[i] = strings.Repeat(" ", len(head)) + ls[i]
		}
	}
	s.say("", ls...)
	s.say("", "Typed numbers and SIP addresses: @"+people[0].name+" only (+1…, +44…, not +1900…, +1976…; sip:…@"+sipDomain+").")
}

func (s *session) help() {
	s.say("", strings.Split(strings.TrimSpace(`
What a supervisor types in #floor, sent to the bot as the current user:
  /transfer <to> from <agent> [as agent|customer]   transfer at once (cold: the agent leaves)
  /transfer warm <to> from <agent> [as …]           warm: the agent talks to <to> first
  /transfer help · /transfer list · /transfer       usage · destinations · the form
  (@alice, @bob… are sent as Slack sends mentions; names: see directory)
Sandbox commands:
  form to=… agent=… role=…   open the form, show its fields, submit it with these values
  home                       open the bot's Home tab and show it
  shortcut @name [to=… …]    Transfer this caller on a message by @name in #floor: the
                             form, submitted when values are given (as with form)
  press abort                press Abort transfer under the last warm transfer's ✅ reply
  press again [to=… …]       press Transfer again under the last ✅ reply: the form, submitted
                             when values are given (as with form)
  as <name>                  act as supervisor, lead, intruder, alice, bob or carol
  plivo 500 | 404 | 400 [text] | 429 | <status> [text]   Plivo's answer to the next transfer
  plivo timeout | slow | hangup | html | ok               (ok: back to 201 Created)
  audit                      the bot's audit log line of the last request
  directory                  the sample directory
  help                       this list
  quit                       stop (so does the end of input, or Ctrl-D)`), "\n")...)
}

func (s *session) as(name string) {
	p, ok := personNamed(name)
	if !ok {
		var names []string
		for _, p := range people {
			names = append(names, p.name)
		}
		s.say("sandbox", fmt.Sprintf("Nobody called %q here: try %s.", name, strings.Join(names, ", ")))
		return
	}
	s.user = p
	s.say("sandbox", fmt.Sprintf("You are now @%s (%s).", p.name, p.about))
}

func (s *session) plivo(args []string) {
	s.apiIDs++
	st, normal, err := parseSteering(args, fmt.Sprintf("5a4d0e00-0000-4000-8000-%012d", s.apiIDs))
	switch {
	case err != nil:
		s.say("sandbox", err.Error())
	case normal:
		s.steer = nil
		s.w.plivo.Respond()
		s.say("sandbox", "Plivo answers 201 Created again.")
	default:
		s.steer = &st
		s.steerAt = s.w.plivo.Count()
		// The last response repeats: an empty one is the normal answer.
		s.w.plivo.Respond(st.resp, fakeplivo.Response{})
		s.say("sandbox", "Plivo will answer the next transfer with: "+st.what)
	}
}

func (s *session) audit() {
	if s.last == nil {
		s.say("audit", "Nothing was asked of the bot yet.")
		return
	}
	line := s.w.log.audit(s.last.audits)
	if line == nil {
		s.say("audit", "The last request wrote no audit line (help, list and opening the form are not transfers).")
		return
	}
	s.say("audit", screen.AuditLines(line, screen.TextWidth)...)
}

// send types /transfer text as the current user in #floor and waits for
// the ack.
func (s *session) send(ctx context.Context, text string) (*request, fakeslack.Ack, error) {
	r := &request{
		user:        s.user,
		text:        text,
		responseURL: s.w.slack.ResponseURL(),
		triggerID:   s.w.slack.TriggerID(),
		audits:      s.w.log.count(),
		start:       time.Now(),
	}
	s.last = r
	env, err := s.w.slack.SendSlashCommand(ctx, slack.SlashCommand{
		UserID: r.user.id, UserName: r.user.name, ChannelID: channelID, ChannelName: channelName,
		Text: s.screen.SlashText(text), ResponseURL: r.responseURL, TriggerID: r.triggerID,
	})
	if err != nil {
		return r, fakeslack.Ack{}, fmt.Errorf("send /transfer: %w", err)
	}
	ack, err := s.w.slack.WaitAck(ctx, env.EnvelopeID)
	if err != nil {
		return r, ack, fmt.Errorf("wait for the bot's ack: %w", err)
	}
	return r, ack, nil
}

// slashCommand runs `/transfer text` and prints what came of it.
func (s *session) slashCommand(ctx context.Context, text string) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	r, ack, err := s.send(ctx, text)
	if err != nil {
		s.gaveUp(err)
		return
	}
	if s.answeredInAck(ctx, r, ack) {
		return
	}
	switch word := strings.ToLower(strings.TrimSpace(text)); word {
	case "":
		v, err := s.waitForm(ctx, r)
		s.formOpened(ctx, r, v, err, nil, "form to=… agent=… role=…")
	case "list":
		_, err = s.waitTold(ctx, r)
		s.printRecords()
		if err != nil {
			s.gaveUp(err)
		}
	default:
		err = s.waitDone(ctx, r)
		s.printRecords()
		if err != nil {
			s.gaveUp(err)
		}
	}
}

// answeredInAck prints what the bot answered in r's ack, if anything, and
// reports whether that was the whole answer.
func (s *session) answeredInAck(ctx context.Context, r *request, ack fakeslack.Ack) bool {
	if ack.Payload == nil {
		return false
	}
	var p struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(ack.Payload, &p) != nil || p.Text == "" {
		return false
	}
	// Every request but help and list is audited, right after its ack.
	if w := strings.ToLower(strings.TrimSpace(r.text)); w != "help" && w != "list" {
		actx, cancel := context.WithTimeout(ctx, auditTimeout)
		_, _ = s.w.log.waitAudit(actx, r.audits)
		cancel()
	}
	s.printRecords()
	s.sayText("only you", s.screen.Text(p.Text)...)
	return true
}

// waitDone waits until the transfer r asked for is over: its audit line is
// written, and the announcement's final edit or the requester's private
// answer is in.
func (s *session) waitDone(ctx context.Context, r *request) error {
	if _, err := s.w.log.waitAudit(ctx, r.audits); err != nil {
		return fmt.Errorf("wait for the request's audit line: %w", err)
	}
	ann, announced := s.findCall("chat.postMessage", func(c fakeslack.Call) bool {
		return c.Time.After(r.start) && c.Arg("channel") == channelID && c.Arg("thread_ts") == "" &&
			c.AnswerArg("ok") == "true" && strings.Contains(c.Arg("text"), "<@"+r.user.id+">")
	})
	if !announced {
		_, err := s.waitTold(ctx, r)
		return err
	}
	ts := ann.AnswerArg("ts")
	if _, err := s.w.slack.WaitCall(ctx, "chat.update", func(c fakeslack.Call) bool {
		return c.Arg("channel") == channelID && c.Arg("ts") == ts
	}); err != nil {
		return fmt.Errorf("wait for the announcement's ✅/❌ edit: %w", err)
	}
	return nil
}

// findCall returns the first recorded call of method that match accepts.
func (s *session) findCall(method string, match func(fakeslack.Call) bool) (fakeslack.Call, bool) {
	for _, c := range s.w.slack.Calls(method) {
		if match(c) {
			return c, true
		}
	}
	return fakeslack.Call{}, false
}

// waitTold waits for a message to r's requester only: through r's
// response_url, or chat.postEphemeral.
func (s *session) waitTold(ctx context.Context, r *request) (fakeslack.Call, error) {
	c, err := s.waitFirst(ctx, s.toldWaits(r)...)
	if err != nil {
		return c, fmt.Errorf("wait for a message to @%s: %w", r.user.name, err)
	}
	return c, nil
}

func (s *session) toldWaits(r *request) []wait {
	return []wait{
		{"response_url", func(c fakeslack.Call) bool { return c.URL == r.responseURL }},
		{"chat.postEphemeral", func(c fakeslack.Call) bool { return c.Time.After(r.start) && c.Arg("user") == r.user.id }},
	}
}

// waitForm waits for the form r asked for to open, or for the requester to
// be told why not. It returns the opened form, or nil.
func (s *session) waitForm(ctx context.Context, r *request) (*slack.View, error) {
	c, err := s.waitFirst(ctx, append(s.toldWaits(r),
		wait{"views.open", func(c fakeslack.Call) bool { return c.Arg("trigger_id") == r.triggerID }})...)
	if err != nil {
		return nil, fmt.Errorf("wait for the form: %w", err)
	}
	if c.Method != "views.open" || c.AnswerArg("ok") != "true" {
		return nil, nil
	}
	var v slack.View
	if err := json.Unmarshal([]byte(c.AnswerArg("view")), &v); err != nil {
		return nil, fmt.Errorf("read the opened form: %w", err)
	}
	return &v, nil
}

// wait is one kind of call waitFirst waits for.
type wait struct {
	method string
	match  func(fakeslack.Call) bool
}

// waitFirst waits for the first call that one of waits matches.
func (s *session) waitFirst(ctx context.Context, waits ...wait) (fakeslack.Call, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		c   fakeslack.Call
		err error
	}
	results := make(chan result, len(waits))
	for _, w := range waits {
		go func() {
			c, err := s.w.slack.WaitCall(ctx, w.method, w.match)
			results <- result{c, err}
		}()
	}
	var errs []error
	for range waits {
		r := <-results
		if r.err == nil {
			return r.c, nil
		}
		errs = append(errs, r.err)
	}
	return fakeslack.Call{}, errors.Join(errs...)
}

// gaveUp says that a wait ended without the bot finishing.
func (s *session) gaveUp(err error) {
	s.printRecords()
	s.say("sandbox", fmt.Sprintf("Gave up waiting for the bot: %v.", err), "The bot's log: "+s.w.LogPath())
}

// skipRecords marks everything recorded so far as shown.
func (s *session) skipRecords() {
	s.shownSlack = len(s.w.slack.AllCalls())
	s.shownPlivo = s.w.plivo.Count()
}

// event is one thing to print: a Slack call or a Plivo request.
type event struct {
	at    time.Time
	slack *fakeslack.Call
	plivo *fakeplivo.Request
	n     int // index of a Plivo request
}

// printRecords prints what Slack and Plivo received since the last time,
// in the order it arrived.
func (s *session) printRecords() {
	var evs []event
	calls := s.w.slack.AllCalls()
	for i := s.shownSlack; i < len(calls); i++ {
		evs = append(evs, event{at: calls[i].Time, slack: &calls[i]})
	}
	s.shownSlack = len(calls)
	reqs := s.w.plivo.Requests()
	for i := s.shownPlivo; i < len(reqs); i++ {
		evs = append(evs, event{at: reqs[i].Received, plivo: &reqs[i], n: i})
	}
	s.shownPlivo = len(reqs)
	slices.SortStableFunc(evs, func(a, b event) int { return a.at.Compare(b.at) })
	evs = marksAfterReplies(evs)
	for _, e := range evs {
		if e.slack != nil {
			s.printCall(*e.slack)
		} else {
			s.printPlivo(e.n, *e.plivo)
		}
	}
}

// marksAfterReplies moves each announcement's ✅/❌ edit after its thread
// reply when both are in evs: the bot sends them side by side, and either
// may arrive first, but a transcript reads best in one order.
func marksAfterReplies(evs []event) []event {
	for i := 0; i < len(evs); i++ {
		e := evs[i]
		if e.slack == nil || e.slack.Method != "chat.update" {
			continue
		}
		ts := e.slack.Arg("ts")
		for j := i + 1; j < len(evs); j++ {
			if r := evs[j].slack; r != nil && r.Method == "chat.postMessage" && r.Arg("thread_ts") == ts {
				evs = slices.Insert(slices.Delete(evs, i, i+1), j, e)
				i--
				break
			}
		}
	}
	return evs
}

// printCall prints a Slack call as what people see; calls nobody sees
// (auth.test, group lookups…) are left out.
func (s *session) printCall(c fakeslack.Call) {
	failed := ""
	if c.Method != "response_url" && c.AnswerArg("ok") != "true" {
		failed = "(Slack refused it: " + c.AnswerArg("error") + ")"
	}
	switch c.Method {
	case "chat.postMessage":
		ls := s.screen.Message(c)
		label := "#" + channelName
		if c.Arg("channel") != channelID {
			label = c.Arg("channel")
		}
		if c.Arg("thread_ts") != "" {
			label = "thread"
		} else if failed == "" {
			s.messages[c.AnswerArg("ts")] = ls
		}
		s.sayText(label, withNote(ls, failed)...)
	case "chat.update":
		ls := s.screen.Message(c)
		if before, ok := s.messages[c.Arg("ts")]; ok {
			ls = slices.DeleteFunc(ls, func(l string) bool { return slices.Contains(before, l) })
		}
		if failed == "" {
			s.messages[c.Arg("ts")] = s.screen.Message(c)
		}
		s.sayText("edited", withNote(ls, failed)...)
	case "chat.postEphemeral":
		s.sayText("only you", withNote(s.screen.Message(c), failed)...)
	case "response_url":
		var p struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(c.JSON, &p)
		s.sayText("only you", s.screen.Text(p.Text)...)
	case "reactions.add":
		s.say("#"+channelName, withNote([]string{"reaction :" + c.Arg("name") + ": on a message"}, failed)...)
	case "views.open":
		var v slack.View
		if err := json.Unmarshal([]byte(c.Arg("view")), &v); err != nil {
			s.say("form", "(unreadable form: "+err.Error()+")")
			return
		}
		s.say("form", withNote(s.screen.Form(v), failed)...)
	}
}

func withNote(ls []string, note string) []string {
	if note == "" {
		return ls
	}
	return append(ls, note)
}

// printPlivo prints the n-th request Plivo received, and how it was
// answered when a `plivo …` command chose the answer.
func (s *session) printPlivo(n int, r fakeplivo.Request) {
	answer := "→ 201 Created"
	if s.steer != nil && n == s.steerAt {
		answer = "→ " + s.steer.what
		s.steer = nil
	}
	s.say("Plivo", r.Method+" "+r.Path, string(r.Body), answer)
}

// formCommand opens the form as the current user, shows it, fills it in
// with the values of args (to=… agent=… role=…) and submits it.
func (s *session) formCommand(ctx context.Context, args string) {
	values, err := parseFormValues(args)
	if err != nil {
		s.say("sandbox", err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	r, ack, err := s.send(ctx, "")
	if err != nil {
		s.gaveUp(err)
		return
	}
	if s.answeredInAck(ctx, r, ack) {
		return
	}
	view, err := s.waitForm(ctx, r)
	s.formOpened(ctx, r, view, err, values, "")
}

// formOpened prints what opening a form did; then, when it opened, fills
// it in with values and submits it, or, given no values and a hint (the
// command that would fill it in), says how to.
func (s *session) formOpened(ctx context.Context, r *request, view *slack.View, err error, values map[string]string, hint string) {
	s.printRecords()
	switch {
	case err != nil:
		s.gaveUp(err)
	case view == nil: // refused: the requester was told why
	case len(values) == 0 && hint != "":
		s.say("", "(to fill it in and submit it, type: "+hint+")")
	default:
		s.submitForm(ctx, r, view, values)
	}
}

// submitForm fills in the form view that r opened with values, as a
// supervisor would, submits it, and prints what came of it.
func (s *session) submitForm(ctx context.Context, r *request, view *slack.View, values map[string]string) {
	state, filled, notes := s.screen.Fill(view, values)
	s.say("you", append(append(filled, notes...), "press ["+buttonText(view.Submit, "Submit")+"]")...)
	view.State = state
	sub := &request{user: r.user, responseURL: r.responseURL, audits: s.w.log.count(), start: time.Now()}
	s.last = sub
	env, err := s.w.slack.SendInteraction(ctx, slack.InteractionCallback{
		Type: slack.InteractionTypeViewSubmission,
		User: slack.User{ID: r.user.id, Name: r.user.name},
		View: *view,
	})
	var ack fakeslack.Ack
	if err == nil {
		ack, err = s.w.slack.WaitAck(ctx, env.EnvelopeID)
	}
	if err != nil {
		s.gaveUp(fmt.Errorf("submit the form: %w", err))
		return
	}
	if errs := fieldErrors(ack.Payload); len(errs) > 0 {
		s.printRecords()
		for _, bl := range view.Blocks.BlockSet {
			if in, ok := bl.(*slack.InputBlock); ok && errs[in.BlockID] != "" {
				s.sayText("form", "under "+screen.Label(in)+": "+errs[in.BlockID])
				delete(errs, in.BlockID)
			}
		}
		for id, msg := range errs {
			s.sayText("form", "under "+id+": "+msg)
		}
		s.say("", "(the form stays open; nothing ran)")
		return
	}
	err = s.waitDone(ctx, sub)
	s.printRecords()
	if err != nil {
		s.gaveUp(err)
	}
}

func buttonText(t *slack.TextBlockObject, def string) string {
	if t == nil || t.Text == "" {
		return def
	}
	return t.Text
}

// fieldErrors returns the errors of a view_submission ack,
// {"response_action":"errors","errors":{block:message}}, by block id.
func fieldErrors(payload json.RawMessage) map[string]string {
	var p struct {
		Action string            `json:"response_action"`
		Errors map[string]string `json:"errors"`
	}
	if payload == nil || json.Unmarshal(payload, &p) != nil || p.Action != "errors" {
		return nil
	}
	return p.Errors
}

// home opens the current user's Home tab, as clicking the app in Slack
// does, and prints it once the bot has published it (or left it as it
// was: the bot publishes a tab at most once every 10 s, and not when
// nothing changed).
func (s *session) home(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	s.last = &request{user: s.user, audits: s.w.log.count(), start: time.Now()}
	n := s.w.log.homeCount()
	env, err := s.w.slack.SendAppHomeOpened(ctx, s.user.id)
	if err == nil {
		_, err = s.w.slack.WaitAck(ctx, env.EnvelopeID)
	}
	if err != nil {
		s.gaveUp(fmt.Errorf("open the Home tab: %w", err))
		return
	}
	result, later, err := s.w.log.waitHome(ctx, s.user.id, n)
	s.printRecords()
	if err != nil {
		s.gaveUp(fmt.Errorf("wait for the Home tab: %w", err))
		return
	}
	tab, ok := s.w.slack.HomeView(s.user.id)
	if !ok {
		s.say("home", "(Slack shows no Home tab: the bot published none)")
		return
	}
	v, err := tab.Decode()
	if err != nil {
		s.say("home", "(unreadable Home tab: "+err.Error()+")")
		return
	}
	switch {
	case later:
		s.say("sandbox", "The bot publishes a Home tab at most once every 10 s: it published this one when they were over.")
	case result == "unchanged":
		s.say("sandbox", "Nothing changed since the bot last published this tab: it was not published again.")
	}
	s.sayText("home", s.screen.Home(v)...)
}

// shortcut posts a message by the person args names in #floor and uses
// Transfer this caller on it as the current user: the form opens, or the
// requester is told why not. With values after the name (to=… agent=…
// role=…), the form is filled in and submitted, as with form.
func (s *session) shortcut(ctx context.Context, args string) {
	name, rest, _ := strings.Cut(strings.TrimSpace(args), " ")
	author, ok := personNamed(name)
	if !ok {
		s.say("sandbox", fmt.Sprintf("shortcut takes the author of the message, e.g. shortcut @alice (or shortcut @alice to=billing); %q is nobody here.", name))
		return
	}
	values, err := parseFormValues(rest)
	if err != nil {
		s.say("sandbox", err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	const text = "Caller on line 2 is asking for the billing team."
	ts := s.w.slack.AddUserMessage(channelID, author.id, text)
	s.say("#"+channelName, "@"+author.name+": "+text)
	s.say("you", "⋮ → Transfer this caller, on that message")
	r := &request{user: s.user, responseURL: s.w.slack.ResponseURL(), triggerID: s.w.slack.TriggerID(),
		audits: s.w.log.count(), start: time.Now()}
	s.last = r
	env, err := s.w.slack.SendMessageAction(ctx, slack.InteractionCallback{
		CallbackID:  "transfer_from_message",
		User:        slack.User{ID: s.user.id, Name: s.user.name},
		Channel:     slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: channelID}, Name: channelName}},
		Message:     slack.Message{Msg: slack.Msg{User: author.id, Timestamp: ts, Text: text}},
		TriggerID:   r.triggerID,
		ResponseURL: r.responseURL,
	})
	if err == nil {
		_, err = s.w.slack.WaitAck(ctx, env.EnvelopeID)
	}
	if err != nil {
		s.gaveUp(fmt.Errorf("use the shortcut: %w", err))
		return
	}
	view, err := s.waitForm(ctx, r)
	if err == nil && view == nil {
		// Refused: the requester is told, and the refusal audited.
		actx, acancel := context.WithTimeout(ctx, auditTimeout)
		_, _ = s.w.log.waitAudit(actx, r.audits)
		acancel()
	}
	s.formOpened(ctx, r, view, err, values, "shortcut @"+author.name+" to=… agent=… role=…")
}
