// Package check holds the offline checks of the Helm chart in
// deploy/helm/coldtransfer, in a module of its own so that the bot's module
// does not grow by the Kubernetes and Prometheus libraries they need.
// .ci/chart runs them with a pinned helm:
//
//	bash .ci/chart
//
// The tests render the chart with helm template, decode every object
// strictly into its Kubernetes or Prometheus Operator type, and parse every
// PromQL expression of the alerts and the dashboard, checking the metric
// names against testdata/metrics.txt, which cmd/bot's TestMetricNames keeps
// equal to a real scrape of the bot. With no Docker daemon to run them, they
// also load deploy/compose.yaml against the Compose specification and read
// the Dockerfile for the version it stamps.
package check
