package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The bot's log tells the session what came of opening a Home tab: a tab
// put off (at most one publish in 10 s) is waited for until it is settled.
func TestBotLogKeepsHomeLines(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "bot.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := newBotLog(f)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	type result struct {
		result string
		later  bool
	}
	got := make(chan result, 1)
	go func() {
		r, later, err := l.waitHome(ctx, "U0SUPER", 0)
		if err != nil {
			t.Error(err)
		}
		got <- result{r, later}
	}()
	for _, w := range []string{
		`{"msg":"home tab","user":"U0LEAD","result":"published"}` + "\n",
		`{"msg":"home tab","user":"U0SUPER","result":"later"}` + "\n",
		`{"msg":"home tab","user":"U0SUPER","result":"published"}` + "\n",
	} {
		if _, err := l.Write([]byte(w)); err != nil {
			t.Fatal(err)
		}
	}
	if r := <-got; r != (result{"published", true}) {
		t.Errorf("waitHome = %+v, want published after being put off", r)
	}
	if n := l.homeCount(); n != 3 {
		t.Errorf("homeCount %d, want 3", n)
	}
	if r, later, err := l.waitHome(ctx, "U0LEAD", 0); r != "published" || later || err != nil {
		t.Errorf("waitHome(U0LEAD) = %q, %v, %v", r, later, err)
	}
}
