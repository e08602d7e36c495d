package directory

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// DefaultPollInterval is how often Watch looks at the file for changes.
const DefaultPollInterval = 2 * time.Second

// Source is the directory in force: read from a file, and read again on
// request (SIGHUP) or when the file changes on disk. A good file replaces
// the directory at once and whole; a bad one is logged with its problems
// and the directory in force stays. Current is safe for concurrent use and
// never waits.
type Source struct {
	path     string
	log      *zap.Logger
	onReload func(ok bool)

	cur   atomic.Pointer[Directory]
	reads atomic.Uint64 // reads of the file started, numbering them

	// mu makes one read's outcome apply at a time. It is never held while
	// the file is opened or read: a file that hangs (a stuck network mount)
	// must hold up neither the next look nor shutdown.
	mu      sync.Mutex
	used    uint64   // the number of the latest read whose outcome applied
	lastSum [32]byte // content last examined, good or bad
	lastErr string   // why the file could not be read at the last look, "" if it could
}

// Option configures a Source.
type Option func(*Source)

// OnReload makes the Source call f after each reload it attempts (on
// request or because the file changed, not the first load), with whether
// the new file was taken. f must not block.
func OnReload(f func(ok bool)) Option {
	return func(s *Source) { s.onReload = f }
}

// NewSource returns a Source serving d, which was loaded from path, and
// logs it.
func NewSource(path string, d *Directory, log *zap.Logger, opts ...Option) *Source {
	s := &Source{path: path, log: log, onReload: func(bool) {}, lastSum: d.sum}
	for _, opt := range opts {
		opt(s)
	}
	s.cur.Store(d)
	s.logLoaded(d, "start")
	return s
}

// Current returns the directory in force. A request should call it once
// and keep the snapshot it got to the end.
func (s *Source) Current() *Directory { return s.cur.Load() }

// read reads the file, without a lock, and numbers the read.
func (s *Source) read() (seq uint64, data []byte, err error) {
	seq = s.reads.Add(1)
	data, err = readFile(s.path)
	return seq, data, err
}

// current reports whether the read numbered seq is the latest to apply,
// and if so marks it applied. s.mu must be held.
func (s *Source) current(seq uint64) bool {
	if seq < s.used {
		return false // a read that started later has applied: this one is no newer
	}
	s.used = seq
	return true
}

func (s *Source) reload(trigger string) error {
	seq, data, err := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		derr := &Error{Problems: []string{err.Error()}}
		if s.current(seq) {
			s.lastErr = err.Error()
			s.refused(derr, trigger)
		}
		return derr
	}
	if !s.current(seq) {
		_, err := Parse(data)
		return err
	}
	s.lastErr = ""
	return s.apply(data, trigger)
}

// apply parses data, the file's content, and puts it in force when good.
// s.mu must be held.
func (s *Source) apply(data []byte, trigger string) error {
	s.lastSum = sha256.Sum256(data)
	d, err := Parse(data)
	if err != nil {
		s.refused(err, trigger)
		return err
	}
	s.cur.Store(d)
	s.logLoaded(d, trigger)
	s.onReload(true)
	return nil
}

func (s *Source) refused(err error, trigger string) {
	derr, ok := errors.AsType[*Error](err)
	if !ok {
		derr = &Error{Problems: []string{err.Error()}}
	}
	s.log.Error("directory file refused; the previous directory stays in force",
		zap.String("file", s.path), zap.String("trigger", trigger),
		zap.Strings("problems", derr.Problems), zap.Int("problem_count", derr.count()))
	s.onReload(false)
}

func (s *Source) logLoaded(d *Directory, trigger string) {
	msg := "directory reloaded"
	if trigger == "start" {
		msg = "directory loaded"
	}
	s.log.Info(msg, zap.String("file", s.path), zap.String("trigger", trigger),
		zap.Int("destinations", len(d.Destinations())), zap.Int("agents", d.NumAgents()),
		zap.Bool("typed_allowed", d.Typed().Allow), zap.String("version", d.Version()))
}

// Watch reloads the directory on every signal from hup and whenever the
// file's content changes, looking every interval (DefaultPollInterval when
// zero), until ctx ends. The look follows symbolic links and compares the
// content, so a file written in place, a new file renamed over it and a
// Kubernetes ConfigMap's symlink swap all count; a file touched but
// unchanged does not. Watch returns when ctx ends even if a look is stuck
// reading the file; that look ends on its own.
func (s *Source) Watch(ctx context.Context, hup <-chan os.Signal, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			awaitOrDone(ctx, func() { _ = s.reload("SIGHUP") })
		case <-tick.C:
			awaitOrDone(ctx, s.poll)
		}
	}
}

// awaitOrDone runs look and waits for it to end, or for ctx to.
func awaitOrDone(ctx context.Context, look func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		look()
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// poll reloads the file when its content differs from what was last seen.
// A file that cannot be read is logged once, until it can be again.
func (s *Source) poll() {
	seq, data, err := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.current(seq) {
		return
	}
	if err != nil {
		if msg := err.Error(); msg != s.lastErr {
			s.lastErr = msg
			s.log.Error("directory file cannot be read; the directory in force stays",
				zap.String("file", s.path), zap.String("error", msg))
		}
		return
	}
	if s.lastErr != "" {
		s.lastErr = ""
		s.log.Info("directory file can be read again", zap.String("file", s.path))
	}
	if sha256.Sum256(data) == s.lastSum {
		return
	}
	_ = s.apply(data, "file changed")
}
