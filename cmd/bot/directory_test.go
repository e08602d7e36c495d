package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const goodDirectory = `destinations:
  - name: billing
    label: Billing queue
    to: "+14155550100"
agents:
  - slack: U123ABC
    endpoint: "sip:alice@floor.example.com"
`

// A bad directory file is a configuration problem like any other: exit
// status 2, one line per problem naming DIRECTORY_FILE, reported together
// with the environment's problems, before any network call.
func TestRunBadDirectoryFile(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	path := filepath.Join(t.TempDir(), "directory.yaml")
	bad := "destinations:\n  - name: billing\n    to: '+1415'\n  - name: billing\n    to: '+14155550101'\n    colour: red\n"
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		env      map[string]string
		wantVars []string
		want     []string
	}{
		{"bad file", map[string]string{"DIRECTORY_FILE": path}, []string{"DIRECTORY_FILE", "DIRECTORY_FILE", "DIRECTORY_FILE"},
			[]string{`DIRECTORY_FILE: ` + path + `: destinations[0] "billing": to: "+1415" has 4 digits`,
				`destinations[1] "billing": unknown key "colour"`, `destinations[1] "billing": name: "billing" is already the name of destinations[0]`}},
		{"bad file and a bad variable", map[string]string{"DIRECTORY_FILE": path, "LOG_LEVEL": "loud"},
			[]string{"LOG_LEVEL", "DIRECTORY_FILE", "DIRECTORY_FILE", "DIRECTORY_FILE"}, nil},
		{"missing file", map[string]string{"DIRECTORY_FILE": path + ".absent"}, []string{"DIRECTORY_FILE"},
			[]string{"DIRECTORY_FILE: " + path + ".absent: cannot read the file: no such file or directory"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			status := run(t.Context(), noEnvFile(t), lookup(merge(f.env(), tc.env)), strings.NewReader(""), io.Discard, &stderr)
			if status != exitBadConfig {
				t.Errorf("run returned %d, want %d; stderr:\n%s", status, exitBadConfig, stderr.String())
			}
			if got := problemVars(t, stderr.String()); !slices.Equal(got, tc.wantVars) {
				t.Errorf("problems name %q, want %q; stderr:\n%s", got, tc.wantVars, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
	f.assertNoNetwork(t)
}

// SIGHUP, as the operator sends it to the process, reloads the directory:
// the function main calls registers for it. Not parallel: the signal goes
// to the whole test process, and only a running bot catches it.
func TestRunReloadsDirectoryOnSIGHUP(t *testing.T) {
	f := newFakes(t)
	path := filepath.Join(t.TempDir(), "directory.yaml")
	if err := os.WriteFile(path, []byte(goodDirectory), 0o600); err != nil {
		t.Fatal(err)
	}
	// HEALTH_ADDR for the reload's counter.
	env := merge(f.env(), map[string]string{"DIRECTORY_FILE": path, "HEALTH_ADDR": "127.0.0.1:0"})
	b := runInBackground(t, 20*time.Second, env)
	ctx, stderr := b.ctx, b.stderr

	// Connected to the fake Slack: it is serving, and has logged the
	// directory it loaded before it dialled Slack.
	if err := f.slack.WaitConns(ctx, 1); err != nil {
		t.Fatalf("%v; stderr:\n%s", err, stderr)
	}
	// The start-up line is the behaviour here: what the operator is told
	// was loaded.
	loaded := stderr.log("directory loaded")
	if loaded["destinations"] != float64(1) || loaded["agents"] != float64(1) || loaded["file"] != path {
		t.Errorf("start-up line %v, want 1 destination and 1 agent from %s", loaded, path)
	}
	addr := healthAddr(t, stderr.String())
	// The file is unchanged, so only the signal can make the bot read it.
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// The reload is counted once its line is logged.
	waitMetric(t, ctx, []string{addr}, 1, "coldtransfer_directory_reloads_total", `result="ok"`)
	reloaded := stderr.log("directory reloaded")
	if reloaded["trigger"] != "SIGHUP" || reloaded["destinations"] != float64(1) || reloaded["level"] != "info" {
		t.Errorf("reload line %v, want trigger SIGHUP at info", reloaded)
	}

	if status := b.stopAndWait(t); status != exitOK {
		t.Errorf("run returned %d, want %d; stderr:\n%s", status, exitOK, stderr)
	}
	assertNoSecrets(t, stderr.String())
}
