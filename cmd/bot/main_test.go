package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/config"
	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
)

// The credentials of validEnv: distinctive, so that finding one in stderr
// cannot be a coincidence.
const (
	botToken    = "xoxb-right-1111-BotSecretBotSecretBotSecret"
	appToken    = "xapp-1-A0001-right-AppSecretAppSecretAppSecret"
	authID      = "MAXXXXXXXXXXXXXXXXXX"
	authToken   = "PlivoSecretPlivoSecret0123456789abcdef"
	wrongBot    = "xoxb-wrong-2222-WrongBotSecretWrongBotSecret"
	wrongApp    = "xapp-1-A0001-wrong-WrongAppSecretWrongAppSecret"
	urlPassword = "hunter2"
)

// secrets are what stderr must never contain, whatever happens: every token
// the tests use, without the prefix a message may name.
var secrets = []string{
	botToken[5:], appToken[5:], authToken, wrongBot[5:], wrongApp[5:], urlPassword,
}

// fakes is a fake Slack accepting botToken and appToken, and a fake Plivo
// accepting authID and authToken, closed when the test ends.
type fakes struct {
	slack *fakeslack.Server
	plivo *fakeplivo.Server
}

func newFakes(t *testing.T) fakes {
	t.Helper()
	f := fakes{
		slack: fakeslack.New(fakeslack.Options{BotToken: botToken, AppToken: appToken}),
		plivo: fakeplivo.New(authID, authToken),
	}
	t.Cleanup(f.slack.Close)
	t.Cleanup(f.plivo.Close)
	return f
}

// env is a complete, valid configuration pointing at f.
func (f fakes) env() map[string]string {
	return map[string]string{
		"SLACK_BOT_TOKEN":        botToken,
		"SLACK_APP_TOKEN":        appToken,
		"SLACK_API_URL":          f.slack.APIURL(),
		"PLIVO_AUTH_ID":          authID,
		"PLIVO_AUTH_TOKEN":       authToken,
		"PLIVO_PHLO_ID":          "2f6e7c1a-8d7b-4f2e-9a51-0c3e5d7b9a12",
		"PLIVO_NODE_ID":          "9b1d3e5f-0a2c-4e6a-8c0e-2a4c6e8a0c2e",
		"PLIVO_PHLO_URL":         f.plivo.URL(),
		"TRANSFER_ALLOWED_USERS": "U123ABC",
	}
}

// assertNoNetwork fails t when the fakes saw any request.
func (f fakes) assertNoNetwork(t *testing.T) {
	t.Helper()
	if calls := f.slack.AllCalls(); len(calls) > 0 {
		t.Errorf("Slack got %d call(s) (first %s), want none before the configuration is valid", len(calls), calls[0].Method)
	}
	if n := f.plivo.Count(); n > 0 {
		t.Errorf("Plivo got %d request(s), want none", n)
	}
}

// merge returns the union of envs, later ones winning; a value of unset
// removes the variable.
func merge(envs ...map[string]string) map[string]string {
	out := make(map[string]string)
	for _, env := range envs {
		for k, v := range env {
			if v == unset {
				delete(out, k)
				continue
			}
			out[k] = v
		}
	}
	return out
}

// unset in a merged map removes the variable.
const unset = "\x00unset"

// lookup is a config.Lookup over env, like os.LookupEnv.
func lookup(env map[string]string) config.Lookup {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// noEnvFile returns the -env-file arguments that read no file, so that a
// stray .env in the package directory cannot change a test.
func noEnvFile(*testing.T) []string {
	return []string{"-env-file", ""}
}

// background is a bot that runInBackground runs in a goroutine.
type background struct {
	ctx    context.Context    // for the test's waits: ends at the deadline
	live   context.Context    // ctx, also ended when run returns: a wait on a bot that died ends at once
	stop   context.CancelFunc // what SIGTERM does
	stderr *syncBuffer
	done   chan int // run's exit status, sent once
}

// runInBackground runs the bot with env and no env file for at most
// deadline. When the test ends the bot is stopped and waited for, and
// what it logged is shown if the test failed.
func runInBackground(t *testing.T, deadline time.Duration, env map[string]string) *background {
	t.Helper()
	// Not t.Context(): it ends before the cleanup that waits for run.
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	runCtx, stop := context.WithCancel(ctx)
	live, ended := context.WithCancel(ctx)
	exited := make(chan struct{})
	b := &background{ctx: ctx, live: live, stop: stop, stderr: newSyncBuffer(), done: make(chan int, 1)}
	go func() {
		b.done <- run(runCtx, noEnvFile(t), lookup(env), strings.NewReader(""), io.Discard, b.stderr)
		ended()
		close(exited)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-exited:
		case <-ctx.Done():
			t.Error("run did not return after its context was cancelled")
		}
		if t.Failed() {
			t.Logf("the bot logged:\n%s", b.stderr)
		}
		cancel()
	})
	return b
}

// stopAndWait stops the bot and returns run's exit status, failing the
// test if run does not return before the deadline.
func (b *background) stopAndWait(t *testing.T) int {
	t.Helper()
	b.stop()
	select {
	case status := <-b.done:
		return status
	case <-b.ctx.Done():
		t.Fatalf("run did not return after its context was cancelled; stderr:\n%s", b.stderr)
		return 0
	}
}

// assertNoSecrets fails t when stderr contains a secret.
func assertNoSecrets(t *testing.T, stderr string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(stderr, s) {
			t.Errorf("stderr echoes the secret %q:\n%s", s, stderr)
		}
	}
}

// problemVars parses the report of a bad configuration, checking its frame,
// and returns the variables its problem lines start with, in order.
func problemVars(t *testing.T, stderr string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) < 4 {
		t.Fatalf("stderr is not a configuration report:\n%s", stderr)
	}
	if last := lines[len(lines)-1]; last != sandboxHint {
		t.Errorf("last line %q, want %q", last, sandboxHint)
	}
	lines = lines[:len(lines)-1]
	problems := lines[1 : len(lines)-1]
	if want := fmt.Sprintf("coldtransfer: the configuration has %d problem(s):", len(problems)); lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	if last, want := lines[len(lines)-1], "Every variable is described in .env.example."; last != want {
		t.Errorf("last line %q, want %q", last, want)
	}
	var vars []string
	for _, l := range problems {
		name, _, ok := strings.Cut(strings.TrimPrefix(l, "  "), ": ")
		if !strings.HasPrefix(l, "  ") || !ok || strings.ContainsAny(name, " ") {
			// The one problem about two variables names both.
			if l == "  TRANSFER_ALLOWED_USERS or TRANSFER_ALLOWED_GROUPS must be set: the bot never starts open to everyone" {
				vars = append(vars, "TRANSFER_ALLOWED_USERS|TRANSFER_ALLOWED_GROUPS")
				continue
			}
			t.Errorf("problem line %q does not name its variable", l)
			continue
		}
		vars = append(vars, name)
	}
	return vars
}

func TestRunBadConfig(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string // merged over a valid configuration
		wantVars []string
	}{
		{
			name:     "one bad variable",
			env:      map[string]string{"LOG_LEVEL": "verbose"},
			wantVars: []string{"LOG_LEVEL"},
		},
		{
			name: "many problems, secrets among them",
			env: map[string]string{
				"SLACK_BOT_TOKEN":        appToken,
				"SLACK_APP_TOKEN":        "xapp-1 " + wrongApp[5:],
				"PLIVO_AUTH_TOKEN":       "PlivoSecretPlivoSecret 0123456789abcdef",
				"PLIVO_PHLO_URL":         "https://user:" + urlPassword + "@phlo.example.com",
				"PLIVO_TIMEOUT":          "10",
				"TRANSFER_ALLOWED_USERS": "U123ABC," + wrongBot,
				"LOG_LEVEL":              botToken,
				"MAX_IN_FLIGHT":          "0",
				"PLIVO_NODE_ID":          unset,
			},
			wantVars: []string{
				"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "PLIVO_PHLO_URL", "PLIVO_AUTH_TOKEN", "PLIVO_NODE_ID",
				"PLIVO_TIMEOUT", "MAX_IN_FLIGHT", "LOG_LEVEL", "TRANSFER_ALLOWED_USERS",
			},
		},
		{
			name: "nothing set but the fakes' URLs",
			env: map[string]string{
				"SLACK_BOT_TOKEN": unset, "SLACK_APP_TOKEN": unset, "PLIVO_AUTH_ID": unset, "PLIVO_AUTH_TOKEN": unset,
				"PLIVO_PHLO_ID": unset, "PLIVO_NODE_ID": unset, "TRANSFER_ALLOWED_USERS": unset,
			},
			wantVars: []string{
				"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "PLIVO_AUTH_ID", "PLIVO_AUTH_TOKEN", "PLIVO_PHLO_ID", "PLIVO_NODE_ID",
				"TRANSFER_ALLOWED_USERS|TRANSFER_ALLOWED_GROUPS",
			},
		},
		{
			name:     "malformed health address and switch",
			env:      map[string]string{"HEALTH_ADDR": "localhost:99999", "DRY_RUN": "maybe"},
			wantVars: []string{"DRY_RUN", "HEALTH_ADDR"},
		},
		{
			name:     "malformed REDIS_URL holding a password",
			env:      map[string]string{"REDIS_URL": "redis://:" + urlPassword + "@redis:6379/" + urlPassword},
			wantVars: []string{"REDIS_URL"},
		},
		{
			name:     "malformed rate",
			env:      map[string]string{"TRANSFER_RATE_PER_USER": "10/min"},
			wantVars: []string{"TRANSFER_RATE_PER_USER"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakes(t)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			var stderr bytes.Buffer

			start := time.Now()
			status := run(ctx, noEnvFile(t), lookup(merge(f.env(), tt.env)), strings.NewReader(""), io.Discard, &stderr)
			elapsed := time.Since(start)

			if status != exitBadConfig {
				t.Errorf("run returned %d, want %d (bad configuration); stderr:\n%s", status, exitBadConfig, stderr.String())
			}
			if got := problemVars(t, stderr.String()); !slices.Equal(got, tt.wantVars) {
				t.Errorf("problems name %q, want %q; stderr:\n%s", got, tt.wantVars, stderr.String())
			}
			assertNoSecrets(t, stderr.String())
			f.assertNoNetwork(t)
			// The process exits within a second: validation is pure
			// computation, before any network call (assertNoNetwork). The
			// bound here leaves a loaded machine five times that.
			if elapsed >= 5*time.Second {
				t.Errorf("run took %v to report a bad configuration, want under 1s", elapsed)
			}
		})
	}
}

func TestRunEnvFile(t *testing.T) {
	// Not parallel: one case changes the working directory.
	f := newFakes(t)
	valid := f.env()
	fileOf := func(env map[string]string) string {
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(env)) {
			fmt.Fprintf(&b, "%s=%s\n", k, env[k])
		}
		return b.String()
	}

	tests := []struct {
		name string
		// file is the env file's content; noFile means there is none.
		file   string
		noFile bool
		// inWorkDir writes the file as .env in a new working directory and
		// passes no -env-file.
		inWorkDir bool
		env       map[string]string
		// Either the variables of a configuration report, or the whole of
		// stderr with {file} for the file's path.
		wantVars   []string
		wantStderr string
	}{
		{
			name:     "the file provides the configuration",
			file:     "# comment\n" + fileOf(valid),
			env:      map[string]string{"LOG_LEVEL": "verbose"},
			wantVars: []string{"LOG_LEVEL"},
		},
		{
			name:     "the environment wins over the file",
			file:     fileOf(merge(valid, map[string]string{"LOG_LEVEL": "info", "MAX_IN_FLIGHT": "5"})),
			env:      map[string]string{"LOG_LEVEL": "verbose"},
			wantVars: []string{"LOG_LEVEL"},
		},
		{
			name:     "a good environment value hides a bad file value",
			file:     fileOf(merge(valid, map[string]string{"LOG_LEVEL": "verbose", "MAX_IN_FLIGHT": "0"})),
			env:      map[string]string{"LOG_LEVEL": "debug"},
			wantVars: []string{"MAX_IN_FLIGHT"},
		},
		{
			name:     "an empty environment value is unset and does not hide the file",
			file:     fileOf(merge(valid, map[string]string{"MAX_IN_FLIGHT": "0"})),
			env:      map[string]string{"SLACK_BOT_TOKEN": "", "PLIVO_AUTH_TOKEN": " "},
			wantVars: []string{"MAX_IN_FLIGHT"},
		},
		{
			name:     "quoted values and export",
			file:     "export " + fileOf(merge(valid, map[string]string{"SLACK_BOT_TOKEN": `"` + botToken + `"`, "LOG_FORMAT": "'xml'"})),
			wantVars: []string{"LOG_FORMAT"},
		},
		{
			name:      "default .env in the working directory",
			file:      fileOf(valid),
			inWorkDir: true,
			env:       map[string]string{"LOG_LEVEL": "verbose"},
			wantVars:  []string{"LOG_LEVEL"},
		},
		{
			name:      "a missing default .env is fine",
			noFile:    true,
			inWorkDir: true,
			env:       merge(valid, map[string]string{"LOG_LEVEL": "verbose"}),
			wantVars:  []string{"LOG_LEVEL"},
		},
		{
			name:       "a missing file named by -env-file is not",
			noFile:     true,
			env:        valid,
			wantStderr: "coldtransfer: -env-file {file}: there is no such file (-env-file \"\" reads none)\n" + sandboxHint + "\n",
		},
		{
			name:       "a token without a name",
			file:       "SLACK_APP_TOKEN=" + appToken + "\n" + botToken + "\nPLIVO_AUTH_TOKEN=" + authToken + "\n",
			wantStderr: "coldtransfer: read {file}: line 2 is not NAME=value (or a quoted value is not closed)\n" + sandboxHint + "\n",
		},
		{
			name:       "a space instead of =",
			file:       "# Slack\n\nSLACK_BOT_TOKEN " + botToken + "\nPLIVO_AUTH_TOKEN=" + authToken + "\n",
			wantStderr: "coldtransfer: read {file}: line 3 is not NAME=value (or a quoted value is not closed)\n" + sandboxHint + "\n",
		},
		{
			name: "an unclosed quote after a multi-line value",
			file: "SLACK_BOT_TOKEN=" + botToken + "\nNOTE=\"two\nlines\"\r\nPLIVO_AUTH_TOKEN=\"" + authToken +
				"\nSLACK_APP_TOKEN=" + appToken + "\n",
			wantStderr: "coldtransfer: read {file}: line 4 is not NAME=value (or a quoted value is not closed)\n" + sandboxHint + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "bot.env")
			args := []string{"-env-file", path}
			if tt.inWorkDir {
				t.Chdir(dir)
				path, args = ".env", nil
			}
			if !tt.noFile {
				if err := os.WriteFile(filepath.Join(dir, filepath.Base(path)), []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			var stderr bytes.Buffer

			status := run(ctx, args, lookup(tt.env), strings.NewReader(""), io.Discard, &stderr)

			if status != exitBadConfig {
				t.Errorf("run returned %d, want %d; stderr:\n%s", status, exitBadConfig, stderr.String())
			}
			if tt.wantStderr != "" {
				if want := strings.ReplaceAll(tt.wantStderr, "{file}", path); stderr.String() != want {
					t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), want)
				}
			} else if got := problemVars(t, stderr.String()); !slices.Equal(got, tt.wantVars) {
				t.Errorf("problems name %q, want %q; stderr:\n%s", got, tt.wantVars, stderr.String())
			}
			assertNoSecrets(t, stderr.String())
			f.assertNoNetwork(t)
		})
	}
}

func TestRunEnvFileUnreadable(t *testing.T) {
	tests := []struct {
		name string
		args func(dir string) []string
		want string // a line of stderr
	}{
		{
			name: "a directory",
			args: func(dir string) []string { return []string{"-env-file", dir} },
			want: "coldtransfer: env file: read {dir}: is a directory",
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
			status := run(t.Context(), tt.args(dir), lookup(nil), strings.NewReader(""), io.Discard, &stderr)
			if status != exitBadConfig {
				t.Errorf("run returned %d, want %d; stderr:\n%s", status, exitBadConfig, stderr.String())
			}
			want := strings.ReplaceAll(tt.want, "{dir}", dir)
			if !slices.Contains(strings.Split(stderr.String(), "\n"), want) {
				t.Errorf("stderr has no line %q:\n%s", want, stderr.String())
			}
		})
	}
}

func TestRunHelpExitsZero(t *testing.T) {
	var stderr bytes.Buffer
	if status := run(t.Context(), []string{"-h"}, lookup(nil), strings.NewReader(""), io.Discard, &stderr); status != exitOK {
		t.Errorf("run -h returned %d, want %d", status, exitOK)
	}
	if !strings.Contains(stderr.String(), "-env-file") {
		t.Errorf("run -h printed no usage:\n%s", stderr.String())
	}
}

func TestRunRejectedToken(t *testing.T) {
	tests := []struct {
		name               string
		botToken, appToken string
		rejectedBy         string // the Web API method that answers invalid_auth
		wantStderr         string // the last line
	}{
		{
			name:       "bot token",
			botToken:   wrongBot,
			appToken:   appToken,
			rejectedBy: "auth.test",
			wantStderr: "coldtransfer: Slack rejected SLACK_BOT_TOKEN (invalid_auth): check that it is copied whole and that the app is still installed",
		},
		{
			name:       "app token",
			botToken:   botToken,
			appToken:   wrongApp,
			rejectedBy: "apps.connections.open",
			wantStderr: "coldtransfer: Slack rejected SLACK_APP_TOKEN (invalid_auth): check that it is copied whole and that the app is still installed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakes(t)
			env := merge(f.env(), map[string]string{"SLACK_BOT_TOKEN": tt.botToken, "SLACK_APP_TOKEN": tt.appToken})
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			stderr := newSyncBuffer()

			status := run(ctx, noEnvFile(t), lookup(env), strings.NewReader(""), io.Discard, stderr)

			if ctx.Err() != nil {
				t.Fatalf("run returned only when the test's deadline passed; stderr:\n%s", stderr)
			}
			if status != exitFailure {
				t.Errorf("run returned %d, want %d; stderr:\n%s", status, exitFailure, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if last := lines[len(lines)-1]; last != tt.wantStderr {
				t.Errorf("stderr ends with\n%s\nwant\n%s", last, tt.wantStderr)
			}
			if n := len(f.slack.Calls(tt.rejectedBy)); n != 1 {
				t.Errorf("%s called %d times, want 1: a rejected token is not retried", tt.rejectedBy, n)
			}
			if n := f.plivo.Count(); n > 0 {
				t.Errorf("Plivo got %d request(s), want none", n)
			}
			assertNoSecrets(t, stderr.String())
		})
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	env := merge(f.env(), map[string]string{"HEALTH_ADDR": "127.0.0.1:0", "LOG_LEVEL": "debug"})
	b := runInBackground(t, 20*time.Second, env)
	ctx, stderr := b.ctx, b.stderr

	// Connected to the fake Slack: it is serving.
	if err := f.slack.WaitConns(ctx, 1); err != nil {
		t.Fatalf("%v; stderr:\n%s", err, stderr)
	}
	// 127.0.0.1:0 lets the kernel pick a free port, which the bot logs
	// before it connects.
	addr := healthAddr(t, stderr.String())
	for _, path := range []string{"/healthz", "/readyz"} {
		if err := pollOK(ctx, "http://"+addr+path); err != nil {
			t.Fatalf("%v; stderr:\n%s", err, stderr)
		}
	}

	if status := b.stopAndWait(t); status != exitOK {
		t.Errorf("run returned %d, want %d; stderr:\n%s", status, exitOK, stderr)
	}
	starting := stderr.log("starting")
	if starting == nil || starting["team"] != "Fake" || starting["bot_user"] != "UBOT" || starting["level"] != "info" {
		t.Errorf(`"starting" line %v, want level info, team "Fake" and bot_user "UBOT"`, starting)
	}
	if stderr.log("stopped") == nil {
		t.Errorf(`no "stopped" line in stderr:\n%s`, stderr)
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("health probes still served after run returned: %s", resp.Status)
	}
	if n := f.plivo.Count(); n > 0 {
		t.Errorf("Plivo got %d request(s), want none", n)
	}
	assertNoSecrets(t, stderr.String())
}

func TestRunSlackUnreachable(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	env := merge(f.env(), map[string]string{"SLACK_API_URL": fakeplivo.RefusedURL(t) + "/api/"})
	b := runInBackground(t, 30*time.Second, env)
	ctx, stderr := b.ctx, b.stderr

	// The warning is the behaviour under test: nothing else says that the
	// bot is retrying (it never connects, and serves no metrics here).
	warn, err := stderr.waitLog(ctx, "slack unreachable, retrying auth.test")
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, stderr)
	}
	if warn["level"] != "warn" {
		t.Errorf("retry line logged at level %v, want warn", warn["level"])
	}
	select {
	case status := <-b.done:
		t.Fatalf("run returned %d while Slack was unreachable, want it to keep retrying; stderr:\n%s", status, stderr)
	default:
	}

	if status := b.stopAndWait(t); status != exitOK {
		t.Errorf("run returned %d, want %d; stderr:\n%s", status, exitOK, stderr)
	}
	if stderr.log("starting") != nil {
		t.Errorf(`"starting" logged though Slack never answered:\n%s`, stderr)
	}
	assertNoSecrets(t, stderr.String())
}

// pollOK gets url until it answers 200 or ctx ends.
func pollOK(ctx context.Context, url string) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("GET %s: never 200 (last: %s): %w", url, last, ctx.Err())
		}
	}
}

// syncBuffer is the stderr of a running run: written by run, read by the
// test at the same time, and able to wait for a log line.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed, and replaced, by every write
}

func newSyncBuffer() *syncBuffer {
	return &syncBuffer{changed: make(chan struct{})}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.changed)
	b.changed = make(chan struct{})
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// log returns the first JSON log line whose msg is msg, decoded, or nil.
func (b *syncBuffer) log(msg string) map[string]any {
	return logEntry(b.String(), msg)
}

// logEntry returns the first JSON line of log whose msg is msg, decoded,
// or nil.
func logEntry(log, msg string) map[string]any {
	for line := range strings.Lines(log) {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) == nil && entry["msg"] == msg {
			return entry
		}
	}
	return nil
}

// waitLog waits until a JSON log line with msg is written, and returns it.
func (b *syncBuffer) waitLog(ctx context.Context, msg string) (map[string]any, error) {
	for {
		b.mu.Lock()
		changed := b.changed
		b.mu.Unlock()
		if entry := b.log(msg); entry != nil {
			return entry, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, errors.Join(fmt.Errorf("no %q log line", msg), ctx.Err())
		}
	}
}
