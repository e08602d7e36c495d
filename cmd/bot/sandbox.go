package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/coldtransfer/coldtransfer/internal/config"
	"github.com/coldtransfer/coldtransfer/internal/sandbox"
)

// runSandbox is the -sandbox mode: the real bot, built by serve
// exactly as in production, against a fake Slack and a fake Plivo on
// loopback, with a session that reads /transfer lines on stdin and prints
// what Slack and Plivo saw on stdout. It needs no configuration: envFile is
// not read, and the session says so when it exists. The bot's log goes to a
// file of the sandbox, not the terminal.
func runSandbox(ctx context.Context, envFile string, stdin io.Reader, stdout, stderr io.Writer) int {
	world, err := sandbox.Start()
	if err != nil {
		fmt.Fprintf(stderr, "coldtransfer: %v\n", err)
		return exitFailure
	}
	defer world.Close()
	cfg, err := config.Load(world.Lookup)
	dir, dirErr := loadDirectory(cfg.DirectoryFile)
	if err = errors.Join(err, dirErr); err != nil { // the sandbox's own configuration: a bug, not the user's
		reportConfig(stderr, err)
		return exitFailure
	}
	log := newLogger(cfg, world.Log())
	defer func() { _ = log.Sync() }()

	botCtx, stopBot := context.WithCancel(ctx)
	defer stopBot()
	sessionCtx, endSession := context.WithCancel(ctx)
	defer endSession()
	served := make(chan error, 1)
	go func() {
		served <- serve(botCtx, cfg, dir, log)
		endSession() // no bot, no session
	}()

	var notes []string
	if _, err := os.Stat(envFile); err == nil {
		notes = append(notes, fmt.Sprintf("Ignoring %s: the sandbox needs no configuration and reads none.", envFile))
	}
	sessionErr := world.Session(sessionCtx, stdin, stdout, sandbox.Options{Notes: notes})

	var serveErr error
	stoppedByItself := false
	select {
	case serveErr = <-served:
		stoppedByItself = ctx.Err() == nil
	default:
		stopBot() // end of input: in-flight work is done, as the session waits for each command
		serveErr = <-served
	}
	switch {
	case stoppedByItself:
		fmt.Fprintf(stderr, "coldtransfer: sandbox: the bot stopped (%v); the end of its log:\n%s", serveErr, world.LogTail(20))
		return exitFailure
	case sessionErr != nil:
		fmt.Fprintf(stderr, "coldtransfer: sandbox: %v; the end of the bot's log:\n%s", sessionErr, world.LogTail(20))
		return exitFailure
	case serveErr != nil:
		fmt.Fprintf(stderr, "coldtransfer: sandbox: %v\n", serveErr)
		return exitFailure
	}
	return exitOK
}
