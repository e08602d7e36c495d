package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// sandboxTimeout bounds one whole sandbox run in a test: a stuck wait fails
// the test instead of hanging it.
const sandboxTimeout = 60 * time.Second

// The lines every successful typed transfer leaves in the transcript.
var transferred = []string{
	"#floor     🔀 Cold transfer requested by @supervisor with the /transfer command",
	"           Agent on the call: +14152223333 · Transfer to: +14155550100 · Joins as: agent",
	"           ⏳ Asking Plivo…",
	"Plivo      POST /v1/phlo/",
	`           {"action":"cold_transfer","to":"+14155550100","role":"agent","trigger_source":"+14152223333"}`,
	"           → 201 Created",
	"thread     ✅ Plivo accepted the cold transfer. api_id: ",
	"edited     ✅ Transferred · api_id ",
}

const typedTransfer = "/transfer +1 415 555 0100 from +1 415 222 3333"

func TestSandbox(t *testing.T) {
	tests := []struct {
		name   string
		script []string
		want   []string // in this order in stdout
		absent []string // nowhere in stdout
	}{
		{
			name:   "a transfer and its audit line",
			script: []string{typedTransfer, "audit"},
			want: append(append([]string{"> " + typedTransfer}, transferred...),
				"> audit", "audit      level=info msg=transfer requester=U0SUPER channel=C0FLOOR path=command", "action=cold_transfer to=+14155550100",
				"outcome=transferred"),
		},
		{
			name:   "a warm transfer, its Abort and Transfer again buttons",
			script: []string{"/transfer warm billing from @alice", "press abort", "press abort", "press again"},
			want: []string{
				"Warm transfer requested by @supervisor",
				`{"action":"warm_transfer"`,
				"[Abort transfer] [Transfer again]",
				"> press abort",
				"/members/sip:alice@pbx.example.com",
				`{"action":"abort_transfer"}`,
				"↩️ Transfer aborted",
				"> press abort",
				"No ✅ reply in #floor has that button now",
				"> press again",
				"text, filled in: +14155550100",
			},
		},
		{
			name:   "a user who is not allowed is refused, privately",
			script: []string{"as intruder", typedTransfer, "audit"},
			want: []string{
				"sandbox    You are now @intruder (not allowed to transfer).",
				"> " + typedTransfer,
				"only you   ⛔ You are not allowed to transfer calls.",
				"> audit", "requester=U0INTRUDER", "decision=refused", "outcome=refused",
			},
			absent: []string{"Plivo      POST", "#floor     🔀", "thread "},
		},
		{
			// The form, not a transfer: the sample directory lets only the
			// supervisor type numbers.
			name:   "allowed through a user group",
			script: []string{"as lead", "/transfer"},
			want: []string{
				"sandbox    You are now @lead (allowed to transfer as a member of the group S0LEADS).",
				"form       Cold transfer [Cancel] [Transfer]",
				"(to fill it in and submit it, type: form to=… agent=… role=…)",
			},
			absent: []string{"only you"},
		},
		{
			// Another call the second time: a call whose outcome is unknown
			// stays claimed for a while, so that nobody acts on it twice.
			name:   "Plivo 500 then the normal answer again",
			script: []string{"plivo 500", typedTransfer, "/transfer +1 415 555 0101 from +44 20 7946 0123"},
			want: []string{
				`sandbox    Plivo will answer the next transfer with: 500 Internal Server Error {"api_id":`,
				"> " + typedTransfer,
				`           → 500 Internal Server Error {"api_id":`,
				`thread     ⚠️ Transfer outcome unknown. Plivo had a server error (HTTP 500, "internal server error"):`,
				"edited     ⚠️ Outcome unknown: check the call · see thread",
				"> /transfer +1 415 555 0101 from +44 20 7946 0123",
				`{"action":"cold_transfer","to":"+14155550101","role":"agent","trigger_source":"+442079460123"}`,
				"           → 201 Created",
				"edited     ✅ Transferred",
			},
		},
		{
			name:   "Plivo 404",
			script: []string{"plivo 404", typedTransfer, "audit"},
			want: []string{
				"           → 404 Not Found {}",
				"thread     ❌ Not transferred. Plivo found no such PHLO or node (HTTP 404): check PLIVO_PHLO_ID and",
				"edited     ❌ Not transferred · see thread",
				"outcome=failed", "plivo_status=404",
			},
		},
		{
			name:   "Plivo times out",
			script: []string{"plivo timeout", typedTransfer},
			want: []string{
				"           → no answer (the bot gives up after PLIVO_TIMEOUT, 2s here)",
				"thread     ⚠️ Transfer outcome unknown. Plivo did not answer within 2s: the call may or may not",
				"edited     ⚠️ Outcome unknown",
			},
		},
		{
			name:   "Plivo 429 is retried",
			script: []string{"plivo 429", typedTransfer},
			want: []string{
				"           → 429 Too Many Requests (Retry-After: 1)",
				"Plivo      POST /v1/phlo/", "           → 201 Created",
				"edited     ✅ Transferred",
			},
		},
		{
			name:   "the form, shown and submitted",
			script: []string{"form to=billing agent=@alice role=customer"},
			want: []string{
				"form       Cold transfer [Cancel] [Transfer]",
				// An agent and a destination are required: one of the picker
				// and the typed field beside it, not "optional".
				"           • Agent on the call: pick a Slack user\n",
				"             …or the number / SIP address the agent is on: text, e.g. +1 415 222 3333\n",
				"             (one of these two is required, not both)\n",
				"           • Transfer to: pick one of ○ billing (Billing queue)",
				"             …or a number / SIP address: text, e.g. +1 415 222 5555\n",
				"             (one of these two is required, not both)\n",
				"           • Joins the call as: pick one of ○ Agent  ○ Customer (optional)",
				"you        Agent on the call: @alice",
				"           Transfer to: Billing queue",
				"           Joins the call as: Customer",
				"           press [Transfer]",
				"#floor     🔀 Cold transfer requested by @supervisor with the transfer form",
				`{"action":"cold_transfer","to":"+14155550100","role":"customer","trigger_source":"sip:alice@pbx.example.com"}`,
				"edited     ✅ Transferred",
			},
		},
		{
			// The bot's answers suggest "from me": it works for whoever may
			// transfer.
			name:   "from me, as the supervisor and as a lead",
			script: []string{"/transfer billing from me", "as lead", "/transfer sales from me"},
			want: []string{
				"> /transfer billing from me",
				`{"action":"cold_transfer","to":"+14155550100","role":"agent","trigger_source":"sip:supervisor@pbx.example.com"}`,
				"edited     ✅ Transferred",
				"> /transfer sales from me",
				`{"action":"cold_transfer","to":"+14155550101","role":"agent","trigger_source":"sip:lead@pbx.example.com"}`,
				"edited     ✅ Transferred",
			},
			absent: []string{"no agent entry", "only you "},
		},
		{
			name:   "the form keeps bad values and shows why",
			script: []string{"form to=5555 agent=+1 415 222 3333", "audit"},
			want: []string{
				"you        …or the number / SIP address the agent is on: +1 415 222 3333",
				`form       under …or a number / SIP address: "5555" has no country code`,
				"           (the form stays open; nothing ran)",
				"audit      The last request wrote no audit line",
			},
			absent: []string{"Plivo      POST", "#floor "},
		},
		{
			name:   "the form is not opened for a user who is not allowed",
			script: []string{"as intruder", "form to=+1 415 555 0100 agent=+1 415 222 3333"},
			want:   []string{"only you   ⛔ You are not allowed to transfer calls."},
			absent: []string{"form       Cold transfer", "you        ", "Plivo      POST"},
		},
		{
			// Each user's first open publishes at once: no wait for the 10 s
			// between two publishes of one tab.
			name:   "the Home tab and the message shortcut",
			script: []string{"home", "shortcut @bob to=sales", "as intruder", "home", "shortcut @alice", "audit"},
			want: []string{
				"> home", "home       COLD TRANSFER", "           ✅ You may transfer calls", "           [New transfer]",
				"           • Billing queue · billing → +14155550100", "           Your last transfers", "           None in the last 7 days.",
				"> shortcut @bob to=sales", "#floor     @bob: Caller on line 2", "• Agent on the call: pick a Slack user (◉ @bob)",
				"you        Agent on the call: @bob", "#floor     🔀 Cold transfer requested by @supervisor with the transfer form, in answer to this message",
				`"role":"agent","trigger_source":"+14152223333"}`, "edited     ✅ Transferred",
				"> as intruder", "> home", "home       COLD TRANSFER", "           ⛔ You may not transfer calls.",
				"> shortcut @alice", "only you   ⛔ You are not allowed to transfer calls.", "> audit", "requester=U0INTRUDER", "outcome=refused",
			},
			absent: []string{"form       Cold transfer [Cancel] [Transfer]\n           • Agent on the call: pick a Slack user (◉ @alice)"},
		},
		{
			name:   "help, usage and invalid input",
			script: []string{"help", "/transfer help", "/transfer +1 415", "audit", "frobnicate"},
			want: []string{
				"> help", "  home", "  shortcut @name", "  as <name>", "  plivo timeout", "  quit",
				"> /transfer help", "only you   Cold-transfer a live call",
				"> /transfer +1 415", "only you   ⚠️ from is missing", "outcome=invalid",
				`sandbox    "frobnicate" is not a command here.`,
			},
			absent: []string{"Plivo      POST", "#floor "},
		},
		{
			name:   "quit stops before the rest of the input",
			script: []string{"# a comment", "", "quit", typedTransfer},
			want:   []string{"> quit"},
			absent: []string{"> " + typedTransfer, "#floor "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), sandboxTimeout)
			defer cancel()
			var stdout, stderr bytes.Buffer
			stdin := strings.NewReader(strings.Join(tt.script, "\n") + "\n")

			// No -env-file: the sandbox reads none, and says so only of one
			// that is there (TestSandboxIgnoresEnvFile).
			status := run(ctx, []string{"-sandbox"}, lookup(nil), stdin, &stdout, &stderr)

			if ctx.Err() != nil {
				t.Fatalf("the sandbox was still running when the test's deadline passed; stdout:\n%s", stdout.String())
			}
			if status != exitOK {
				t.Errorf("run -sandbox returned %d, want %d; stderr:\n%s", status, exitOK, stderr.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr is not empty (the bot must log to its file, not the terminal):\n%s", stderr.String())
			}
			assertInOrder(t, stdout.String(), tt.want)
			for _, a := range tt.absent {
				if strings.Contains(stdout.String(), a) {
					t.Errorf("stdout contains %q, want it absent; stdout:\n%s", a, stdout.String())
				}
			}
			if strings.Contains(stdout.String(), "Gave up waiting") {
				t.Errorf("the sandbox gave up waiting for the bot; stdout:\n%s", stdout.String())
			}
		})
	}
}

// TestSandboxIgnoresEnvFile runs the sandbox where a .env would not even
// parse: the sandbox says it ignores it, and works.
func TestSandboxIgnoresEnvFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("SLACK_BOT_TOKEN "+botToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir) // not parallel: the default .env is in the working directory
	ctx, cancel := context.WithTimeout(t.Context(), sandboxTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer

	status := run(ctx, []string{"-sandbox"}, lookup(map[string]string{"SLACK_API_URL": "http://127.0.0.1:1/api/"}),
		strings.NewReader(typedTransfer+"\n"), &stdout, &stderr)

	if status != exitOK {
		t.Errorf("run -sandbox returned %d, want %d; stderr:\n%s", status, exitOK, stderr.String())
	}
	assertInOrder(t, stdout.String(), append([]string{"Ignoring .env: the sandbox needs no configuration and reads none."}, transferred...))
	assertNoSecrets(t, stdout.String()+stderr.String())
}

// TestSandboxBinary pipes the README's demo into `coldtransfer -sandbox`,
// as a newcomer's script would.
func TestSandboxBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := botBinary(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), sandboxTimeout)
	defer cancel()
	script, err := os.ReadFile(filepath.Join("testdata", "sandbox-demo.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()

	cmd := exec.CommandContext(ctx, bin, "-sandbox")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.Stdin = bytes.NewReader(script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	t.Logf("the piped demo ran in %v", time.Since(start).Round(time.Millisecond))

	if err != nil {
		t.Fatalf("coldtransfer -sandbox: %v (want exit status 0); stderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr is not empty:\n%s", stderr.String())
	}
	assertInOrder(t, stdout.String(), []string{
		"coldtransfer sandbox: the real bot, with a fake Slack and a fake Plivo on this machine.",
		"> /transfer billing from @alice", `"trigger_source":"sip:alice@pbx.example.com"}`, "edited     ✅ Transferred",
		// The call is held for a while after its transfer; whatever the
		// sentence, it names who has it and which call.
		"> /transfer sales from @alice", "only you   ⛔ @supervisor ", "sip:alice@pbx.example.com",
		"> as intruder", "only you   ⛔ You are not allowed to transfer calls.",
		"> plivo 500", "thread     ⚠️ Transfer outcome unknown. Plivo had a server error (HTTP 500",
		"> /transfer bilingg from @carol", "No destination called bilingg; did you mean billing?",
		"> /transfer +1 900 555 0100 from @carol", "Numbers starting +1900 are barred on this floor",
		"> form ", "form       Cold transfer [Cancel] [Transfer]", "with the transfer form",
		`"role":"customer","trigger_source":"+442079460123"}`, "edited     ✅ Transferred",
	})
	assertNoSandboxLeft(t, tmp)
}

// TestSandboxHelpExamples runs every example of the bot's own usage text
// in the sandbox: each must transfer, not be refused by the sample
// directory's policy.
func TestSandboxHelpExamples(t *testing.T) {
	examples := []string{
		"/transfer +1 415 222 5555 from +1 415 222 3333",
		"/transfer sip:queue@pbx.example.com from +14152223333 as customer",
		"/transfer billing from me",
	}
	t.Run("in the usage", func(t *testing.T) {
		t.Parallel()
		out, _, status := runSandboxScript(t, "/transfer help")
		if status != exitOK {
			t.Fatalf("exit status %d, want %d", status, exitOK)
		}
		// Mrkdwn is rendered and wrapped: compare without line breaks.
		flat := strings.Join(strings.Fields(out), " ")
		for _, ex := range examples {
			if !strings.Contains(flat, ex) {
				t.Errorf("the usage no longer gives the example %q (update this test's list); stdout:\n%s", ex, out)
			}
		}
	})
	for _, ex := range examples {
		t.Run(ex, func(t *testing.T) {
			t.Parallel()
			out, _, status := runSandboxScript(t, ex)
			if status != exitOK {
				t.Errorf("exit status %d, want %d", status, exitOK)
			}
			assertInOrder(t, out, []string{"> " + ex, "Plivo      POST", "→ 201 Created", "edited     ✅ Transferred"})
			if strings.Contains(out, "only you ") {
				t.Errorf("the example was answered privately (refused?); stdout:\n%s", out)
			}
		})
	}
}

// TestSandboxLongLine: a line over 1 MiB is skipped with a message, and
// the lines after it still run.
func TestSandboxLongLine(t *testing.T) {
	t.Parallel()
	long := "/transfer " + strings.Repeat("9", 1<<20)
	out, stderr, status := runSandboxScript(t, long, typedTransfer)
	if status != exitOK {
		t.Errorf("exit status %d, want %d; stderr:\n%s", status, exitOK, stderr)
	}
	assertInOrder(t, out, append([]string{
		fmt.Sprintf("sandbox    Line 1 is %d bytes long, over the 1 MiB a line may have: skipped.", len(long)+1),
		"> " + typedTransfer,
	}, transferred...))
	if len(out) > 64<<10 {
		t.Errorf("stdout is %d bytes: the long line was echoed", len(out))
	}
}

// TestSandboxInputError: a read error of standard input is an error, not
// the end of a script that went well.
func TestSandboxInputError(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), sandboxTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	in := io.MultiReader(strings.NewReader(typedTransfer+"\n/transfer bil"), iotest.ErrReader(errors.New("input/output error")))

	status := run(ctx, []string{"-sandbox"}, lookup(nil), in, &stdout, &stderr)

	if status != exitFailure {
		t.Errorf("exit status %d, want %d", status, exitFailure)
	}
	assertInOrder(t, stdout.String(), transferred)
	if want := "read line 2 of the input: input/output error"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
	}
}

// TestSandboxStdoutClosed: when nobody reads the transcript any more, the
// session ends as at the end of input; when it cannot be written for
// another reason, that is an error. Either way the temporary directory
// goes.
func TestSandboxStdoutClosed(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantStderr string
	}{
		{name: "its reader is gone (… | head -1)", err: syscall.EPIPE, wantStatus: exitOK},
		{name: "the disk is full", err: syscall.ENOSPC, wantStatus: exitFailure, wantStderr: "write the transcript: no space left on device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), sandboxTimeout)
			defer cancel()
			stdout := &closingWriter{until: "Type help", err: tt.err} // the banner, then the error
			var stderr bytes.Buffer
			script := strings.Repeat(typedTransfer+"\n", 3)

			status := run(ctx, []string{"-sandbox"}, lookup(nil), strings.NewReader(script), stdout, &stderr)

			if status != tt.wantStatus {
				t.Errorf("exit status %d, want %d; stderr:\n%s", status, tt.wantStatus, stderr.String())
			}
			if tt.wantStderr == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr:\n%s\nwant it to say %q", stderr.String(), tt.wantStderr)
			}
			m := regexp.MustCompile(`The sample directory is (\S+)/directory\.yaml`).FindStringSubmatch(stdout.buf.String())
			if m == nil {
				t.Fatalf("no sample directory in the banner:\n%s", stdout.buf.String())
			}
			if _, err := os.Stat(m[1]); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the sandbox's temporary directory %s is still there (stat: %v)", m[1], err)
			}
			if !stdout.closed || strings.Contains(stdout.buf.String(), "> ") {
				t.Errorf("stdout took more than the banner:\n%s", stdout.buf.String())
			}
			if stdout.refused > 1 {
				t.Errorf("%d writes after the first failed one: the session went on", stdout.refused-1)
			}
		})
	}
}

// closingWriter takes writes up to the one that holds until, then fails
// every write with err.
type closingWriter struct {
	until   string
	err     error
	buf     bytes.Buffer
	closed  bool
	refused int // writes failed
}

func (w *closingWriter) Write(p []byte) (int, error) {
	if w.closed {
		w.refused++
		return 0, w.err
	}
	w.closed = bytes.Contains(p, []byte(w.until))
	return w.buf.Write(p)
}

// TestSandboxBinaryCleansUp runs the binary to every end a terminal or a
// pipe can give it, and checks that the temporary directory goes each
// time: a process killed by SIGPIPE or by a signal leaves it behind.
func TestSandboxBinaryCleansUp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := botBinary(t)
	tests := []struct {
		name string
		// end ends the session once the banner is read: stdin is still
		// open, and stdout is read through the pipe r.
		end func(t *testing.T, p *os.Process, stdin io.WriteCloser, r *os.File)
	}{
		{
			name: "end of input",
			end: func(t *testing.T, _ *os.Process, stdin io.WriteCloser, _ *os.File) {
				writeLines(t, stdin, typedTransfer)
				stdin.Close()
			},
		},
		{
			// coldtransfer -sandbox < script | head -1
			name: "stdout closed by its reader",
			end: func(t *testing.T, _ *os.Process, stdin io.WriteCloser, r *os.File) {
				r.Close()
				writeLines(t, stdin, typedTransfer, typedTransfer)
				stdin.Close()
			},
		},
		{
			name: "Ctrl-C",
			end: func(t *testing.T, p *os.Process, _ io.WriteCloser, _ *os.File) {
				if err := p.Signal(os.Interrupt); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "SIGTERM",
			end: func(t *testing.T, p *os.Process, _ io.WriteCloser, _ *os.File) {
				if err := p.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), sandboxTimeout)
			defer cancel()
			tmp := t.TempDir()
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			cmd := exec.CommandContext(ctx, bin, "-sandbox")
			cmd.Dir = t.TempDir()
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			cmd.Stdout = w
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			w.Close() // the child's copy stays open
			// Read up to the banner's last line: the session is running.
			out := bufio.NewReader(r)
			for {
				line, err := out.ReadString('\n')
				if err != nil {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
					t.Fatalf("no banner: %v; stderr:\n%s", err, stderr.String())
				}
				if strings.HasPrefix(line, "Type help") {
					break
				}
			}
			go func() { _, _ = io.Copy(io.Discard, out) }() // a pipe nobody reads could block the child

			tt.end(t, cmd.Process, stdin, r)
			err = cmd.Wait()

			if ctx.Err() != nil {
				t.Fatalf("the sandbox did not stop; stderr:\n%s", stderr.String())
			}
			if ps := cmd.ProcessState; ps != nil && ps.ExitCode() < 0 {
				t.Errorf("the sandbox was killed (%v); stderr:\n%s", err, stderr.String())
			} else if err != nil || stderr.Len() > 0 {
				t.Errorf("the sandbox ended with %v, want exit status 0 and nothing on stderr:\n%s", err, stderr.String())
			}
			assertNoSandboxLeft(t, tmp)
		})
	}
}

// writeLines writes lines to w, each ended.
func writeLines(t *testing.T, w io.Writer, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if _, err := io.WriteString(w, l+"\n"); err != nil {
			t.Fatal(err)
		}
	}
}

// assertNoSandboxLeft fails t when a sandbox's temporary directory is
// still in tmp.
func assertNoSandboxLeft(t *testing.T, tmp string) {
	t.Helper()
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "coldtransfer-sandbox-") {
			t.Errorf("the sandbox's temporary directory %s was left behind", filepath.Join(tmp, e.Name()))
		}
	}
}

// runSandboxScript runs the sandbox in this process on the lines of
// script, and returns its stdout, stderr and exit status.
func runSandboxScript(t *testing.T, script ...string) (stdout, stderr string, status int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), sandboxTimeout)
	defer cancel()
	var out, errOut bytes.Buffer
	status = run(ctx, []string{"-sandbox"}, lookup(nil), strings.NewReader(strings.Join(script, "\n")+"\n"), &out, &errOut)
	if ctx.Err() != nil {
		t.Fatalf("the sandbox was still running when the test's deadline passed; stdout:\n%s", out.String())
	}
	return out.String(), errOut.String(), status
}

// assertInOrder fails t unless each of want occurs in out after the one
// before it.
func assertInOrder(t *testing.T, out string, want []string) {
	t.Helper()
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			if strings.Contains(out, w) {
				t.Errorf("stdout has %q, but not in the expected order; stdout:\n%s", w, out)
			} else {
				t.Errorf("stdout has no %q; stdout:\n%s", w, out)
			}
			return
		}
		rest = rest[i+len(w):]
	}
}
