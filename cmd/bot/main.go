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
	"strings"
	"syscall"
	"time"

	"github.com/joho/godotenv"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/config"
	"github.com/coldtransfer/coldtransfer/internal/health"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
	"github.com/coldtransfer/coldtransfer/internal/slackbot"
)

// Exit statuses (SPEC §2).
const (
	exitOK        = 0
	exitFailure   = 1 // e.g. a token Slack rejects
	exitBadConfig = 2 // missing or malformed configuration
)

func main() {
	oneProcessor()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.LookupEnv, os.Stderr))
}

// run is the whole program, with its environment passed in so that tests
// can run it. It returns the exit status.
func run(ctx context.Context, args []string, lookupEnv config.Lookup, stderr io.Writer) int {
	flags := flag.NewFlagSet("bot", flag.ContinueOnError)
	flags.SetOutput(stderr)
	envFile := flags.String("env-file", ".env", "`file` of variables to load when present; the environment wins over it")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitBadConfig
	}

	lookup, err := withEnvFile(lookupEnv, *envFile)
	if err != nil {
		fmt.Fprintf(stderr, "coldtransfer: %v\n", err)
		return exitBadConfig
	}
	cfg, err := config.Load(lookup)
	if err != nil {
		reportConfig(stderr, err)
		return exitBadConfig
	}

	log := newLogger(cfg, stderr)
	defer func() { _ = log.Sync() }()
	if err := serve(ctx, cfg, log); err != nil {
		fmt.Fprintf(stderr, "coldtransfer: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// serve builds the bot from cfg and runs it until ctx ends.
func serve(ctx context.Context, cfg config.Config, log *zap.Logger) error {
	transferer, err := plivo.New(cfg.Plivo)
	if err != nil {
		return fmt.Errorf("plivo client: %w", err)
	}
	api := slackbot.NewAPI(slackbot.APIConfig{
		BotToken: cfg.SlackBotToken,
		AppToken: cfg.SlackAppToken,
		URL:      cfg.SlackAPIURL,
	})
	bot := slackbot.New(slackbot.Config{
		DryRun:       cfg.DryRun,
		NumberFormat: cfg.Plivo.NumberFormat,
		MaxInFlight:  cfg.MaxInFlight,
	}, api, authz.New(cfg.Policy, api), transferer, log)

	if cfg.HealthAddr != "" {
		probes, err := health.Start(cfg.HealthAddr, bot.Ready)
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
	if err := bot.Run(ctx); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// withEnvFile returns a lookup that reads the environment first and then
// the file at path, if there is one (SPEC §2: the environment wins). A
// variable set to the empty string in the environment is unset, as
// everywhere else, so it does not hide the file's value.
func withEnvFile(lookupEnv config.Lookup, path string) (config.Lookup, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
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
