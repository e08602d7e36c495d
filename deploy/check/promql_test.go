package check

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	monv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// metricsFile lists the series names of a real scrape of the bot's
// /metrics, one per line; cmd/bot's TestMetricNames keeps it equal to one:
//
//	go test ./cmd/bot -run TestMetricNames -update
const metricsFile = "testdata/metrics.txt"

// exported reads metricsFile: the names a query may select.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(metricsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := make(map[string]bool)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			names[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !names["coldtransfer_build_info"] || !names["coldtransfer_ack_duration_seconds_bucket"] {
		t.Fatalf("%s lacks the bot's own series; regenerate it: go test ./cmd/bot -run TestMetricNames -update", metricsFile)
	}
	return names
}

// checkQuery parses expr as PromQL and returns the metric names it selects,
// or an error for a parse error, a selector without a metric name, or a
// name the bot does not export. The names are series names as scraped
// (coldtransfer_ack_duration_seconds_bucket, not the histogram's family
// name): a query for a histogram's family name would find nothing.
func checkQuery(expr string, names map[string]bool) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var used, problems []string
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		switch {
		case name == "":
			problems = append(problems, fmt.Sprintf("%s selects no metric by name", vs))
		case !names[name]:
			problems = append(problems, fmt.Sprintf("%s is not a series the bot exports (%s)", name, metricsFile))
		default:
			used = append(used, name)
		}
		return nil
	})
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return used, nil
}

// The checker itself.
func TestCheckQuery(t *testing.T) {
	names := map[string]bool{"coldtransfer_in_flight": true, "coldtransfer_ack_duration_seconds_bucket": true}
	for _, tc := range []struct {
		expr, want string // want: "" for no error
	}{
		{`sum(coldtransfer_in_flight)`, ""},
		{`histogram_quantile(0.99, sum by (le) (rate(coldtransfer_ack_duration_seconds_bucket[5m])))`, ""},
		{`{__name__="coldtransfer_in_flight"}`, ""},
		{`rate(coldtransfer_ack_duration_seconds[5m])`, "coldtransfer_ack_duration_seconds is not a series"},
		{`coldtransfer_in_flight > on() coldtransfer_typo`, "coldtransfer_typo is not a series"},
		{`{job="bot"}`, "selects no metric by name"},
		{`sum(coldtransfer_in_flight`, "unclosed left parenthesis"},
	} {
		_, err := checkQuery(tc.expr, names)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("checkQuery(%s) = %v, want an error containing %q", tc.expr, err, tc.want)
		}
	}
}

// Every alert rule of the chart parses and names only metrics the bot
// exports, and the documented rules are in the chart, unchanged.
func TestAlertRules(t *testing.T) {
	names := exported(t)
	objs := render(t, "-f", allOn)
	rule := named[monv1.PrometheusRule](t, objs, "coldtransfer")
	n := 0
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			n++
			if _, err := checkQuery(r.Expr.String(), names); err != nil {
				t.Errorf("group %s, rule %s%s: %s: %v", g.Name, r.Alert, r.Record, r.Expr.String(), err)
			}
		}
	}
	if n == 0 {
		t.Fatal("the PrometheusRule has no rules")
	}

	// docs/kubernetes.md's example of more rules is the one tested here.
	type extra struct {
		Metrics struct {
			PrometheusRule struct {
				AdditionalGroups []monv1.RuleGroup `json:"additionalGroups"`
			} `json:"prometheusRule"`
		} `json:"metrics"`
	}
	var example, tested extra
	if err := yaml.Unmarshal(yamlBlock(t, "../../docs/kubernetes.md", "additionalGroups:"), &example); err != nil {
		t.Fatalf("docs/kubernetes.md: %v", err)
	}
	data, err := os.ReadFile(allOn)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &tested); err != nil {
		t.Fatal(err)
	}
	if ex := example.Metrics.PrometheusRule.AdditionalGroups; len(ex) == 0 || !reflect.DeepEqual(ex, tested.Metrics.PrometheusRule.AdditionalGroups) {
		t.Errorf("docs/kubernetes.md's additionalGroups example differs from %s's, which is the one checked", allOn)
	}

	doc, where := docAlerts(t)
	if len(doc.Groups) == 0 {
		t.Fatalf("%s's alert rules have no group", where)
	}
	for _, want := range doc.Groups {
		i := slices.IndexFunc(rule.Spec.Groups, func(g monv1.RuleGroup) bool { return g.Name == want.Name })
		if i < 0 {
			t.Errorf("%s's rule group %s is not in the chart (files/alerts.yaml)", where, want.Name)
			continue
		}
		if got := rule.Spec.Groups[i]; !reflect.DeepEqual(got, want) {
			g, _ := yaml.Marshal(got)
			w, _ := yaml.Marshal(want)
			t.Errorf("the chart's rule group %s differs from %s's; make deploy/helm/coldtransfer/files/alerts.yaml the same.\nchart:\n%s\n%s:\n%s", want.Name, where, g, where, w)
		}
	}
}

// docAlerts decodes the one YAML block of alert rules in the operators'
// documentation (README.md and docs/, but for docs/kubernetes.md, whose
// examples are the chart's values).
func docAlerts(t *testing.T) (monv1.PrometheusRuleSpec, string) {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	var spec monv1.PrometheusRuleSpec
	var where []string
	for _, f := range append([]string{"../../README.md"}, files...) {
		if filepath.Base(f) == "kubernetes.md" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(data), -1) {
			if !strings.Contains(b[1], "- alert:") {
				continue
			}
			where = append(where, strings.TrimPrefix(f, "../../"))
			if err := decodeStrict([]byte(b[1]), &spec); err != nil {
				t.Fatalf("%s's alert rules: %v", f, err)
			}
		}
	}
	if len(where) != 1 {
		t.Fatalf("the documentation has %d YAML blocks of alert rules (%v), want 1", len(where), where)
	}
	return spec, where[0]
}

// yamlBlock returns the one YAML block of the Markdown file that contains
// marker.
func yamlBlock(t *testing.T, file, marker string) []byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, b := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(data), -1) {
		if strings.Contains(b[1], marker) {
			found = append(found, b[1])
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s has %d YAML blocks with %q, want 1", file, len(found), marker)
	}
	// An indented block (in a list item) is the same YAML unindented.
	return []byte(dedent(found[0]))
}

// dedent removes the indentation the block's first line has from every line.
func dedent(s string) string {
	indent := len(s) - len(strings.TrimLeft(s, " "))
	var b strings.Builder
	for line := range strings.Lines(s) {
		b.WriteString(strings.TrimPrefix(line, strings.Repeat(" ", indent)))
	}
	return b.String()
}

// grafanaVar is a Grafana variable in a query: $name, ${name} or
// ${name:format}.
var grafanaVar = regexp.MustCompile(`\$(?:\{(\w+)(?::\w+)?\}|(\w+))`)

// grafanaBuiltins are Grafana's interval variables, replaced by a duration
// for parsing.
var grafanaBuiltins = map[string]string{"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}

// expandVars replaces the Grafana variables in expr: the builtin intervals
// by a duration, the dashboard's own (vars) by a regular expression that
// fits a label matcher. Any other variable is an error.
func expandVars(expr string, vars map[string]bool) (string, error) {
	var unknown []string
	out := grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		if d, ok := grafanaBuiltins[name]; ok {
			return d
		}
		if vars[name] {
			return ".+"
		}
		unknown = append(unknown, m)
		return m
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("uses %s, which the dashboard does not define", strings.Join(unknown, ", "))
	}
	return out, nil
}

// dashboard is the part of Grafana's dashboard JSON the test reads.
type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID      int     `json:"id"`
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"` // a collapsed row's
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// The dashboard as the chart ships it: every panel has queries, every query
// and variable parses as PromQL and names only metrics the bot exports, and
// every metric of the bot's own is on it.
func TestDashboard(t *testing.T) {
	names := exported(t)
	objs := render(t, "-f", allOn)
	cm := named[corev1.ConfigMap](t, objs, "coldtransfer-dashboard")
	if len(cm.Data) != 1 {
		t.Fatalf("dashboard ConfigMap has %d keys, want 1", len(cm.Data))
	}
	var raw string
	for _, v := range cm.Data {
		raw = v
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(raw))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if d.Title == "" || d.UID == "" {
		t.Errorf("dashboard title %q uid %q: want both", d.Title, d.UID)
	}

	used := make(map[string]bool)
	vars := make(map[string]bool)
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			if err := json.Unmarshal(v.Query, &q.Query); err != nil {
				t.Errorf("variable %s: query %s is neither a string nor {query}", v.Name, v.Query)
				continue
			}
		}
		// Grafana's label_values(selector, label): the selector is PromQL.
		m := regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`).FindStringSubmatch(q.Query)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, q.Query)
			continue
		}
		if _, err := checkQuery(m[1], names); err != nil {
			t.Errorf("variable %s: %s: %v", v.Name, m[1], err)
		}
	}

	var walk func([]panel)
	queries := 0
	walk = func(panels []panel) {
		for _, p := range panels {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %d %q has no query", p.ID, p.Title)
			}
			for _, tg := range p.Targets {
				queries++
				expr, err := expandVars(tg.Expr, vars)
				if err == nil {
					var got []string
					got, err = checkQuery(expr, names)
					for _, n := range got {
						used[n] = true
					}
				}
				if err != nil {
					t.Errorf("panel %d %q, query %s: %s: %v", p.ID, p.Title, tg.RefID, tg.Expr, err)
				}
			}
		}
	}
	walk(d.Panels)
	if queries == 0 {
		t.Fatal("the dashboard has no queries")
	}

	// Every metric of the bot's own, by family: a histogram counts when any
	// of its series is used.
	for name := range names {
		if !strings.HasPrefix(name, "coldtransfer_") {
			continue
		}
		family := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && names[base+"_bucket"] {
				family = base
			}
		}
		if !slices.ContainsFunc([]string{family, family + "_bucket", family + "_sum", family + "_count"}, func(n string) bool { return used[n] }) {
			t.Errorf("%s is on no panel of the dashboard", family)
		}
	}
}

// The dashboard's expressions, as Grafana expands its variables.
func TestExpandVars(t *testing.T) {
	vars := map[string]bool{"job": true}
	for _, tc := range []struct{ in, want, err string }{
		{`rate(x{job=~"$job"}[$__rate_interval])`, `rate(x{job=~".+"}[5m])`, ""},
		{`x{job=~"${job}"}`, `x{job=~".+"}`, ""},
		{`x{job=~"${job:regex}"}`, `x{job=~".+"}`, ""},
		{`x{pod=~"$pod"}`, "", "uses $pod"},
	} {
		got, err := expandVars(tc.in, vars)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("expandVars(%s) = %q, %v; want %q, error containing %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}
