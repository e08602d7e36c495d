package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
)

// The first contact with the program: -help, the first mistakes in the
// configuration, and the first connection to Slack.

// sandboxHintWords are what every -help and every configuration error
// ends with: the way to try the bot without accounts.
const sandboxHintWords = "No accounts yet? coldtransfer -sandbox"

func TestRunHelp(t *testing.T) {
	for _, arg := range []string{"-help", "-h"} {
		t.Run(arg, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if status := run(t.Context(), []string{arg}, lookup(nil), strings.NewReader(""), &stdout, &stderr); status != exitOK {
				t.Errorf("run %s returned %d, want %d", arg, status, exitOK)
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			first, last := lines[0], lines[len(lines)-1]
			// One sentence: what the program is.
			if !strings.HasPrefix(first, "coldtransfer is ") || !strings.HasSuffix(first, ".") || strings.Contains(strings.TrimSuffix(first, "."), ". ") {
				t.Errorf("-help opens with %q, want one sentence saying what coldtransfer is", first)
			}
			if !strings.Contains(first, "Slack") || !strings.Contains(first, "Plivo") || !strings.Contains(first, "transfer") {
				t.Errorf("-help's first sentence %q does not say it transfers Plivo calls from Slack", first)
			}
			assertInOrder(t, stderr.String(), []string{first, "-env-file", "-healthcheck", "-sandbox", "-version"})
			if !strings.HasPrefix(last, sandboxHintWords) {
				t.Errorf("-help ends with %q, want %q…", last, sandboxHintWords)
			}
		})
	}
}

func TestRunConfigErrorsEndWithSandboxHint(t *testing.T) {
	f := newFakes(t)
	tests := []struct {
		name string
		args func(dir string) []string
		env  map[string]string
		want string // the start of a line of stderr, {dir} for the test's directory
	}{
		{
			name: "nothing configured",
			args: func(string) []string { return []string{"-env-file", ""} },
			want: "coldtransfer: the configuration has ",
		},
		{
			name: "a malformed variable",
			args: func(string) []string { return []string{"-env-file", ""} },
			env:  merge(f.env(), map[string]string{"PLIVO_TIMEOUT": "soon"}),
			want: "coldtransfer: the configuration has 1 problem(s):",
		},
		{
			name: "an env file that does not parse",
			args: func(dir string) []string {
				path := filepath.Join(dir, "bot.env")
				if err := os.WriteFile(path, []byte("SLACK_BOT_TOKEN "+botToken+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				return []string{"-env-file", path}
			},
			want: "coldtransfer: read {dir}/bot.env: line 1 is not NAME=value (or a quoted value is not closed)",
		},
		{
			name: "an env file named that is not there",
			args: func(dir string) []string { return []string{"-env-file", filepath.Join(dir, "missing.env")} },
			env:  f.env(),
			want: `coldtransfer: -env-file {dir}/missing.env: there is no such file (-env-file "" reads none)`,
		},
		{
			name: "an unknown flag",
			args: func(string) []string { return []string{"-envfile", "x"} },
			want: "flag provided but not defined: -envfile",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var stderr bytes.Buffer

			status := run(t.Context(), tt.args(dir), lookup(tt.env), strings.NewReader(""), io.Discard, &stderr)

			if status != exitBadConfig {
				t.Errorf("run returned %d, want %d; stderr:\n%s", status, exitBadConfig, stderr.String())
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			want := strings.ReplaceAll(tt.want, "{dir}", dir)
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, want) }) {
				t.Errorf("stderr has no line %q:\n%s", want, stderr.String())
			}
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, sandboxHintWords) {
				t.Errorf("stderr ends with %q, want %q…", last, sandboxHintWords)
			}
			assertNoSecrets(t, stderr.String())
			f.assertNoNetwork(t)
		})
	}
}

// TestRunDefaultEnvFileMayBeAbsent: without -env-file, a missing .env is
// no file; -env-file "" reads none, even when .env is there.
func TestRunDefaultEnvFileMayBeAbsent(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // not parallel: the default .env is in the working directory
	env := map[string]string{"LOG_LEVEL": "verbose"}
	for _, step := range []struct {
		name string
		args []string
	}{
		{"no .env", nil},
		{"a .env that does not parse, not read", []string{"-env-file", ""}},
	} {
		if step.args != nil {
			if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("not a variable\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		var stderr bytes.Buffer
		status := run(t.Context(), step.args, lookup(env), strings.NewReader(""), io.Discard, &stderr)
		if status != exitBadConfig {
			t.Errorf("%s: run returned %d, want %d; stderr:\n%s", step.name, status, exitBadConfig, stderr.String())
		}
		if !strings.Contains(stderr.String(), "  LOG_LEVEL: ") || strings.Contains(stderr.String(), ".env:") || strings.Contains(stderr.String(), "-env-file") {
			t.Errorf("%s: stderr is not the configuration's problems alone:\n%s", step.name, stderr.String())
		}
	}
}

// TestRunLogsWhereItConnects: the first lines of the log say which Slack
// and which Plivo the bot uses, without a credential.
func TestRunLogsWhereItConnects(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	stderr := runUntilConnected(t, f, f.env())
	connecting := stderr.log("connecting")
	if connecting == nil {
		t.Fatalf("no \"connecting\" line; stderr:\n%s", stderr)
	}
	if got, want := connecting["slack_api_url"], f.slack.APIURL(); got != want {
		t.Errorf(`"connecting" has slack_api_url %v, want %q`, got, want)
	}
	if got, want := connecting["plivo_phlo_url"], strings.TrimSuffix(f.plivo.URL(), "/"); got != want {
		t.Errorf(`"connecting" has plivo_phlo_url %v, want %q`, got, want)
	}
	assertNoSecrets(t, stderr.String())
}

// TestRunSlackUnreachableSaysWhatToCheck: an unreachable SLACK_API_URL is
// logged at each failure as it happens (no silent retries before the
// first line), with units on the wait, and the third failure says at error
// level what to check.
func TestRunSlackUnreachableSaysWhatToCheck(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	// A Slack that takes each connection and closes it at once, counting
	// them: each attempt is one connection.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var connections atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			connections.Add(1)
			_ = c.Close()
		}
	}()
	refused := "http://" + l.Addr().String()
	env := merge(f.env(), map[string]string{"SLACK_API_URL": refused + "/api/"})
	b := runInBackground(t, 30*time.Second, env)
	ctx, stderr := b.ctx, b.stderr

	// The warning is the behaviour under test, its wording and fields;
	// nothing else marks the failure (the bot never connects, and serves
	// no metrics here).
	first, err := stderr.waitLog(ctx, "slack unreachable, retrying auth.test")
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, stderr)
	}
	if first["retry_in"] != "1s" || first["url"] != refused+"/api/auth.test" || first["attempt"] != 1.0 {
		t.Errorf("first failure %v, want retry_in \"1s\", url %s/api/auth.test and attempt 1", first, refused)
	}

	third, err := waitEntry(ctx, stderr, "an error-level line", func(e map[string]any) bool { return e["level"] == "error" })
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, stderr)
	}
	msg, _ := third["msg"].(string)
	for _, w := range []string{"proxy", "firewall", "DNS", "SLACK_API_URL"} {
		if !strings.Contains(msg, w) {
			t.Errorf("the error line %q does not mention %s", msg, w)
		}
	}
	if third["url"] != refused+"/api/auth.test" || third["attempt"] != 3.0 {
		t.Errorf("error line %v, want the url and attempt 3", third)
	}
	assertDurationsHaveUnits(t, stderr.String())

	if status := b.stopAndWait(t); status != exitOK {
		t.Errorf("run returned %d, want %d", status, exitOK)
	}
	assertNoSecrets(t, stderr.String())
	// Every failure was said when it happened: one connection per failure
	// logged, and perhaps one more that the stop cut short (before, one
	// logged failure hid about 5 s of retries).
	logged := 0
	for line := range strings.Lines(stderr.String()) {
		if strings.Contains(line, `"url":"`+refused+`/api/auth.test"`) && strings.Contains(line, `"attempt":`) {
			logged++
		}
	}
	if n := connections.Load(); n < int64(logged) || n > int64(logged)+1 || logged < 3 {
		t.Errorf("%d connections for %d failures logged, want one connection per logged failure (at least 3)", n, logged)
	}
}

// TestRunSocketModeUnreachableSaysWhatToCheck: Slack's Web API answers,
// but its WebSocket cannot be reached (a proxy that lets HTTPS through and
// not WebSockets): each failure is logged, and the third says what to
// check, without the connection's ticket.
func TestRunSocketModeUnreachableSaysWhatToCheck(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	const ticket = "ticket-SECRET-0123456789"
	ws := strings.Replace(fakeplivo.RefusedURL(t), "http://", "ws://", 1) + "/link/?ticket=" + ticket
	slackAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/auth.test":
			fmt.Fprint(w, `{"ok":true,"team":"Fake","team_id":"T0FAKE","user":"bot","user_id":"UBOT","bot_id":"B0BOT"}`)
		case "/api/apps.connections.open":
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": ws})
		default:
			fmt.Fprint(w, `{"ok":false,"error":"unknown_method"}`)
		}
	}))
	t.Cleanup(slackAPI.Close)
	env := merge(f.env(), map[string]string{"SLACK_API_URL": slackAPI.URL + "/api/"})
	b := runInBackground(t, 30*time.Second, env)
	ctx, stderr := b.ctx, b.stderr

	// The warning is the behaviour under test, its wording and fields;
	// nothing else marks the failed dial (the bot never connects, and
	// serves no metrics here).
	first, err := stderr.waitLog(ctx, "cannot connect to Slack, retrying")
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, stderr)
	}
	if first["url"] != slackAPI.URL+"/api/apps.connections.open" || first["attempt"] != 1.0 {
		t.Errorf("first failure %v, want url %s/api/apps.connections.open and attempt 1", first, slackAPI.URL)
	}
	third, err := waitEntry(ctx, stderr, "an error-level line", func(e map[string]any) bool { return e["level"] == "error" })
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, stderr)
	}
	msg, _ := third["msg"].(string)
	for _, w := range []string{"WebSocket", "proxy", "firewall", "DNS", "SLACK_API_URL"} {
		if !strings.Contains(msg, w) {
			t.Errorf("the error line %q does not mention %s", msg, w)
		}
	}
	if third["attempt"] != 3.0 {
		t.Errorf("error line %v, want attempt 3", third)
	}
	assertDurationsHaveUnits(t, stderr.String())

	if status := b.stopAndWait(t); status != exitOK {
		t.Errorf("run returned %d, want %d", status, exitOK)
	}
	if strings.Contains(stderr.String(), ticket) {
		t.Errorf("the log shows the WebSocket's ticket:\n%s", stderr)
	}
	assertNoSecrets(t, stderr.String())
}

// assertDurationsHaveUnits fails t when a retry_in of the log is not a
// duration with its unit, like "1s" or "212ms".
func assertDurationsHaveUnits(t *testing.T, log string) {
	t.Helper()
	for line := range strings.Lines(log) {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		v, ok := e["retry_in"]
		if !ok {
			continue
		}
		s, isString := v.(string)
		if _, err := time.ParseDuration(s); !isString || err != nil || strings.Trim(s, "0123456789.") == "" {
			t.Errorf("retry_in is %v, want a duration with its unit: %s", v, line)
		}
	}
}

// waitEntry waits until b has a JSON log line that match accepts, and
// returns it.
func waitEntry(ctx context.Context, b *syncBuffer, what string, match func(map[string]any) bool) (map[string]any, error) {
	for {
		b.mu.Lock()
		changed := b.changed
		log := b.buf.String()
		b.mu.Unlock()
		for line := range strings.Lines(log) {
			var e map[string]any
			if json.Unmarshal([]byte(line), &e) == nil && match(e) {
				return e, nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, errors.Join(fmt.Errorf("no log line: %s", what), ctx.Err())
		}
	}
}
