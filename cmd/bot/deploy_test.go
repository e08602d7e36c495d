package main

import (
	"net"
	"os"
	"slices"
	"time"

	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/coldtransfer/coldtransfer/internal/store"
)

// The Dockerfile and deploy/compose.yaml cannot be run here (no Docker
// daemon); this keeps them in line with the binary they package.
func TestDeployFiles(t *testing.T) {
	read := func(path string) string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	dockerfile := read("../../Dockerfile")
	compose := read("../../deploy/compose.yaml")
	ignore := read("../../.dockerignore")

	for _, want := range []string{
		"CGO_ENABLED=0",
		"go build -trimpath -ldflags \"-s -w -X main.version=${VERSION}\" -o /out/coldtransfer ./cmd/bot",
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"USER nonroot:nonroot",
		`CMD ["/coldtransfer", "-healthcheck"]`,
		`ENTRYPOINT ["/coldtransfer"]`,
		"ENV HEALTH_ADDR=0.0.0.0:8080",
	} {
		if !strings.Contains(dockerfile, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	if strings.Count(dockerfile, "\nFROM ") != 2 {
		t.Error("Dockerfile is not two stages (build, then run)")
	}
	// What compose does, read as compose reads it.
	var c struct {
		Services map[string]struct {
			Deploy          struct{ Replicas int }  `yaml:"deploy"`
			EnvFile         []struct{ Path string } `yaml:"env_file"`
			Environment     map[string]string       `yaml:"environment"`
			Healthcheck     struct{ Test []string } `yaml:"healthcheck"`
			StopGracePeriod string                  `yaml:"stop_grace_period"`
			ReadOnly        bool                    `yaml:"read_only"`
			CapDrop         []string                `yaml:"cap_drop"`
			Volumes         []struct {
				Source   string `yaml:"source"`
				Target   string `yaml:"target"`
				ReadOnly bool   `yaml:"read_only"`
			} `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(compose), &c); err != nil {
		t.Fatalf("deploy/compose.yaml: %v", err)
	}
	bot, ok := c.Services["bot"]
	if !ok {
		t.Fatal("deploy/compose.yaml has no bot service")
	}
	if bot.Deploy.Replicas < 2 {
		t.Errorf("compose runs %d replicas, want at least 2", bot.Deploy.Replicas)
	}
	if len(bot.EnvFile) != 1 || bot.EnvFile[0].Path != "../.env" {
		t.Errorf("compose's env_file %v, want the repository's .env", bot.EnvFile)
	}
	if strings.Join(bot.Healthcheck.Test, " ") != "CMD /coldtransfer -healthcheck" {
		t.Errorf("compose's health check %v, want the binary's -healthcheck", bot.Healthcheck.Test)
	}
	if _, port, err := net.SplitHostPort(bot.Environment["HEALTH_ADDR"]); err != nil || port == "" {
		t.Errorf("compose's HEALTH_ADDR %q: the health check needs a port to ask", bot.Environment["HEALTH_ADDR"])
	}
	// SIGTERM gives in-flight transfers 25 s: the container must get more.
	if grace, err := time.ParseDuration(bot.StopGracePeriod); err != nil || grace < 30*time.Second {
		t.Errorf("compose's stop_grace_period %q, want at least 30s", bot.StopGracePeriod)
	}
	if !bot.ReadOnly || !slices.Contains(bot.CapDrop, "ALL") {
		t.Errorf("compose's bot: read_only %v, cap_drop %v; want a read-only root and every capability dropped", bot.ReadOnly, bot.CapDrop)
	}
	mounted := slices.ContainsFunc(bot.Volumes, func(v struct {
		Source   string `yaml:"source"`
		Target   string `yaml:"target"`
		ReadOnly bool   `yaml:"read_only"`
	}) bool {
		return v.Target == bot.Environment["DIRECTORY_FILE"] && v.ReadOnly
	})
	if !mounted {
		t.Errorf("compose's DIRECTORY_FILE %q is not a read-only mount (%v)", bot.Environment["DIRECTORY_FILE"], bot.Volumes)
	}
	opt, err := store.ParseRedisURL(bot.Environment["REDIS_URL"])
	if err != nil {
		t.Fatalf("compose's REDIS_URL: %v", err)
	}
	if host, _, _ := net.SplitHostPort(opt.Addr); c.Services[host].Healthcheck.Test == nil {
		t.Errorf("compose's REDIS_URL points at %s, which is not a service of the file", opt.Addr)
	}
	if !regexp.MustCompile(`(?m)^\.env$`).MatchString(ignore) {
		t.Error(".dockerignore does not keep .env (secrets) out of the build context")
	}
}
