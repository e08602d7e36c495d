package check

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"

	monv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const (
	chartDir = "../helm/coldtransfer"
	// helmEnv names the helm binary; .ci/chart sets it.
	helmEnv = "COLDTRANSFER_HELM"
	// allOn turns every optional part of the chart on.
	allOn = "testdata/all-on.yaml"
	// directoryExample is the repository's sample floor directory.
	directoryExample = "../../directory.example.yaml"
	// kubeVersion is the cluster helm renders for: helm built with go
	// install assumes v1.20, older than the chart's kubeVersion allows.
	kubeVersion = "1.31.0"
)

// kinds are the objects the chart may render, each with the Go type it must
// decode into. A kind missing here fails the test: the chart never renders
// a Secret, and a new kind needs its type added.
var kinds = map[string]func() any{
	"apps/v1/Deployment":                      func() any { return new(appsv1.Deployment) },
	"policy/v1/PodDisruptionBudget":           func() any { return new(policyv1.PodDisruptionBudget) },
	"v1/ConfigMap":                            func() any { return new(corev1.ConfigMap) },
	"v1/Service":                              func() any { return new(corev1.Service) },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return new(networkingv1.NetworkPolicy) },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return new(monv1.ServiceMonitor) },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return new(monv1.PrometheusRule) },
}

// object is one rendered document, decoded.
type object struct {
	kind  string // apiVersion/kind
	name  string
	value any // *appsv1.Deployment, …
}

// rendered is what one helm template run produced.
type rendered []object

// helm returns the helm binary's path, skipping the test without one.
func helm(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(helmEnv)
	if bin == "" {
		t.Skipf("%s is not set: run bash .ci/chart, which installs a pinned helm and runs these tests with it", helmEnv)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s=%s: %v", helmEnv, bin, err)
	}
	return bin
}

// helmTemplate runs helm template on the chart with args and returns its
// output, or helm's error message.
func helmTemplate(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(helm(t), append([]string{"template", "coldtransfer", chartDir, "--namespace", "floor", "--kube-version", kubeVersion}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("helm template %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// render runs helm template with args and decodes every object strictly.
func render(t *testing.T, args ...string) rendered {
	t.Helper()
	out, err := helmTemplate(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeAll(out)
	if err != nil {
		t.Fatalf("helm template %s: %v", strings.Join(args, " "), err)
	}
	return objs
}

// decodeAll splits a YAML stream into documents and decodes each one
// strictly into its kind's type: an unknown kind, an unknown or repeated
// field, or a value of the wrong type is an error.
func decodeAll(stream []byte) (rendered, error) {
	var objs rendered
	var errs []error
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	for {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if isEmptyDoc(doc) {
			continue
		}
		obj, err := decode(doc)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", sourceOf(doc), err))
			continue
		}
		objs = append(objs, obj)
	}
	return objs, errors.Join(errs...)
}

func decode(doc []byte) (object, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return object{}, err
	}
	kind := head.APIVersion + "/" + head.Kind
	newValue, ok := kinds[kind]
	if !ok {
		return object{}, fmt.Errorf("kind %s is not one the chart may render (a Secret never is)", kind)
	}
	v := newValue()
	if err := decodeStrict(doc, v); err != nil {
		return object{}, fmt.Errorf("%s %s: %w", kind, head.Metadata.Name, err)
	}
	return object{kind: kind, name: head.Metadata.Name, value: v}, nil
}

// decodeStrict decodes a YAML document into v the way the API server
// decodes what kubectl sends: YAML to JSON without looking at v (so a
// number where a string belongs stays a number), then case-sensitive JSON
// with unknown and duplicate fields refused.
func decodeStrict(doc []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, v)
	return errors.Join(append([]error{err}, strict...)...)
}

func isEmptyDoc(doc []byte) bool {
	for line := range strings.Lines(string(doc)) {
		if s := strings.TrimSpace(line); s != "" && !strings.HasPrefix(s, "#") && s != "---" {
			return false
		}
	}
	return true
}

func sourceOf(doc []byte) string {
	for line := range strings.Lines(string(doc)) {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
			return s
		}
	}
	return "a document"
}

// all returns the objects of type T.
func all[T any](objs rendered) []*T {
	var out []*T
	for _, o := range objs {
		if v, ok := o.value.(*T); ok {
			out = append(out, v)
		}
	}
	return out
}

// named returns the object of type T called name, failing t without one.
func named[T any](t *testing.T, objs rendered, name string) *T {
	t.Helper()
	for _, o := range objs {
		if v, ok := o.value.(*T); ok && o.name == name {
			return v
		}
	}
	var zero T
	t.Fatalf("no %T named %s in %v", &zero, name, objs.kinds())
	return nil
}

// kinds lists the objects as "kind name", sorted.
func (objs rendered) kinds() []string {
	var out []string
	for _, o := range objs {
		out = append(out, path.Base(o.kind)+" "+o.name)
	}
	slices.Sort(out)
	return out
}

// The checker itself: a misspelled field, a value of the wrong type, a
// repeated key and an unknown kind are refused, so a passing render means
// something.
func TestDecodeIsStrict(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"unknown field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n", `unknown field "spec.replica"`},
		{"unknown nested field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers:\n        - name: bot\n          securityContext: {readOnlyRootFS: true}\n", `unknown field "spec.template.spec.containers[0].securityContext.readOnlyRootFS"`},
		{"wrong type", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: {grafana_dashboard: 1}\n", "cannot unmarshal number"},
		{"wrong case", "apiVersion: v1\nkind: ConfigMap\nmetadata: {Name: x}\n", `unknown field "metadata.Name"`},
		{"repeated key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b, a: c}\n", `already set`},
		{"unknown kind", "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n", "not one the chart may render"},
		{"unknown CRD field", "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec:\n  endpoints: [{port: http, intervals: 30s}]\n", `unknown field "spec.endpoints[0].intervals"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeAll([]byte("---\n" + tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("decoding\n%s\nerror %v, want one containing %q", tc.doc, err, tc.want)
			}
		})
	}
	if _, err := decodeAll([]byte("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n")); err != nil {
		t.Errorf("a valid ConfigMap: %v", err)
	}
}

func TestChartRenders(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string // kind name, sorted
		// directory is the ConfigMap the bot's DIRECTORY_FILE must come
		// from, "" for none.
		directory string
	}{
		{
			name: "defaults",
			want: []string{"Deployment coldtransfer", "PodDisruptionBudget coldtransfer"},
		},
		{
			name:      "all on",
			args:      []string{"-f", allOn, "--set-file", "directory.content=" + directoryExample},
			directory: "coldtransfer-directory",
			want: []string{
				"ConfigMap coldtransfer-dashboard",
				"ConfigMap coldtransfer-directory",
				"Deployment coldtransfer",
				"Deployment coldtransfer-redis",
				"NetworkPolicy coldtransfer-redis",
				"PodDisruptionBudget coldtransfer",
				"PrometheusRule coldtransfer",
				"Service coldtransfer",
				"Service coldtransfer-redis",
				"ServiceMonitor coldtransfer",
			},
		},
		{
			name:      "directory from a ConfigMap of one's own",
			args:      []string{"--set", "directory.existingConfigMap=floor-directory", "--set", "directory.key=floor.yaml"},
			directory: "floor-directory",
			want:      []string{"Deployment coldtransfer", "PodDisruptionBudget coldtransfer"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, tc.args...)
			if got := objs.kinds(); !slices.Equal(got, tc.want) {
				t.Errorf("rendered\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			bot := named[appsv1.Deployment](t, objs, "coldtransfer")
			checkBot(t, bot)
			checkPDB(t, named[policyv1.PodDisruptionBudget](t, objs, "coldtransfer"), bot)
			checkDirectory(t, objs, bot, tc.directory)
			checkNoSecretValues(t, objs)
			if !slices.Contains(objs.kinds(), "Deployment coldtransfer-redis") {
				for _, e := range container(t, bot, "bot").Env {
					if e.Name == "REDIS_URL" {
						t.Errorf("REDIS_URL set to %q without the in-chart Redis; it must come from the Secret", e.Value)
					}
				}
			}
		})
	}
}

func TestChartAllOn(t *testing.T) {
	objs := render(t, "-f", allOn, "--set-file", "directory.content="+directoryExample)
	bot := named[appsv1.Deployment](t, objs, "coldtransfer")

	t.Run("redis", func(t *testing.T) {
		redis := named[appsv1.Deployment](t, objs, "coldtransfer-redis")
		svc := named[corev1.Service](t, objs, "coldtransfer-redis")
		if got, want := envValue(container(t, bot, "bot"), "REDIS_URL"), "redis://coldtransfer-redis:6379/0"; got != want {
			t.Errorf("bot's REDIS_URL = %q, want %q (the in-chart Redis's Service)", got, want)
		}
		assertSelects(t, "Service coldtransfer-redis", svc.Spec.Selector, redis)
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 6379 {
			t.Errorf("Redis Service ports %+v, want 6379", svc.Spec.Ports)
		}
		c := container(t, redis, "redis")
		if args := strings.Join(c.Args, " "); !strings.Contains(args, `--save  --appendonly no`) {
			t.Errorf("redis args %q: want persistence off (--save \"\" --appendonly no)", c.Args)
		}
		for _, v := range redis.Spec.Template.Spec.Volumes {
			if v.EmptyDir == nil {
				t.Errorf("Redis volume %s is not an emptyDir: the in-chart Redis keeps nothing", v.Name)
			}
		}
		checkHardened(t, redis, c)

		np := named[networkingv1.NetworkPolicy](t, objs, "coldtransfer-redis")
		assertSelects(t, "NetworkPolicy's podSelector", np.Spec.PodSelector.MatchLabels, redis)
		if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) != 1 || np.Spec.Ingress[0].From[0].PodSelector == nil {
			t.Fatalf("NetworkPolicy ingress %+v, want one rule from the bot's pods", np.Spec.Ingress)
		}
		assertSelects(t, "NetworkPolicy's ingress", np.Spec.Ingress[0].From[0].PodSelector.MatchLabels, bot)
	})

	t.Run("service monitor", func(t *testing.T) {
		svc := named[corev1.Service](t, objs, "coldtransfer")
		sm := named[monv1.ServiceMonitor](t, objs, "coldtransfer")
		assertSelects(t, "Service coldtransfer", svc.Spec.Selector, bot)
		if sel := labels.SelectorFromSet(sm.Spec.Selector.MatchLabels); len(sm.Spec.Selector.MatchExpressions) > 0 || !sel.Matches(labels.Set(svc.Labels)) {
			t.Errorf("ServiceMonitor selector %v does not select the Service's labels %v", sm.Spec.Selector, svc.Labels)
		}
		if sm.Labels["release"] != "kube-prometheus-stack" {
			t.Errorf("ServiceMonitor labels %v lack metrics.serviceMonitor.labels", sm.Labels)
		}
		if len(sm.Spec.Endpoints) != 1 {
			t.Fatalf("ServiceMonitor endpoints %+v, want one", sm.Spec.Endpoints)
		}
		ep := sm.Spec.Endpoints[0]
		if ep.Path != "/metrics" || len(svc.Spec.Ports) != 1 || ep.Port != svc.Spec.Ports[0].Name {
			t.Errorf("ServiceMonitor endpoint %+v does not scrape /metrics on the Service's port %+v", ep, svc.Spec.Ports)
		}
		if !svc.Spec.PublishNotReadyAddresses {
			t.Error("the metrics Service leaves out replicas that are not ready: the one without a Slack connection would go unscraped, and its alert silent")
		}
		if svc.Spec.Ports[0].TargetPort.StrVal != "http" || svc.Spec.Ports[0].Port != 8080 {
			t.Errorf("Service port %+v, want 8080 to the container's http port", svc.Spec.Ports[0])
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		cm := named[corev1.ConfigMap](t, objs, "coldtransfer-dashboard")
		if cm.Labels["grafana_dashboard"] != "1" {
			t.Errorf("dashboard ConfigMap labels %v, want grafana_dashboard: \"1\"", cm.Labels)
		}
		if cm.Namespace != "monitoring" {
			t.Errorf("dashboard ConfigMap in namespace %q, want metrics.dashboard.namespace", cm.Namespace)
		}
		if len(cm.Data) != 1 {
			t.Errorf("dashboard ConfigMap has keys %v, want one JSON file", slices.Sorted(maps.Keys(cm.Data)))
		}
	})

	t.Run("alerts", func(t *testing.T) {
		rule := named[monv1.PrometheusRule](t, objs, "coldtransfer")
		if rule.Labels["release"] != "kube-prometheus-stack" {
			t.Errorf("PrometheusRule labels %v lack metrics.prometheusRule.labels", rule.Labels)
		}
		var names []string
		for _, g := range rule.Spec.Groups {
			names = append(names, g.Name)
		}
		if want := []string{"coldtransfer", "coldtransfer-directory"}; !slices.Equal(names, want) {
			t.Errorf("rule groups %v, want %v (README's, then additionalGroups)", names, want)
		}
	})
}

// A value the chart must refuse fails the render with a message that says
// what to change.
func TestChartRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"grace shorter than the drain", []string{"--set", "terminationGracePeriodSeconds=20"}, "terminationGracePeriodSeconds"},
		{"HEALTH_ADDR in env", []string{"--set", "env.HEALTH_ADDR=127.0.0.1:9090"}, "env.HEALTH_ADDR: the chart sets it"},
		{"DIRECTORY_FILE in env", []string{"--set", "env.DIRECTORY_FILE=/x.yaml"}, "env.DIRECTORY_FILE: the chart sets it"},
		{"REDIS_URL twice", []string{"--set", "redis.enabled=true", "--set", "env.REDIS_URL=redis://elsewhere:6379"}, "env.REDIS_URL: redis.enabled sets it"},
		{"two directories", []string{"--set", "directory.existingConfigMap=x", "--set", "directory.content=destinations: []"}, "set content or existingConfigMap, not both"},
		{"no Secret", []string{"--set", "secret.name="}, "secret.name"},
		{"misspelled value", []string{"--set", "replicas=3"}, "replicas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := helmTemplate(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("helm template %s: error %v, want one containing %q", strings.Join(tc.args, " "), err, tc.want)
			}
		})
	}
}

// checkBot checks the bot's Deployment against what the bot needs.
func checkBot(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	spec := d.Spec.Template.Spec
	c := container(t, d, "bot")

	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	assertSelects(t, "the Deployment's selector", d.Spec.Selector.MatchLabels, d)
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update %+v: want maxUnavailable 0, a new replica ready before an old one stops", ru)
	}
	// The bot drains in-flight transfers for up to 25 s after SIGTERM.
	if g := spec.TerminationGracePeriodSeconds; g == nil || *g < 30 {
		t.Errorf("terminationGracePeriodSeconds %v, want at least 30 (a 25 s drain)", g)
	}

	// Variables: all from the Secret, the chart's own on top.
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != "coldtransfer" ||
		(c.EnvFrom[0].SecretRef.Optional != nil && *c.EnvFrom[0].SecretRef.Optional) {
		t.Errorf("envFrom %+v, want the required Secret coldtransfer", c.EnvFrom)
	}
	if got := envValue(c, "HEALTH_ADDR"); got != "0.0.0.0:8080" {
		t.Errorf("HEALTH_ADDR = %q, want 0.0.0.0:8080", got)
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("ports %+v, want http 8080 (HEALTH_ADDR's)", c.Ports)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %+v, want GET %s on port http", p.name, p.probe, p.path)
		}
	}

	checkHardened(t, d, c)
	if spec.SecurityContext == nil || spec.SecurityContext.RunAsUser == nil || *spec.SecurityContext.RunAsUser != 65532 {
		t.Errorf("pod securityContext %+v, want the image's nonroot user 65532", spec.SecurityContext)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the service account token is mounted; the bot never calls the Kubernetes API")
	}
}

// checkHardened checks that container c of d runs as non-root on a
// read-only root with no capabilities and bounded resources.
func checkHardened(t *testing.T, d *appsv1.Deployment, c *corev1.Container) {
	t.Helper()
	pod := d.Spec.Template.Spec.SecurityContext
	if pod == nil || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot {
		t.Errorf("%s: pod securityContext %+v, want runAsNonRoot", d.Name, pod)
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Errorf("%s: container %s has no securityContext", d.Name, c.Name)
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("%s: root filesystem is writable", d.Name)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("%s: privilege escalation allowed", d.Name)
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("%s: capabilities %+v, want all dropped and none added", d.Name, sc.Capabilities)
	}
	r := c.Resources
	if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() || r.Limits.Memory().IsZero() {
		t.Errorf("%s: resources %+v, want CPU and memory requests and a memory limit", d.Name, r)
	}
}

// checkPDB checks that the budget covers the bot's pods and lets a drain
// proceed one replica at a time.
func checkPDB(t *testing.T, pdb *policyv1.PodDisruptionBudget, bot *appsv1.Deployment) {
	t.Helper()
	if pdb.Spec.Selector == nil {
		t.Fatal("PodDisruptionBudget has no selector")
	}
	assertSelects(t, "PodDisruptionBudget", pdb.Spec.Selector.MatchLabels, bot)
	if mu := pdb.Spec.MaxUnavailable; mu == nil || mu.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PodDisruptionBudget maxUnavailable %v minAvailable %v, want maxUnavailable 1", mu, pdb.Spec.MinAvailable)
	}
}

// checkDirectory checks that DIRECTORY_FILE is a file of configMap, mounted
// as a directory (a subPath mount never sees an update), and that nothing
// restarts the pods when it changes: the bot reloads it live.
func checkDirectory(t *testing.T, objs rendered, bot *appsv1.Deployment, configMap string) {
	t.Helper()
	c := container(t, bot, "bot")
	file := envValue(c, "DIRECTORY_FILE")
	if configMap == "" {
		if file != "" || len(c.VolumeMounts) > 0 {
			t.Errorf("DIRECTORY_FILE %q and mounts %+v without a directory, want \"\" and none", file, c.VolumeMounts)
		}
		return
	}
	if file == "" {
		t.Fatal("DIRECTORY_FILE is empty, want the directory's file")
	}
	var mount *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if m.MountPath == path.Dir(file) {
			mount = &c.VolumeMounts[i]
		}
	}
	if mount == nil {
		t.Fatalf("DIRECTORY_FILE %s is in no mounted directory (mounts %+v)", file, c.VolumeMounts)
	}
	if mount.SubPath != "" || mount.SubPathExpr != "" || !mount.ReadOnly {
		t.Errorf("directory mount %+v: want read-only and no subPath (a subPath mount never updates)", mount)
	}
	var volume *corev1.Volume
	for i, v := range bot.Spec.Template.Spec.Volumes {
		if v.Name == mount.Name {
			volume = &bot.Spec.Template.Spec.Volumes[i]
		}
	}
	if volume == nil || volume.ConfigMap == nil || volume.ConfigMap.Name != configMap {
		t.Fatalf("directory volume %+v, want the ConfigMap %s", volume, configMap)
	}
	if len(volume.ConfigMap.Items) > 0 {
		t.Errorf("directory volume picks items %+v; want the whole ConfigMap", volume.ConfigMap.Items)
	}
	for k := range bot.Spec.Template.Annotations {
		if strings.Contains(k, "checksum") {
			t.Errorf("pod annotation %s restarts the pods on a change the bot reloads live", k)
		}
	}
	if configMap != "coldtransfer-directory" {
		return // not the chart's
	}
	cm := named[corev1.ConfigMap](t, objs, configMap)
	want, err := os.ReadFile(directoryExample)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := cm.Data[path.Base(file)]; !ok || got != string(want) {
		t.Errorf("ConfigMap %s key %s is not %s verbatim (line numbers in the bot's messages would be off)", configMap, path.Base(file), directoryExample)
	}
}

// checkNoSecretValues fails t when a rendered value looks like a token: the
// chart's defaults and the test's values hold none.
func checkNoSecretValues(t *testing.T, objs rendered) {
	t.Helper()
	for _, d := range all[appsv1.Deployment](objs) {
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				for _, p := range []string{"xoxb-", "xapp-", "xoxp-"} {
					if strings.HasPrefix(e.Value, p) {
						t.Errorf("%s: %s holds a Slack token", d.Name, e.Name)
					}
				}
				if strings.Contains(e.Name, "TOKEN") || strings.Contains(e.Name, "AUTH") {
					t.Errorf("%s: %s is set by the chart; secrets come from the Secret only", d.Name, e.Name)
				}
			}
		}
	}
}

// assertSelects fails t unless selector selects d's pods.
func assertSelects(t *testing.T, what string, selector map[string]string, d *appsv1.Deployment) {
	t.Helper()
	if len(selector) == 0 || !labels.SelectorFromSet(selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("%s %v does not select %s's pods (labels %v)", what, selector, d.Name, d.Spec.Template.Labels)
	}
}

func container(t *testing.T, d *appsv1.Deployment, name string) *corev1.Container {
	t.Helper()
	for i, c := range d.Spec.Template.Spec.Containers {
		if c.Name == name {
			return &d.Spec.Template.Spec.Containers[i]
		}
	}
	t.Fatalf("%s has no container %s", d.Name, name)
	return nil
}

// envValue is the value of the variable name in c's env, "" when unset.
func envValue(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
