package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
)

// The benchmark's world: tokens and ids of the right shape, known to the
// fakes, and one supervisor allowed by id, so that no group lookup happens.
const (
	botToken       = "xoxb-0000000001-0000000000002-loadtestbottoken"
	appToken       = "xapp-1-A0000000001-0000000000003-loadtestapptoken"
	plivoAuthID    = "MALOADTEST0000000001"
	plivoAuthToken = "loadtestAuthToken0123456789abcdef"
	phloID         = "11111111-2222-4333-8444-555555555555"
	nodeID         = "66666666-7777-4888-9999-aaaaaaaaaaaa"
	requester      = "ULOADTEST1"
	channel        = "CLOADTEST1"
	agent          = "+14152223333" // trigger_source of every transfer
)

// goTool returns the go command of the toolchain that built this program,
// so that the bot is built with the same one; "go" on PATH otherwise.
func goTool() string {
	// go run sets GOROOT for the program it runs; runtime.GOROOT is the
	// build's own otherwise.
	for _, root := range []string{os.Getenv("GOROOT"), runtime.GOROOT()} {
		if root == "" {
			continue
		}
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

// buildBot builds ./cmd/bot of the module the working directory is in into
// dir and returns the binary's path.
func buildBot(ctx context.Context, dir string) (string, error) {
	gobin := goTool()
	out, err := exec.CommandContext(ctx, gobin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the coldtransfer module: run from the repository")
	}
	bin := filepath.Join(dir, "bot")
	build := exec.CommandContext(ctx, gobin, "build", "-o", bin, "./cmd/bot")
	build.Dir = filepath.Dir(gomod)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/bot: %w\n%s", err, out)
	}
	return bin, nil
}

// world is one bot process wired to a fake Slack and a fake Plivo, both
// running in this process on loopback.
type world struct {
	slack   *fakeslack.Server
	plivo   *fakeplivo.Server
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed when the bot process has exited
	waitErr error         // cmd.Wait's result, once exited is closed

	cpuAtConnect time.Duration // the bot's CPU time (utime+stime) once connected
}

// startWorld starts the fakes and the bot binary, and waits until the bot
// holds a Socket Mode connection. name labels the bot's log file in dir.
func startWorld(ctx context.Context, bin, dir, name string, maxInFlight int) (*world, error) {
	w := &world{
		slack:   fakeslack.New(fakeslack.Options{BotToken: botToken, AppToken: appToken}),
		plivo:   fakeplivo.New(plivoAuthID, plivoAuthToken),
		logPath: filepath.Join(dir, "bot-"+name+".log"),
		exited:  make(chan struct{}),
	}
	logFile, err := os.Create(w.logPath)
	if err != nil {
		w.closeFakes()
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor

	// A nonexistent .env and an environment of our own, but for the Go
	// runtime's knobs: nothing of the developer's shell or .env leaks in.
	w.cmd = exec.Command(bin, "-env-file", filepath.Join(dir, "no.env"))
	w.cmd.Env = []string{
		"SLACK_BOT_TOKEN=" + botToken,
		"SLACK_APP_TOKEN=" + appToken,
		"SLACK_API_URL=" + w.slack.APIURL(),
		"PLIVO_AUTH_ID=" + plivoAuthID,
		"PLIVO_AUTH_TOKEN=" + plivoAuthToken,
		"PLIVO_PHLO_ID=" + phloID,
		"PLIVO_NODE_ID=" + nodeID,
		"PLIVO_PHLO_URL=" + w.plivo.URL(),
		"PLIVO_TIMEOUT=30s", // longer than any delay the scenarios give the fake
		"TRANSFER_ALLOWED_USERS=" + requester,
		"MAX_IN_FLIGHT=" + strconv.Itoa(maxInFlight),
		"LOG_LEVEL=warn",
	}
	w.cmd.Env = append(w.cmd.Env, runtimeEnv()...)
	w.cmd.Stdout, w.cmd.Stderr = logFile, logFile
	if err := w.cmd.Start(); err != nil {
		w.closeFakes()
		return nil, fmt.Errorf("start bot: %w", err)
	}
	go func() {
		w.waitErr = w.cmd.Wait()
		close(w.exited)
	}()

	connected := make(chan error, 1)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	go func() { connected <- w.slack.WaitConnected(cctx) }()
	select {
	case err = <-connected:
	case <-w.exited:
		err = fmt.Errorf("bot exited before connecting (%v)", w.waitErr)
	}
	if err != nil {
		w.stop()
		return nil, fmt.Errorf("%w\n%s", err, w.logTail(20))
	}
	w.cpuAtConnect, _ = w.cpuTime()
	return w, nil
}

// stop sends the bot SIGTERM and waits for it to finish its in-flight work
// and exit (killing it after 30 s), then closes the fakes. It reports an
// exit status other than 0.
func (w *world) stop() error {
	defer w.closeFakes()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.exited
		return errors.New("bot did not exit 30 s after SIGTERM")
	}
	if w.waitErr != nil {
		return fmt.Errorf("bot exited: %w\n%s", w.waitErr, w.logTail(20))
	}
	return nil
}

func (w *world) closeFakes() {
	w.slack.Close()
	w.plivo.Close()
}

// runtimeKnobs are the Go runtime's variables that pass from the load
// test's environment to the bot, to try them: GOGC=50 go run ./cmd/loadtest.
var runtimeKnobs = []string{"GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GODEBUG"}

// runtimeEnv returns those of runtimeKnobs that are set, as NAME=value.
func runtimeEnv() []string {
	var env []string
	for _, name := range runtimeKnobs {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return env
}

// memory is the bot's resident memory as /proc/<pid>/status says it, in kB.
type memory struct {
	RSS  int64 // VmRSS: now
	Peak int64 // VmHWM: the most since the process started
}

func (w *world) memory() (memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	if err != nil {
		return memory{}, fmt.Errorf("read the bot's memory: %w", err)
	}
	var m memory
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kB, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			m.RSS = kB
		case "VmHWM":
			m.Peak = kB
		}
	}
	if m.RSS == 0 || m.Peak == 0 {
		return memory{}, errors.New("no VmRSS/VmHWM in /proc/<pid>/status (not Linux?)")
	}
	return m, nil
}

// logLines counts the lines the bot wrote so far. At LOG_LEVEL=warn a
// clean run writes none.
func (w *world) logLines() int {
	data, _ := os.ReadFile(w.logPath)
	return bytes.Count(data, []byte("\n"))
}

// logTail returns the last n lines of the bot's log, for error messages.
func (w *world) logTail(n int) string {
	data, _ := os.ReadFile(w.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "bot log (" + w.logPath + "), last lines:\n  " + strings.Join(lines, "\n  ")
}
