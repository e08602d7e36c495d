// Package metrics is the bot's Prometheus instrumentation: a
// registry of its own holding the bot's metrics and the Go and process
// collectors, typed methods that count, and the /metrics handler.
//
// A nil *Metrics counts nothing and serves nothing, so that packages and
// tests that do not care pass nil. No label ever carries a user id, a
// channel id, a phone number or a SIP address: the methods take only the
// small vocabularies named on them.
package metrics

import (
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/coldtransfer/coldtransfer/internal/outcome"
)

const namespace = "coldtransfer"

// The label values known in advance. Their series are created at zero, so
// that a query or an alert sees a counter move from 0 on its first event
// rather than appear at 1 (which increase() and rate() read as no change).
var (
	// redeliveryKinds are what a redelivery was recognised by.
	redeliveryKinds = []string{"envelope", "trigger", "view"}
)

// Buckets, in seconds. Acks take well under a millisecond and Slack gives
// up at 3 s; Plivo answers in tens or hundreds of milliseconds and the bot
// waits up to PLIVO_TIMEOUT (at most 1 m); a transfer is both, plus Slack.
var (
	ackBuckets      = []float64{.000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 3}
	plivoBuckets    = []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	transferBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
)

// Metrics holds the bot's metrics. Its methods are safe for concurrent use,
// and do nothing on a nil *Metrics.
type Metrics struct {
	reg *prometheus.Registry

	requests         *prometheus.CounterVec
	plivo            *prometheus.HistogramVec
	slackAPI         *prometheus.CounterVec
	ack              prometheus.Histogram
	transfer         prometheus.Histogram
	inFlight         prometheus.Gauge
	socket           prometheus.Gauge
	redeliveries     *prometheus.CounterVec
	storeFallbacks   prometheus.Counter
	directoryReloads *prometheus.CounterVec
	panics           prometheus.Counter
	auditChannel     *prometheus.CounterVec
}

// New returns the bot's metrics on a registry of their own, with
// coldtransfer_build_info set to 1 for version and the running Go version,
// and the Go and process collectors.
func New(version string) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "requests_total",
			Help: "Requests ended, one per audit line, by path (command, modal, button), action (cold_transfer, warm_transfer, abort_transfer) and outcome.",
		}, []string{"path", "action", "outcome"}),
		plivo: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "plivo_request_duration_seconds",
			Help:    "Plivo requests, retries included, by action and result: the HTTP status, timeout, unreachable, connection_lost or canceled.",
			Buckets: plivoBuckets,
		}, []string{"action", "result"}),
		slackAPI: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "slack_api_requests_total",
			Help: "Slack Web API requests, each attempt counted, by method and result: ok, Slack's error code, http_<status>, net_timeout, net_error or canceled.",
		}, []string{"method", "result"}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "ack_duration_seconds",
			Help:    "Socket Mode envelope taken by the bot to its ack handed to the socket's writer.",
			Buckets: ackBuckets,
		}),
		transfer: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "transfer_duration_seconds",
			Help:    "Socket Mode envelope taken by the bot to the transfer's thread reply posted.",
			Buckets: transferBuckets,
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "in_flight",
			Help: "Requests being worked on.",
		}),
		socket: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "socket_connected",
			Help: "1 while the Socket Mode connection is up, 0 otherwise.",
		}),
		redeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "redeliveries_total",
			Help: "Redelivered requests ignored, by what recognised them: envelope, trigger or view id.",
		}, []string{"kind"}),
		storeFallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "store_fallbacks_total",
			Help: "Falls back from Redis to the in-memory store.",
		}),
		directoryReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "directory_reloads_total",
			Help: "Reloads of the floor directory, by result: ok or refused.",
		}, []string{"result"}),
	}
	m.panics = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "panics_total",
		Help: "Panics recovered while handling one request; that request failed, the others went on.",
	})
	m.auditChannel = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "audit_channel_posts_total",
		Help: "Audit lines for AUDIT_CHANNEL, by result: ok, failed (Slack refused or could not be reached) or dropped (too many waiting).",
	}, []string{"result"})
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help: "Always 1; the labels say which build is running.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)

	m.reg.MustRegister(
		m.requests, m.plivo, m.slackAPI, m.ack, m.transfer, m.inFlight, m.socket,
		m.redeliveries, m.storeFallbacks, m.directoryReloads, m.panics, m.auditChannel, buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	for _, p := range outcome.Paths {
		for _, a := range outcome.Actions {
			for _, o := range outcome.All {
				m.requests.WithLabelValues(string(p), string(a), string(o))
			}
		}
	}
	for _, k := range redeliveryKinds {
		m.redeliveries.WithLabelValues(k)
	}
	for _, r := range []string{"ok", "failed", "dropped"} {
		m.auditChannel.WithLabelValues(r)
	}
	m.directoryReloads.WithLabelValues("ok")
	m.directoryReloads.WithLabelValues("refused")
	return m
}

// Gatherer is the registry, for tests and for serving it another way.
func (m *Metrics) Gatherer() prometheus.Gatherer {
	if m == nil {
		return prometheus.Gatherers{}
	}
	return m.reg
}

// Handler serves the registry in Prometheus's text format; nil for a nil
// *Metrics.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return nil
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Request counts a request that ended with its audit line.
func (m *Metrics) Request(path outcome.Path, a outcome.Action, o outcome.Outcome) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(string(path), string(a), string(o)).Inc()
}

// PlivoRequest records one request to Plivo for action (cold_transfer, …),
// retries included, that took d.
// result is the HTTP status ("201", "500"), or "timeout", "unreachable",
// "connection_lost" or "canceled" when there was none.
func (m *Metrics) PlivoRequest(action, result string, d time.Duration) {
	if m == nil {
		return
	}
	m.plivo.WithLabelValues(action, result).Observe(d.Seconds())
}

// SlackCall counts one attempt of a Slack Web API request: method is the
// Web API method ("chat.postMessage") or "response_url"; result is "ok",
// Slack's error code, "http_<status>", or "net_timeout", "net_error" or
// "canceled" when no answer came.
func (m *Metrics) SlackCall(method, result string) {
	if m == nil {
		return
	}
	m.slackAPI.WithLabelValues(method, result).Inc()
}

// Panic counts a panic recovered while handling one request.
func (m *Metrics) Panic() {
	if m == nil {
		return
	}
	m.panics.Inc()
}

// AuditChannelPost counts one audit line for AUDIT_CHANNEL: "ok",
// "failed" or "dropped".
func (m *Metrics) AuditChannelPost(result string) {
	if m == nil {
		return
	}
	m.auditChannel.WithLabelValues(result).Inc()
}

// Ack records how long an envelope waited for its ack.
func (m *Metrics) Ack(d time.Duration) {
	if m == nil {
		return
	}
	m.ack.Observe(d.Seconds())
}

// TransferDone records how long a transfer took from its envelope to its
// thread reply.
func (m *Metrics) TransferDone(d time.Duration) {
	if m == nil {
		return
	}
	m.transfer.Observe(d.Seconds())
}

// InFlightInc counts a request that started being worked on.
func (m *Metrics) InFlightInc() {
	if m == nil {
		return
	}
	m.inFlight.Inc()
}

// InFlightDec counts a request that is done.
func (m *Metrics) InFlightDec() {
	if m == nil {
		return
	}
	m.inFlight.Dec()
}

// SocketConnected sets whether the Socket Mode connection is up.
func (m *Metrics) SocketConnected(up bool) {
	if m == nil {
		return
	}
	if up {
		m.socket.Set(1)
	} else {
		m.socket.Set(0)
	}
}

// Redelivered counts a redelivered request that was ignored; kind is what
// recognised it: "envelope", "trigger" or "view".
func (m *Metrics) Redelivered(kind string) {
	if m == nil {
		return
	}
	m.redeliveries.WithLabelValues(kind).Inc()
}

// StoreFallback counts a fall back from Redis to the in-memory store.
func (m *Metrics) StoreFallback() {
	if m == nil {
		return
	}
	m.storeFallbacks.Inc()
}

// DirectoryReload counts a reload of the floor directory: ok is true when
// the new file took effect, false when it was refused.
func (m *Metrics) DirectoryReload(ok bool) {
	if m == nil {
		return
	}
	result := "refused"
	if ok {
		result = "ok"
	}
	m.directoryReloads.WithLabelValues(result).Inc()
}
