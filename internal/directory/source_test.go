package directory

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

const waitTimeout = 10 * time.Second

func fileWith(to string) string {
	return "destinations:\n  - name: billing\n    label: Billing queue\n    to: '" + to + "'\n" +
		"agents:\n  - {slack: U012AB3CD, endpoint: '+14155550111'}\n"
}

// watched is a Source on a file in a temporary directory, with every reload
// reported on a channel.
type watched struct {
	t       *testing.T
	path    string
	src     *Source
	logs    *observer.ObservedLogs
	reloads chan bool
}

func newWatched(t *testing.T, path, content string) *watched {
	t.Helper()
	if content != "" {
		writeFile(t, path, content)
	}
	d, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	w := &watched{t: t, path: path, logs: logs, reloads: make(chan bool, 16)}
	w.src = NewSource(path, d, zap.New(core), OnReload(func(ok bool) { w.reloads <- ok }))
	return w
}

// watch runs Watch until the test ends.
func (w *watched) watch(hup <-chan os.Signal, interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		w.src.Watch(ctx, hup, interval)
		close(done)
	}()
	w.t.Cleanup(func() {
		cancel()
		<-done
	})
}

func (w *watched) nextReload() bool {
	w.t.Helper()
	select {
	case ok := <-w.reloads:
		return ok
	case <-time.After(waitTimeout):
		w.t.Fatal("no reload")
		return false
	}
}

func (w *watched) billing() string {
	d, _ := w.src.Current().Destination("billing")
	return d.To.String()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// replace writes content to a new file and renames it over path, as editors
// and configuration tools do.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestStartIsLogged(t *testing.T) {
	w := newWatched(t, filepath.Join(t.TempDir(), "d.yaml"), fileWith("+14155550100"))
	lines := w.logs.FilterMessage("directory loaded").All()
	if len(lines) != 1 {
		t.Fatalf("want one 'directory loaded' line, got %d", len(lines))
	}
	f := lines[0].ContextMap()
	if f["destinations"] != int64(1) || f["agents"] != int64(1) || f["trigger"] != "start" || f["file"] != w.path {
		t.Errorf("start line %v", f)
	}
}

func TestReloadOnRenameOver(t *testing.T) {
	w := newWatched(t, filepath.Join(t.TempDir(), "d.yaml"), fileWith("+14155550100"))
	w.watch(nil, 10*time.Millisecond)
	replace(t, w.path, fileWith("+14155550199"))
	if !w.nextReload() {
		t.Fatal("the new file was refused")
	}
	if got := w.billing(); got != "+14155550199" {
		t.Errorf("billing goes to %s after the rename, want +14155550199", got)
	}
	f := w.logs.FilterMessage("directory reloaded").All()[0].ContextMap()
	if f["trigger"] != "file changed" || f["destinations"] != int64(1) || f["agents"] != int64(1) {
		t.Errorf("reload line %v", f)
	}
}

// A Kubernetes ConfigMap volume: the file is a symlink through ..data, and
// an update points ..data at a new directory.
func TestReloadOnConfigMapSymlinkSwap(t *testing.T) {
	root := t.TempDir()
	mkdir := func(name, content string) {
		if err := os.Mkdir(filepath.Join(root, name), 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, name, "directory.yaml"), content)
	}
	mkdir("..2026_01_01", fileWith("+14155550100"))
	if err := os.Symlink("..2026_01_01", filepath.Join(root, "..data")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "directory.yaml")
	if err := os.Symlink("..data/directory.yaml", path); err != nil {
		t.Fatal(err)
	}
	w := newWatched(t, path, "")
	w.watch(nil, 10*time.Millisecond)

	mkdir("..2026_01_02", fileWith("+14155550177"))
	if err := os.Symlink("..2026_01_02", filepath.Join(root, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "..data_tmp"), filepath.Join(root, "..data")); err != nil {
		t.Fatal(err)
	}
	if !w.nextReload() {
		t.Fatal("the new file was refused")
	}
	if got := w.billing(); got != "+14155550177" {
		t.Errorf("billing goes to %s after the swap, want +14155550177", got)
	}
}

func TestReloadOnSIGHUP(t *testing.T) {
	w := newWatched(t, filepath.Join(t.TempDir(), "d.yaml"), fileWith("+14155550100"))
	hup := make(chan os.Signal, 1)
	w.watch(hup, time.Hour) // only the signal can make it look
	writeFile(t, w.path, fileWith("+14155550155"))
	hup <- os.Interrupt // any value: the caller delivers SIGHUP here
	if !w.nextReload() {
		t.Fatal("refused")
	}
	if got := w.billing(); got != "+14155550155" {
		t.Errorf("billing goes to %s, want +14155550155", got)
	}
	if f := w.logs.FilterMessage("directory reloaded").All()[0].ContextMap(); f["trigger"] != "SIGHUP" {
		t.Errorf("reload line %v, want trigger SIGHUP", f)
	}
	// SIGHUP reads the file even when it did not change.
	hup <- os.Interrupt
	if !w.nextReload() {
		t.Fatal("refused")
	}
}

// A bad file is logged with its problems at error level; the directory in
// force stays, and a request holding the old snapshot keeps it.
func TestBadFileKeepsTheOld(t *testing.T) {
	w := newWatched(t, filepath.Join(t.TempDir(), "d.yaml"), fileWith("+14155550100"))
	inFlight := w.src.Current()
	w.watch(nil, 10*time.Millisecond)

	replace(t, w.path, fileWith("+1415")+"typed: {allow: maybe}\n")
	if w.nextReload() {
		t.Fatal("a bad file was taken")
	}
	if w.src.Current() != inFlight || w.billing() != "+14155550100" {
		t.Error("the directory in force changed")
	}
	lines := w.logs.FilterMessage("directory file refused; the previous directory stays in force").All()
	if len(lines) != 1 || lines[0].Level != zapcore.ErrorLevel {
		t.Fatalf("want one error line about the refused file, got %d", len(lines))
	}
	problems, _ := lines[0].ContextMap()["problems"].([]any)
	if len(problems) != 2 || !strings.Contains(problems[0].(string), `destinations[0] "billing": to: "+1415"`) ||
		!strings.Contains(problems[1].(string), "typed: allow: must be true or false") {
		t.Errorf("logged problems %q", problems)
	}

	// The same bad content is not refused again at every look; a fix is
	// taken, and the request that started before keeps its snapshot.
	replace(t, w.path, fileWith("+14155550122"))
	if !w.nextReload() {
		t.Fatal("the fixed file was refused")
	}
	if w.billing() != "+14155550122" {
		t.Errorf("billing goes to %s, want the fixed +14155550122", w.billing())
	}
	if d, _ := inFlight.Destination("billing"); d.To.String() != "+14155550100" {
		t.Errorf("the snapshot of a request in flight changed to %s", d.To)
	}
	if n := len(w.logs.FilterMessage("directory file refused; the previous directory stays in force").All()); n != 1 {
		t.Errorf("the bad file was refused %d times, want once", n)
	}
}

func TestReloadReturnsTheProblems(t *testing.T) {
	w := newWatched(t, filepath.Join(t.TempDir(), "d.yaml"), fileWith("+14155550100"))
	writeFile(t, w.path, "destinations:\n  - name: list\n    to: '+14155550100'\n")
	err := w.src.reload("request")
	derr, ok := errors.AsType[*Error](err)
	if !ok || len(derr.Problems) != 1 || !strings.Contains(derr.Problems[0], `destinations[0] "list": name: "list" is a word /transfer uses`) {
		t.Fatalf("Reload = %v", err)
	}
	if ok := w.nextReload(); ok {
		t.Error("OnReload(true) for a refused file")
	}
	writeFile(t, w.path, fileWith("+14155550133"))
	if err := w.src.reload("request"); err != nil || w.billing() != "+14155550133" {
		t.Errorf("Reload = %v, billing %s", err, w.billing())
	}
}

// A file that disappears is logged once; the directory stays; touching a
// file without changing it reloads nothing.
func TestPollMissingAndUnchangedFiles(t *testing.T) {
	w := newWatched(t, filepath.Join(t.TempDir(), "d.yaml"), fileWith("+14155550100"))
	before := w.src.Current()
	now := time.Now().Add(time.Minute)
	if err := os.Chtimes(w.path, now, now); err != nil {
		t.Fatal(err)
	}
	w.src.poll()
	if len(w.reloads) != 0 || w.src.Current() != before {
		t.Error("an unchanged file was reloaded")
	}

	if err := os.Remove(w.path); err != nil {
		t.Fatal(err)
	}
	w.src.poll()
	w.src.poll()
	if lines := w.logs.FilterMessage("directory file cannot be read; the directory in force stays").All(); len(lines) != 1 ||
		!strings.Contains(lines[0].ContextMap()["error"].(string), "no such file or directory") {
		t.Errorf("want one line about the missing file, got %d", len(lines))
	}
	if w.src.Current() != before || len(w.reloads) != 0 {
		t.Error("a missing file changed the directory")
	}
	writeFile(t, w.path, fileWith("+14155550100"))
	w.src.poll()
	if len(w.logs.FilterMessage("directory file can be read again").All()) != 1 || len(w.reloads) != 0 {
		t.Error("the file coming back unchanged should be noted, not reloaded")
	}
}

// Watch, and with it shutdown, does not wait for a look stuck reading the
// file (a stuck network mount: a named pipe no longer blocks).
func TestWatchDoesNotWaitForAStuckLook(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stuck := make(chan struct{})
	defer close(stuck)
	started := make(chan struct{})
	go func() {
		<-started
		cancel()
	}()
	within(t, "awaitOrDone of a stuck look", func() {
		awaitOrDone(ctx, func() {
			close(started)
			<-stuck
		})
	})
}
