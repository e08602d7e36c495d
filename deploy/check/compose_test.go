package check

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads deploy/compose.yaml as docker compose would, checked
// against the Compose specification, with env as the environment; the
// replicas' .env is not read (CI has none).
func loadCompose(t *testing.T, env ...string) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"../compose.yaml"},
		cli.WithEnv(env),
		cli.WithoutEnvironmentResolution,
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("deploy/compose.yaml: %v", err)
	}
	return p
}

// There is no Docker daemon to run deploy/compose.yaml here: this holds it
// to what it promises. The image carries the VERSION it was built with, and
// every replica reads the floor directory from a read-only file mount.
func TestCompose(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{nil, "dev"},
		{[]string{"VERSION=v9.8.7"}, "v9.8.7"},
	} {
		bot, err := loadCompose(t, tc.env...).GetService("bot")
		if err != nil {
			t.Fatal(err)
		}
		if bot.Build == nil || bot.Build.Args["VERSION"] == nil || *bot.Build.Args["VERSION"] != tc.want {
			t.Errorf("with %v, build args %v: want VERSION=%s", tc.env, bot.Build, tc.want)
		}
	}

	bot, err := loadCompose(t).GetService("bot")
	if err != nil {
		t.Fatal(err)
	}
	file := bot.Environment["DIRECTORY_FILE"]
	if file == nil || *file == "" {
		t.Fatal("the bot service sets no DIRECTORY_FILE")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var mounted bool
	for _, v := range bot.Volumes {
		if v.Target != *file {
			continue
		}
		mounted = true
		if v.Type != types.VolumeTypeBind || !v.ReadOnly {
			t.Errorf("DIRECTORY_FILE's mount %+v: want a read-only bind mount", v)
		}
		if v.Bind == nil || v.Bind.CreateHostPath {
			t.Errorf("DIRECTORY_FILE's mount %+v would create an empty directory where the file is missing", v)
		}
		if v.Source != filepath.Join(root, "directory.yaml") {
			t.Errorf("DIRECTORY_FILE's mount comes from %s, want directory.yaml at the repository's root", v.Source)
		}
	}
	if !mounted {
		t.Errorf("DIRECTORY_FILE %s is not mounted (volumes %+v)", *file, bot.Volumes)
	}
	if bot.StopGracePeriod == nil || time.Duration(*bot.StopGracePeriod) < 30*time.Second {
		t.Errorf("stop_grace_period %v: want at least 30s (in-flight transfers drain for 25 s)", bot.StopGracePeriod)
	}
	if !bot.ReadOnly || len(bot.CapDrop) != 1 || bot.CapDrop[0] != "ALL" {
		t.Errorf("read_only %v, cap_drop %v: want a read-only root and every capability dropped", bot.ReadOnly, bot.CapDrop)
	}
}

// The Dockerfile stamps the binary with its VERSION build argument: the
// go command cannot, as .git is not in the build context.
func TestDockerfileVersion(t *testing.T) {
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := string(data)
	build, _, ok := strings.Cut(dockerfile[strings.Index(dockerfile, "\nFROM "):], "\nFROM gcr.io/")
	if !ok {
		t.Fatal("Dockerfile: no run stage FROM gcr.io/…")
	}
	if !regexp.MustCompile(`(?m)^ARG VERSION=dev$`).MatchString(build) {
		t.Error("the build stage lacks ARG VERSION=dev")
	}
	if !strings.Contains(build, `-ldflags "-s -w -X main.version=${VERSION}"`) {
		t.Error(`the build stage's go build lacks -ldflags "-s -w -X main.version=${VERSION}"`)
	}
	ignore, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\.git$`).Match(ignore) {
		t.Error(".dockerignore does not keep .git out (then the version must come from VERSION anyway)")
	}
}
