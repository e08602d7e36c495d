package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coldtransfer/coldtransfer/bench/busyfloor"
	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
	"github.com/coldtransfer/coldtransfer/internal/redistest"
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
	// group has the requester, for a bot allowed by group rather than by
	// id (-prod-bot "group … TRANSFER_ALLOWED_USERS=UNOBODY01
	// TRANSFER_ALLOWED_GROUPS=SLOADTEST1"): its transfers then depend on
	// usergroups.users.list and on the members' cache.
	group = "SLOADTEST1"
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

// buildBot builds ./cmd/bot of the repository the load test belongs to
// into dir and returns the binary's path.
func buildBot(ctx context.Context, dir string) (string, error) {
	root, err := productRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "bot")
	build := exec.CommandContext(ctx, goTool(), "build", "-o", bin, "./cmd/bot")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/bot: %w\n%s", err, out)
	}
	return bin, nil
}

const (
	productModule = "github.com/coldtransfer/coldtransfer"
	benchModule   = productModule + "/bench"
)

// benchRoot returns the folder of the bench module (where its go.mod is).
// It is found from this file's path when the load test was built from its
// source here (go run, go test), so that it runs from any working
// directory; otherwise (a binary built with -trimpath, or copied) from the
// working directory, inside the bench module or the product's.
func benchRoot(ctx context.Context) (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if dir := filepath.Dir(filepath.Dir(file)); isModule(dir, benchModule) {
			return dir, nil
		}
	}
	out, err := exec.CommandContext(ctx, goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	dir := filepath.Dir(strings.TrimSpace(string(out)))
	switch {
	case isModule(dir, benchModule):
		return dir, nil
	case isModule(dir, productModule) && isModule(filepath.Join(dir, "bench"), benchModule):
		return filepath.Join(dir, "bench"), nil
	}
	return "", errors.New("not inside the coldtransfer repository: run from its bench folder")
}

// productRoot returns the folder of the coldtransfer module whose bot the
// load test builds: the bench module's parent, as bench/go.mod's replace
// directive says.
func productRoot(ctx context.Context) (string, error) {
	bench, err := benchRoot(ctx)
	if err != nil {
		return "", err
	}
	root := filepath.Dir(bench)
	if !isModule(root, productModule) {
		return "", fmt.Errorf("no %s module in %s, the bench module's parent", productModule, root)
	}
	return root, nil
}

// isModule reports whether dir holds the go.mod of module path.
func isModule(dir, path string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	m := moduleLine.Find(data)
	return m != nil && strings.TrimSpace(strings.TrimPrefix(string(m), "module")) == path
}

// world is the bot (one process, or several replicas sharing a Redis)
// wired to a fake Slack and a fake Plivo, both running in this process on
// loopback.
type world struct {
	slack *fakeslack.Server
	floor *busyfloor.Throttle // the fake Slack's; off until scenario f sets it
	plivo *fakeplivo.Server
	redis *redistest.Server // nil but for -redis
	bots  []*botProc
	// byGroup: the bots' environment allows the requester through a user
	// group, so group lookups are expected (refreshed in the background).
	byGroup bool
}

// botProc is one bot process.
type botProc struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed when the bot process has exited
	waitErr error         // cmd.Wait's result, once exited is closed

	// healthAddr is the bot's HEALTH_ADDR, where its /metrics are; "" when
	// it runs without (and so without metrics).
	healthAddr string

	cpuAtConnect time.Duration // the bot's CPU time (see cpuTime) once connected
}

// worldConfig says how to start a world: one bot, or with redis set,
// replicas of it sharing one redis-server.
type worldConfig struct {
	bin, dir, name string
	maxInFlight    int
	replicas       int  // bot processes; 1 unless redis
	redis          bool // start a redis-server and give the bots REDIS_URL
	metrics        bool // give each bot a HEALTH_ADDR of its own, which turns its metrics on
	pin            pinning
	// net, when set, puts the fakes behind TLS and a distant network
	// (production mode, prodnet.go) and gives the bots SSL_CERT_FILE.
	net *prodNet
	env []string // NAME=value added to the bots' environment, last (winning)
}

// startWorld starts the fakes, a redis-server if asked, and the bot
// processes one after the other, each connected before the next starts.
func startWorld(ctx context.Context, wc worldConfig) (*world, error) {
	floor := &busyfloor.Throttle{}
	slackOpts := fakeslack.Options{BotToken: botToken, AppToken: appToken, Throttle: floor}
	var startPlivo func(*httptest.Server)
	if wc.net != nil {
		slackOpts.Start = wc.net.start(wc.net.slack, wc.net.slackConns)
		startPlivo = wc.net.start(wc.net.plivo, wc.net.plivoConns)
	}
	w := &world{
		slack: fakeslack.New(slackOpts),
		floor: floor,
		plivo: fakeplivo.NewStartedBy(plivoAuthID, plivoAuthToken, startPlivo),
	}
	w.slack.SetGroupMembers(group, requester)
	w.byGroup = slices.ContainsFunc(wc.env, func(kv string) bool { return strings.HasPrefix(kv, "TRANSFER_ALLOWED_GROUPS=") })
	env := []string{
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
		"TRANSFER_RATE_PER_USER=0", // one requester sends every transfer
		"MAX_IN_FLIGHT=" + strconv.Itoa(wc.maxInFlight),
		"LOG_LEVEL=warn",
	}
	if wc.net != nil {
		env = append(env, "SSL_CERT_FILE="+wc.net.ca.certFile)
	}
	if wc.redis {
		rdir := filepath.Join(wc.dir, "redis-"+wc.name)
		if err := os.MkdirAll(rdir, 0o755); err != nil {
			w.closeFakes()
			return nil, err
		}
		rd, err := redistest.Start(ctx, rdir)
		if err != nil {
			w.closeFakes()
			return nil, err
		}
		w.redis = rd
		env = append(env, "REDIS_URL="+rd.URL())
	}
	for i := range max(wc.replicas, 1) {
		name := wc.name
		if wc.replicas > 1 {
			name = fmt.Sprintf("%s-%d", wc.name, i+1)
		}
		start := startBot
		if wc.metrics {
			start = startBotWithMetrics
		}
		bp, err := start(ctx, wc.pin.argv(wc.bin), wc.dir, name, env, wc.env, w.slack, i+1)
		if err != nil {
			w.stop()
			return nil, err
		}
		w.bots = append(w.bots, bp)
	}
	return w, nil
}

// startBot starts one bot process, the command line argv (its binary and
// maybe a launcher, see pinning.argv), with env, the runtime's knobs and
// extra (the last of duplicates wins), and waits until the fake Slack
// holds conns live connections.
func startBot(ctx context.Context, argv []string, dir, name string, env, extra []string, fs *fakeslack.Server, conns int) (*botProc, error) {
	bp := &botProc{logPath: filepath.Join(dir, "bot-"+name+".log"), exited: make(chan struct{})}
	logFile, err := os.Create(bp.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor

	// No env file (-env-file "") and an environment of our own, but for the Go
	// runtime's knobs: nothing of the developer's shell or .env leaks in.
	bp.cmd = exec.Command(argv[0], append(argv[1:], "-env-file", "")...)
	bp.cmd.Env = append(append(slices.Clone(env), runtimeEnv()...), extra...)
	bp.cmd.Stdout, bp.cmd.Stderr = logFile, logFile
	if err := bp.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start bot: %w", err)
	}
	go func() {
		bp.waitErr = bp.cmd.Wait()
		close(bp.exited)
	}()

	connected := make(chan error, 1)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	go func() { connected <- fs.WaitConns(cctx, conns) }()
	select {
	case err = <-connected:
	case <-bp.exited:
		err = fmt.Errorf("bot exited before connecting (%v)", bp.waitErr)
	}
	if err != nil {
		bp.stop()
		return nil, fmt.Errorf("%w\n%s", err, bp.logTail(20))
	}
	bp.cpuAtConnect, _ = bp.cpuTime()
	return bp, nil
}

// stop stops the bots (see botProc.stop), then closes the fakes and the
// redis-server. It reports the first bot that did not exit cleanly.
func (w *world) stop() error {
	defer w.closeFakes()
	errs := make([]error, len(w.bots))
	var wg sync.WaitGroup
	for i, bp := range w.bots {
		wg.Go(func() { errs[i] = bp.stop() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// stop sends the bot SIGTERM and waits for it to finish its in-flight work
// and exit (killing it after 30 s). It reports an exit status other than 0.
func (bp *botProc) stop() error {
	_ = bp.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-bp.exited:
	case <-time.After(30 * time.Second):
		_ = bp.cmd.Process.Kill()
		<-bp.exited
		return errors.New("bot did not exit 30 s after SIGTERM")
	}
	if bp.waitErr != nil {
		return fmt.Errorf("bot exited: %w\n%s", bp.waitErr, bp.logTail(20))
	}
	return nil
}

func (w *world) closeFakes() {
	w.slack.Close()
	w.plivo.Close()
	if w.redis != nil {
		w.redis.Stop()
	}
}

// runtimeKnobs are the Go runtime's variables that pass from the load
// test's environment to the bot, to try them: GOGC=50 go run ./loadtest.
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
	Anon int64 // RssAnon: heap, stacks, the runtime's own; not the binary's pages, which VmRSS also counts
}

func (bp *botProc) memory() (memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", bp.cmd.Process.Pid))
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
		case "RssAnon":
			m.Anon = kB
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

// memories returns each bot's memory, in order.
func (w *world) memories() ([]memory, error) { return perBot(w, (*botProc).memory) }

// perBot returns read of each bot, in order.
func perBot[T any](w *world, read func(*botProc) (T, error)) ([]T, error) {
	vs := make([]T, len(w.bots))
	for i, bp := range w.bots {
		v, err := read(bp)
		if err != nil {
			return nil, err
		}
		vs[i] = v
	}
	return vs, nil
}

// logLines counts the lines the bots wrote so far, and names their logs.
// At LOG_LEVEL=warn a clean run writes none.
func (w *world) logLines() (int, string) {
	n := 0
	var paths []string
	for _, bp := range w.bots {
		data, _ := os.ReadFile(bp.logPath)
		n += bytes.Count(data, []byte("\n"))
		paths = append(paths, bp.logPath)
	}
	return n, strings.Join(paths, ", ")
}

// logTail returns the last n lines of the bot's log, for error messages.
func (bp *botProc) logTail(n int) string {
	data, _ := os.ReadFile(bp.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "bot log (" + bp.logPath + "), last lines:\n  " + strings.Join(lines, "\n  ")
}
