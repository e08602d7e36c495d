package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
				"> audit", "audit      level=info msg=transfer requester=U0SUPER channel=C0FLOOR path=command to=+14155550100",
				"outcome=transferred"),
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
			// stays claimed for a while (SPEC §13.2).
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
				"           • Agent on the call: pick a Slack user (optional)",
				"           • Transfer to: pick one of ○ billing (Billing queue)",
				"           • …or a number / SIP address: text, e.g. +1 415 222 5555 (optional)",
				"           • Joins the call as: pick one of ○ Agent  ○ Customer (optional)",
				"you        Agent on the call: @alice",
				"           Transfer to: Billing queue",
				"           Joins the call as: Customer",
				"           press [Transfer]",
				"#floor     🔀 Cold transfer requested by @supervisor with the transfer form",
				`{"action":"cold_transfer","to":"+14155550100","role":"customer","trigger_source":"sip:alice@floor.sip.example.com"}`,
				"edited     ✅ Transferred",
			},
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
			name:   "help, usage and invalid input",
			script: []string{"help", "/transfer help", "/transfer +1 415", "audit", "frobnicate"},
			want: []string{
				"> help", "  as <name>", "  plivo timeout", "  quit",
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

			status := run(ctx, append(noEnvFile(t), "-sandbox"), lookup(nil), stdin, &stdout, &stderr)

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

// TestSandboxBinary builds the bot and pipes the README's demo into
// `coldtransfer -sandbox`, as a newcomer's script would.
func TestSandboxBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the binary with")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 3*sandboxTimeout)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "coldtransfer")
	if out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	script, err := os.ReadFile(filepath.Join("testdata", "sandbox-demo.txt"))
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.CommandContext(ctx, bin, "-sandbox")
	cmd.Dir = t.TempDir()
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
		"> /transfer billing from @alice", `"trigger_source":"sip:alice@floor.sip.example.com"}`, "edited     ✅ Transferred",
		"> /transfer sales from @alice", "only you   ⛔ @supervisor is already transferring the call of sip:alice@floor.sip.example.com",
		"> as intruder", "only you   ⛔ You are not allowed to transfer calls.",
		"> plivo 500", "thread     ⚠️ Transfer outcome unknown. Plivo had a server error (HTTP 500",
		"> /transfer bilingg from @carol", "No destination called bilingg; did you mean billing?",
		"> /transfer +1 900 555 0100 from @carol", "Numbers starting +1900 are barred on this floor",
		"> form ", "form       Cold transfer [Cancel] [Transfer]", "with the transfer form",
		`"role":"customer","trigger_source":"+442079460123"}`, "edited     ✅ Transferred",
	})
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
