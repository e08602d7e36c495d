# syntax=docker/dockerfile:1
#
# coldtransfer: one static binary on a distroless base, run as non-root.
#
#   docker build --build-arg VERSION=v1.4.0 -t coldtransfer:v1.4.0 .
#   docker run --env-file .env coldtransfer:v1.4.0
#
# VERSION is what `coldtransfer -version` and coldtransfer_build_info show
# (default "dev"): .git stays out of the build context, so the go command
# cannot stamp one itself.
#
# deploy/compose.yaml runs two replicas and Redis (README.md, "Running more
# than one replica"); deploy/helm/coldtransfer is the Helm chart
# (docs/kubernetes.md).

# --- build: a static binary (no cgo, so no libc to match at run time) ---
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/coldtransfer ./cmd/bot

# --- run: no shell, no package manager, CA certificates for Slack, Plivo
# and rediss://, user nonroot (65532) ---
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="coldtransfer" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/coldtransfer /coldtransfer
USER nonroot:nonroot
WORKDIR /home/nonroot
# /healthz and /readyz for the health check below and an orchestrator's
# probes; an .env or the environment may set another port.
ENV HEALTH_ADDR=0.0.0.0:8080
EXPOSE 8080
# The image has no curl: the binary checks itself (GET /healthz on
# HEALTH_ADDR, asked on loopback; exit 0 on 200 within 2 s, else 1).
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/coldtransfer", "-healthcheck"]
# SIGTERM lets in-flight transfers finish for up to 25 s: give the
# container at least 30 s to stop (docker stop -t 30, stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/coldtransfer"]
