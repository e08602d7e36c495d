package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

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
	for _, want := range []string{"replicas: 2", "path: ../.env", `test: ["CMD", "/coldtransfer", "-healthcheck"]`, "HEALTH_ADDR: 0.0.0.0:8080", "stop_grace_period: 30s"} {
		if !strings.Contains(compose, want) {
			t.Errorf("deploy/compose.yaml lacks %s", want)
		}
	}
	m := regexp.MustCompile(`(?m)^\s+REDIS_URL: (\S+)$`).FindStringSubmatch(compose)
	if m == nil {
		t.Fatal("deploy/compose.yaml sets no REDIS_URL")
	}
	if opt, err := store.ParseRedisURL(m[1]); err != nil || opt.Addr != "redis:6379" {
		t.Errorf("compose's REDIS_URL %s: %v; want the redis service", m[1], err)
	}
	if !regexp.MustCompile(`(?m)^\.env$`).MatchString(ignore) {
		t.Error(".dockerignore does not keep .env (secrets) out of the build context")
	}
}
