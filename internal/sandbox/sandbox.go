// Package sandbox is the bot's try-it-now mode (-sandbox): a fake Slack and
// a fake Plivo on loopback, a sample directory, and a session that reads
// `/transfer …` lines as a supervisor types them in #floor and prints what
// Slack shows and what Plivo received.
//
// The bot itself is not part of the package: the caller starts the real
// bot with the configuration of Env, logging to Log, and then runs Session.
package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
)

// World is the sandbox's fake Slack and fake Plivo, and the files the bot
// reads and writes (the directory, the log) in a temporary directory.
type World struct {
	slack   *fakeslack.Server
	plivo   *fakeplivo.Server
	dir     string
	dirFile string
	log     *botLog
	sigpipe chan os.Signal // notified while the World is open
}

// Start starts the fakes on loopback and writes the sample directory in a
// new temporary directory. Close the World when done.
func Start() (*World, error) {
	dir, err := os.MkdirTemp("", "coldtransfer-sandbox-")
	if err != nil {
		return nil, fmt.Errorf("sandbox: temporary directory: %w", err)
	}
	w := &World{dir: dir, dirFile: filepath.Join(dir, "directory.yaml")}
	if err := os.WriteFile(w.dirFile, []byte(directoryYAML()), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("sandbox: write the sample directory: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "bot.log"))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("sandbox: create the bot's log: %w", err)
	}
	w.log = newBotLog(f)
	w.slack = fakeslack.New(fakeslack.Options{BotToken: botToken, AppToken: appToken})
	w.slack.SetGroupMembers(leadsGroup, "U0LEAD")
	w.plivo = fakeplivo.New(plivoAuthID, plivoAuthToken)
	// Unless SIGPIPE is notified, a write to a closed stdout or stderr
	// (coldtransfer -sandbox | head -1) kills the process at once, and the
	// temporary directory stays behind. Notified, the write fails with
	// EPIPE: the session ends, and the caller's Close runs.
	w.sigpipe = make(chan os.Signal, 1)
	signal.Notify(w.sigpipe, syscall.SIGPIPE)
	return w, nil
}

// Close stops the fakes and removes the temporary directory, log included.
func (w *World) Close() {
	signal.Stop(w.sigpipe)
	w.slack.Close()
	w.plivo.Close()
	_ = w.log.f.Close()
	_ = os.RemoveAll(w.dir)
}

// Env is the bot's configuration in the sandbox, as environment variables
// (docs/configuration.md): the fakes' URLs and credentials, who may
// transfer, and the sample directory as DIRECTORY_FILE. Nothing comes from
// the real environment or a .env file.
func (w *World) Env() map[string]string {
	return map[string]string{
		"SLACK_BOT_TOKEN":         botToken,
		"SLACK_APP_TOKEN":         appToken,
		"SLACK_API_URL":           w.slack.APIURL(),
		"PLIVO_AUTH_ID":           plivoAuthID,
		"PLIVO_AUTH_TOKEN":        plivoAuthToken,
		"PLIVO_PHLO_ID":           phloID,
		"PLIVO_NODE_ID":           nodeID,
		"PLIVO_PHLO_URL":          w.plivo.URL(),
		"PLIVO_TIMEOUT":           plivoTimeout,
		"TRANSFER_ALLOWED_USERS":  people[0].id,
		"TRANSFER_ALLOWED_GROUPS": leadsGroup,
		"DIRECTORY_FILE":          w.dirFile,
		"LOG_FORMAT":              "json",
		"LOG_LEVEL":               "info",
	}
}

// Lookup reads Env like os.LookupEnv.
func (w *World) Lookup(name string) (string, bool) {
	v, ok := w.Env()[name]
	return v, ok
}

// Log is where the bot must write its JSON log lines (one a Write, as zap
// does): a file in the temporary directory, from which the session also
// reads the audit lines.
func (w *World) Log() io.Writer { return w.log }

// LogPath is the file the bot's log goes to.
func (w *World) LogPath() string { return w.log.f.Name() }

// botLog is the bot's log: written to a file, and its `transfer` audit
// lines kept for the session.
type botLog struct {
	f *os.File

	mu      sync.Mutex
	partial []byte        // the start of a line not yet ended
	audits  [][]byte      // every audit line, as written
	homes   []homeLine    // every "home tab" line: what came of opening a Home tab
	changed chan struct{} // closed, and replaced, when an audit or home tab line comes
}

// homeLine is what the bot did when a user opened their Home tab:
// published it, left it unchanged, or put it off (later).
type homeLine struct{ user, result string }

func newBotLog(f *os.File) *botLog { return &botLog{f: f, changed: make(chan struct{})} }

// Write writes p to the file and picks the audit lines out of it.
func (l *botLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := bytes.Clone(l.partial[:i])
		l.partial = l.partial[i+1:]
		var entry struct {
			Msg    string `json:"msg"`
			User   string `json:"user"`
			Result string `json:"result"`
		}
		if json.Unmarshal(line, &entry) != nil {
			continue
		}
		switch entry.Msg {
		case "transfer":
			l.audits = append(l.audits, line)
		case "home tab":
			l.homes = append(l.homes, homeLine{user: entry.User, result: entry.Result})
		default:
			continue
		}
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return l.f.Write(p)
}

// Sync makes the log a zapcore.WriteSyncer.
func (l *botLog) Sync() error { return l.f.Sync() }

// count returns how many audit lines were written so far.
func (l *botLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.audits)
}

// audit returns the n-th audit line (0-based), or nil.
func (l *botLog) audit(n int) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < 0 || n >= len(l.audits) {
		return nil
	}
	return l.audits[n]
}

// waitAudit waits until more than n audit lines were written and returns
// the (n+1)-th.
func (l *botLog) waitAudit(ctx context.Context, n int) ([]byte, error) {
	for {
		l.mu.Lock()
		changed := l.changed
		if len(l.audits) > n {
			line := l.audits[n]
			l.mu.Unlock()
			return line, nil
		}
		l.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// homeCount returns how many "home tab" lines were written so far.
func (l *botLog) homeCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.homes)
}

// waitHome waits for a "home tab" line about user, after the first n
// lines, that says the tab is settled (published or unchanged), and
// returns its result; later says whether the bot first put it off.
func (l *botLog) waitHome(ctx context.Context, user string, n int) (result string, later bool, err error) {
	for {
		l.mu.Lock()
		changed := l.changed
		later = false
		for _, h := range l.homes[min(n, len(l.homes)):] {
			switch {
			case h.user != user:
			case h.result == "later":
				later = true
			default:
				l.mu.Unlock()
				return h.result, later, nil
			}
		}
		l.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return "", later, ctx.Err()
		}
	}
}

// maxLine bounds a line of input: a longer one is skipped, and said so,
// rather than held whole in memory.
const maxLine = 1 << 20

// inputLine is one line of input, or why there is none.
type inputLine struct {
	n       int    // its number, from 1
	text    string // without the line ending
	tooLong int    // how many bytes it had, when over maxLine (text is then empty)
	err     error  // a read error other than the end of input
}

// scanLines sends each line of r on the returned channel, which is closed
// at the end of input or after a read error, sent as the last line. It
// stops early when done is closed.
func scanLines(r io.Reader, done <-chan struct{}) <-chan inputLine {
	lines := make(chan inputLine)
	go func() {
		defer close(lines)
		br := bufio.NewReader(r)
		for n := 1; ; n++ {
			text, size, tooLong, err := readLine(br)
			if size == 0 && errors.Is(err, io.EOF) {
				return
			}
			l := inputLine{n: n, text: text}
			switch {
			case err != nil && !errors.Is(err, io.EOF):
				l = inputLine{n: n, err: err}
			case tooLong:
				l.tooLong = size
			}
			select {
			case lines <- l:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return lines
}

// readLine reads one line of br, however long, and returns it without its
// ending; a line over maxLine bytes is not kept: text is then "" and
// tooLong is set. size is how many bytes it read, ending included: 0 at
// the end of input.
func readLine(br *bufio.Reader) (text string, size int, tooLong bool, err error) {
	const ending = len("\r\n")
	var buf []byte
	for {
		chunk, rerr := br.ReadSlice('\n')
		size += len(chunk)
		if size <= maxLine+ending {
			buf = append(buf, chunk...)
		}
		if !errors.Is(rerr, bufio.ErrBufferFull) {
			err = rerr
			break
		}
	}
	text = strings.TrimSuffix(strings.TrimSuffix(string(buf), "\n"), "\r")
	if size > maxLine+ending || len(text) > maxLine {
		return "", size, true, err
	}
	return text, size, false, err
}

// LogTail returns the last n lines of the bot's log, for a report when the
// bot failed.
func (w *World) LogTail(n int) string {
	data, err := os.ReadFile(w.LogPath())
	if err != nil {
		return ""
	}
	ls := strings.SplitAfter(string(data), "\n")
	if ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	return strings.Join(ls[max(0, len(ls)-n):], "")
}
