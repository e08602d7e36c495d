// Command bot is the coldtransfer Slack bot: supervisors type /transfer in
// Slack, and the bot cold-transfers the live call on Plivo's PHLO
// Multi-Party Call node. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/joho/godotenv"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/config"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/health"
	"github.com/coldtransfer/coldtransfer/internal/metrics"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
	"github.com/coldtransfer/coldtransfer/internal/slackapi"
	"github.com/coldtransfer/coldtransfer/internal/slackbot"
)

// Exit statuses (docs/configuration.md).
const (
	exitOK        = 0
	exitFailure   = 1 // e.g. a token Slack rejects
	exitBadConfig = 2 // missing or malformed configuration
)

func main() {
	oneProcessor()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program, with its environment passed in so that tests
// can run it. It returns the exit status.
func run(ctx context.Context, args []string, lookupEnv config.Lookup, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("bot", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() { usage(flags) }
	envFile := flags.String("env-file", defaultEnvFile, "`file` of variables to load, the environment winning over it: "+
		"the default is skipped when absent, a file named here must exist, and \"\" reads none")
	sandboxMode := flags.Bool("sandbox", false, "try the bot with no account: fake Slack and Plivo on this machine, /transfer typed on standard input")
	showVersion := flags.Bool("version", false, "print the version and exit")
	healthcheck := flags.Bool("healthcheck", false, "check the health of the bot running here (GET /healthz on HEALTH_ADDR) and exit 0 or 1")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitBadConfig
	}
	if *showVersion {
		fmt.Fprintf(stdout, "coldtransfer %s %s\n", buildVersion(), runtime.Version())
		return exitOK
	}
	if *sandboxMode {
		return runSandbox(ctx, *envFile, stdin, stdout, stderr)
	}

	named := false // -env-file given: its file must exist
	flags.Visit(func(f *flag.Flag) { named = named || f.Name == "env-file" })
	lookup, err := withEnvFile(lookupEnv, *envFile, named)
	if err != nil {
		fmt.Fprintf(stderr, "coldtransfer: %v\n", err)
		fmt.Fprintln(stderr, sandboxHint)
		return exitBadConfig
	}
	if *healthcheck {
		return checkHealth(ctx, lookup, stderr)
	}
	cfg, err := config.Load(lookup)
	dir, dirErr := loadDirectory(cfg.DirectoryFile)
	if err = errors.Join(err, dirErr); err != nil {
		reportConfig(stderr, err)
		fmt.Fprintln(stderr, sandboxHint)
		return exitBadConfig
	}

	log := newLogger(cfg, stderr)
	defer func() { _ = log.Sync() }()
	if err := serve(ctx, cfg, dir, log); err != nil {
		fmt.Fprintf(stderr, "coldtransfer: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// serve builds the bot from cfg and the floor directory dir (nil for none)
// and runs it until ctx ends.
func serve(ctx context.Context, cfg config.Config, dir *directory.Directory, log *zap.Logger) error {
	for _, w := range cfg.Warnings() {
		log.Warn("insecure setting", zap.String("variable", w.Variable), zap.String("detail", w.Text))
	}
	// Metrics are counted only where they can be served: nil counts nothing.
	var m *metrics.Metrics
	plivoCfg := cfg.Plivo
	if cfg.HealthAddr != "" {
		m = metrics.New(buildVersion())
	}
	// The last request to Plivo tells whether transfers are expected, for
	// the connections kept warm (the hour after start counts too).
	var lastPlivo atomic.Int64
	lastPlivo.Store(time.Now().UnixNano())
	plivoCfg.Observe = func(action, result string, d time.Duration) {
		lastPlivo.Store(time.Now().UnixNano())
		m.PlivoRequest(action, result, d) // a nil m counts nothing
	}
	transferer, err := plivo.New(plivoCfg)
	if err != nil {
		return fmt.Errorf("plivo client: %w", err)
	}
	api := slackapi.New(slackapi.Config{
		BotToken: cfg.SlackBotToken,
		AppToken: cfg.SlackAppToken,
		URL:      cfg.SlackAPIURL,
		Metrics:  m,
	})
	var src *directory.Source
	if dir != nil {
		src = directory.NewSource(cfg.DirectoryFile, dir, log, directory.OnReload(m.DirectoryReload))
	}
	defer watchDirectory(ctx, src, log)()
	st, closeStore := openStore(cfg, log, m.StoreFallback)
	defer closeStore()
	az := authz.New(cfg.Policy, api)
	// Group members are refreshed ahead of their expiry, so that no
	// transfer waits on usergroups.users.list once a group has been seen.
	refresh, stopRefresh := context.WithCancel(context.Background())
	defer stopRefresh()
	go az.Run(refresh, groupRefreshEvery)
	bot := slackbot.New(slackbot.Config{
		DryRun:       cfg.DryRun,
		NumberFormat: cfg.Plivo.NumberFormat,
		MaxInFlight:  cfg.MaxInFlight,
		Directory:    currentDirectory(src),
		Metrics:      m,
		Store:        st,
		Rate:         cfg.RatePerUser,
		PlivoTimeout: cfg.Plivo.Timeout,

		AllowedChannels: cfg.Policy.Channels,
		AuditChannel:    cfg.AuditChannel,
	}, api, az, transferer, log)

	if cfg.HealthAddr != "" {
		probes, err := health.Start(health.Config{Addr: cfg.HealthAddr}, bot.Ready, m.Handler())
		if err != nil {
			return err
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = probes.Shutdown(ctx)
		}()
		log.Info("health probes listening", zap.String("addr", probes.Addr()))
	}

	// Where it connects, before it may wait there: the first thing to check
	// when nothing answers. The URLs carry no credentials (config refuses them).
	log.Info("connecting", zap.String("slack_api_url", cfg.SlackAPIURL), zap.String("plivo_phlo_url", cfg.Plivo.BaseURL))
	id, err := bot.CheckAuth(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while Slack was unreachable
		}
		return err
	}
	log.Info("starting",
		zap.String("team", id.Team), zap.String("bot_user", id.UserID),
		zap.Bool("dry_run", cfg.DryRun), zap.String("number_format", string(cfg.Plivo.NumberFormat)),
		zap.Int("allowed_users", len(cfg.Policy.Users)), zap.Int("allowed_groups", len(cfg.Policy.Groups)),
		zap.Int("allowed_channels", len(cfg.Policy.Channels)), zap.Int("max_in_flight", cfg.MaxInFlight))
	// Connections to Slack and Plivo are kept open between transfers, in
	// the hour after the last one, so that the next pays no handshake;
	// a dry run never calls Plivo, and keeps nothing warm.
	warmCtx, stopWarm := context.WithCancel(ctx)
	var warm sync.WaitGroup
	if !cfg.DryRun {
		expected := func() bool { return time.Since(time.Unix(0, lastPlivo.Load())) < keepWarmFor }
		warm.Go(func() { api.KeepWarm(warmCtx, keepWarmEvery, 2, expected, log.Named("warm")) })
		warm.Go(func() { transferer.KeepWarm(warmCtx, keepWarmEvery, expected, log.Named("warm")) })
	}
	err = bot.Run(ctx)
	stopWarm()
	warm.Wait()
	if err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// Connections are kept warm every keepWarmEvery (under the 60 s idle
// time-out common to load balancers), two to Slack (a transfer's reply
// and mark go side by side) and one to Plivo, for keepWarmFor after the
// last transfer.
const (
	keepWarmEvery = 45 * time.Second
	keepWarmFor   = time.Hour
)

// loadDirectory loads the floor directory file at path ("" for none). Its
// problems are configuration problems, one line each naming the variable.
func loadDirectory(path string) (*directory.Directory, error) {
	if path == "" {
		return nil, nil
	}
	dir, err := directory.Load(path)
	if derr, ok := errors.AsType[*directory.Error](err); ok {
		errs := make([]error, len(derr.Problems))
		for i, p := range derr.Problems {
			errs[i] = fmt.Errorf("DIRECTORY_FILE: %s: %s", path, p)
		}
		return nil, errors.Join(errs...)
	}
	return dir, err
}

// currentDirectory is the bot's view of src: the directory in force, or
// none without a directory file.
func currentDirectory(src *directory.Source) func() *directory.Directory {
	if src == nil {
		return nil
	}
	return src.Current
}

// watchDirectory reloads src on SIGHUP and when its file changes, until the
// returned stop is called. Without a directory, SIGHUP is only logged
// rather than ending the process, its default.
func watchDirectory(ctx context.Context, src *directory.Source, log *zap.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if src != nil {
			src.Watch(ctx, hup, directory.DefaultPollInterval)
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Warn("SIGHUP: there is no DIRECTORY_FILE to reload")
			}
		}
	}()
	return func() {
		cancel()
		<-done
		signal.Stop(hup)
	}
}

// withEnvFile returns a lookup that reads the environment first and then
// the file at path (the environment wins). A variable set to the empty
// string in the environment is unset, as everywhere else, so it does not
// hide the file's value. A missing file is no file, unless it was named:
// a file someone named and that is not there is a mistake to report, not
// a configuration to run without. An empty path reads none.
func withEnvFile(lookupEnv config.Lookup, path string, named bool) (config.Lookup, error) {
	if path == "" {
		return lookupEnv, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if named {
			return nil, fmt.Errorf("-env-file %s: there is no such file (-env-file \"\" reads none)", path)
		}
		return lookupEnv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("env file: %w", err)
	}
	file, err := godotenv.UnmarshalBytes(data)
	if err != nil {
		// Not err itself: godotenv quotes the rest of the file in its
		// errors, secrets included.
		return nil, fmt.Errorf("read %s: line %d is not NAME=value (or a quoted value is not closed)", path, badLine(data))
	}
	return func(name string) (string, bool) {
		if v, ok := lookupEnv(name); ok && strings.TrimSpace(v) != "" {
			return v, true
		}
		v, ok := file[name]
		return v, ok
	}, nil
}

// badLine returns the number of the line where godotenv stops parsing data:
// the line after the longest run of leading lines that parses, since every
// longer run fails at the same statement.
func badLine(data []byte) int {
	lines := strings.SplitAfter(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	good := 0
	for n := 1; n <= len(lines); n++ {
		if _, err := godotenv.Unmarshal(strings.Join(lines[:n], "")); err == nil {
			good = n
		}
	}
	return good + 1
}

// defaultEnvFile is the file of variables read when it exists.
const defaultEnvFile = ".env"

// about is the sentence -help opens with.
const about = "coldtransfer is a Slack bot with which contact-centre supervisors cold-transfer live Plivo calls " +
	"by typing /transfer, configured by environment variables (see .env.example)."

// sandboxHint ends -help and every configuration error (exit status 2):
// the way to see the bot work before there is anything to configure.
// groupRefreshEvery is how often the allowed groups' members are looked
// at: each is asked of Slack again once it is half its 60 s TTL old.
const groupRefreshEvery = 5 * time.Second

const sandboxHint = "No accounts yet? coldtransfer -sandbox (or go run ./cmd/bot -sandbox) runs it against a fake Slack and Plivo."

// usage is -help: what the program is, its flags, and the sandbox.
func usage(flags *flag.FlagSet) {
	w := flags.Output()
	fmt.Fprintln(w, about)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: coldtransfer [flags]")
	flags.PrintDefaults()
	fmt.Fprintln(w)
	fmt.Fprintln(w, sandboxHint)
}

// reportConfig prints every configuration problem, one line each.
func reportConfig(w io.Writer, err error) {
	lines := strings.Split(err.Error(), "\n")
	fmt.Fprintf(w, "coldtransfer: the configuration has %d problem(s):\n", len(lines))
	for _, l := range lines {
		fmt.Fprintf(w, "  %s\n", l)
	}
	fmt.Fprintln(w, "Every variable is described in .env.example.")
}

func newLogger(cfg config.Config, w io.Writer) *zap.Logger {
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	enc := zapcore.NewJSONEncoder(encCfg)
	if cfg.LogFormat == "console" {
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	}
	// No sampling: every audit line must be written, however busy the floor.
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), cfg.LogLevel))
}
