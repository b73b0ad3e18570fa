package deploy

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/server"
)

// readYAML parses one deploy file into its documents.
func readYAML(t *testing.T, path string) []any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := parseYAML(string(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return docs
}

// at walks maps by string key and lists by index; nil when the path does not exist.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func list(v any) []any { l, _ := v.([]any); return l }

func dict(v any) map[string]any { m, _ := v.(map[string]any); return m }

// k8sObjects returns every object of deploy/k8s by "Kind/name", and the manifest files.
func k8sObjects(t *testing.T) (map[string]any, []string) {
	t.Helper()
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]any{}
	var manifests []string
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		manifests = append(manifests, filepath.Base(f))
		for _, doc := range readYAML(t, f) {
			key := fmt.Sprint(at(doc, "kind"), "/", at(doc, "metadata", "name"))
			if _, dup := objs[key]; dup {
				t.Errorf("%s: %s defined twice", f, key)
			}
			objs[key] = doc
		}
	}
	return objs, manifests
}

func TestKubernetesManifests(t *testing.T) {
	objs, manifests := k8sObjects(t)
	kust := readYAML(t, "k8s/kustomization.yaml")[0]
	var resources []string
	for _, r := range list(at(kust, "resources")) {
		resources = append(resources, fmt.Sprint(r))
	}
	slices.Sort(resources)
	if !slices.Equal(resources, manifests) {
		t.Errorf("kustomization resources %v, want every manifest %v", resources, manifests)
	}
	kinds := map[string]bool{"ConfigMap": true, "Secret": true, "Deployment": true, "Service": true, "PodDisruptionBudget": true, "NetworkPolicy": true}
	for key, o := range objs {
		if !kinds[fmt.Sprint(at(o, "kind"))] || at(o, "apiVersion") == nil {
			t.Errorf("%s: kind or apiVersion unexpected (an Ingress for the ops port is never wanted)", key)
		}
		if ns := at(o, "metadata", "namespace"); ns != nil {
			t.Errorf("%s: namespace %v, want none (namespace-agnostic)", key, ns)
		}
		if l := at(o, "metadata", "labels", "app.kubernetes.io/name"); l != "mailproof" {
			t.Errorf("%s: app.kubernetes.io/name label %v, want mailproof", key, l)
		}
	}
	image := fmt.Sprint(at(objs["Deployment/mailproof"], "spec", "template", "spec", "containers", 0, "image"))
	if repo, _, _ := strings.Cut(image, ":"); at(kust, "images", 0, "name") != repo {
		t.Errorf("kustomization images[0].name %v, want the Deployment's repository %s", at(kust, "images", 0, "name"), repo)
	}
}

func TestDeployment(t *testing.T) {
	objs, _ := k8sObjects(t)
	dep := objs["Deployment/mailproof"]
	pod := at(dep, "spec", "template", "spec")
	c := at(pod, "containers", 0)
	podLabels := at(dep, "spec", "template", "metadata", "labels")
	ports := map[string]any{}
	for _, p := range list(at(c, "ports")) {
		ports[fmt.Sprint(at(p, "name"))] = at(p, "containerPort")
	}
	routes, err := os.ReadFile("../server/routes.go")
	if err != nil {
		t.Fatal(err)
	}
	opsRoute := func(path any) bool {
		return strings.Contains(string(routes), fmt.Sprintf("opsE.GET(%q,", path))
	}
	var mainTargets []any
	for _, p := range list(at(objs["Service/mailproof"], "spec", "ports")) {
		mainTargets = append(mainTargets, at(p, "targetPort"))
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"replicas", at(dep, "spec", "replicas"), 2},
		{"image repository", strings.HasPrefix(fmt.Sprint(at(c, "image")), "ghcr.io/mailproof/mailproof:"), true},
		{"args", at(c, "args"), []any{"serve"}},
		{"selector matches the pod labels", at(dep, "spec", "selector", "matchLabels"), podLabels},
		{"http port", ports["http"], 8080},
		{"ops port", ports["ops"], 9090},
		{"liveness path", at(c, "livenessProbe", "httpGet", "path"), "/healthz"},
		{"liveness port", at(c, "livenessProbe", "httpGet", "port"), "ops"},
		{"startup path", at(c, "startupProbe", "httpGet", "path"), "/healthz"},
		{"startup port", at(c, "startupProbe", "httpGet", "port"), "ops"},
		{"readiness path", at(c, "readinessProbe", "httpGet", "path"), "/readyz"},
		{"readiness port", at(c, "readinessProbe", "httpGet", "port"), "ops"},
		{"liveness path is an ops route", opsRoute(at(c, "livenessProbe", "httpGet", "path")), true},
		{"readiness path is an ops route", opsRoute(at(c, "readinessProbe", "httpGet", "path")), true},
		{"pod runAsNonRoot", at(pod, "securityContext", "runAsNonRoot"), true},
		{"numeric non-root user", at(pod, "securityContext", "runAsUser"), 65532},
		{"seccomp", at(pod, "securityContext", "seccompProfile", "type"), "RuntimeDefault"},
		{"no service account token", at(pod, "automountServiceAccountToken"), false},
		{"container runAsNonRoot", at(c, "securityContext", "runAsNonRoot"), true},
		{"read-only root", at(c, "securityContext", "readOnlyRootFilesystem"), true},
		{"no privilege escalation", at(c, "securityContext", "allowPrivilegeEscalation"), false},
		{"capabilities dropped", at(c, "securityContext", "capabilities", "drop"), []any{"ALL"}},
		{"requests and limits set", []bool{at(c, "resources", "requests", "cpu") != nil, at(c, "resources", "requests", "memory") != nil, at(c, "resources", "limits", "memory") != nil}, []bool{true, true, true}},
		{"PDB minAvailable", at(objs["PodDisruptionBudget/mailproof"], "spec", "minAvailable"), 1},
		{"PDB selects the pods", at(objs["PodDisruptionBudget/mailproof"], "spec", "selector", "matchLabels"), podLabels},
		{"Service selects the pods", at(objs["Service/mailproof"], "spec", "selector"), podLabels},
		{"Service exposes the main listener only", mainTargets, []any{"http"}},
		{"ops Service selects the pods", at(objs["Service/mailproof-ops"], "spec", "selector"), podLabels},
		{"ops Service target", at(objs["Service/mailproof-ops"], "spec", "ports", 0, "targetPort"), "ops"},
		{"ops Service is cluster-internal", at(objs["Service/mailproof-ops"], "spec", "type"), "ClusterIP"},
		{"NetworkPolicy selects the pods", at(objs["NetworkPolicy/mailproof"], "spec", "podSelector", "matchLabels"), podLabels},
	}
	for _, tc := range tests {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

// TestKubernetesConfig runs the manifests' environment through the real configuration
// parser: the template must refuse to start, and with real secrets it must start with
// listeners, ports and grace period that agree with the Deployment.
func TestKubernetesConfig(t *testing.T) {
	objs, _ := k8sObjects(t)
	pod := at(objs["Deployment/mailproof"], "spec", "template", "spec")
	c := at(pod, "containers", 0)
	secretName := at(objs["Secret/mailproof-secrets"], "metadata", "name")
	secrets := dict(at(objs["Secret/mailproof-secrets"], "stringData"))
	var mountDir string
	for _, v := range list(at(pod, "volumes")) {
		for _, m := range list(at(c, "volumeMounts")) {
			if at(v, "secret", "secretName") == secretName && at(m, "name") == at(v, "name") {
				mountDir = fmt.Sprint(at(m, "mountPath"))
			}
		}
	}
	env := map[string]string{}
	for k, v := range dict(at(objs["ConfigMap/mailproof-config"], "data")) {
		if _, ok := v.(string); !ok {
			t.Errorf("ConfigMap %s: value %#v is not a string (Kubernetes rejects it)", k, v)
		}
		if s, ok := setting(k); ok && s.Secret {
			t.Errorf("ConfigMap %s: a secret does not belong in a ConfigMap", k)
		}
		env[k] = fmt.Sprint(v)
	}
	dir, files := t.TempDir(), map[string]string{}
	for _, e := range list(at(c, "env")) {
		name, value := fmt.Sprint(at(e, "name")), at(e, "value")
		if key, ok := strings.CutPrefix(fmt.Sprint(value), mountDir+"/"); ok && mountDir != "" {
			if _, ok := secrets[key]; !ok {
				t.Errorf("env %s: %s is not a key of the Secret", name, key)
			}
			files[key], value = name, filepath.Join(dir, key)
		}
		if value != nil {
			env[name] = fmt.Sprint(value)
		}
	}
	for key, v := range secrets {
		if files[key] == "" {
			t.Errorf("Secret key %s: no *_FILE variable reads it", key)
		}
		if !strings.Contains(fmt.Sprint(v), "REPLACE_ME") {
			t.Errorf("Secret key %s: template value %q is not an obvious placeholder", key, v)
		}
	}
	checkNames(t, "deployment.yaml/configmap.yaml", env)

	write := func(values map[string]any) {
		for key, v := range values {
			if err := os.WriteFile(filepath.Join(dir, key), []byte(fmt.Sprint(v)), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(secrets)
	_, err := server.LoadConfig(mapEnv(env))
	for _, name := range []string{"MAILPROOF_WEBHOOK_SECRETS", "MAILPROOF_ADMIN_TOKEN"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("template secrets: LoadConfig error %v, want one naming %s", err, name)
		}
	}
	write(map[string]any{"webhook-secrets": validWebhookSecret(t), "admin-token": strings.Repeat("a1", 16)})
	cfg, err := server.LoadConfig(mapEnv(env))
	if err != nil {
		t.Fatalf("manifests with real secrets: %v", err)
	}
	ports := map[string]string{}
	for _, p := range list(at(c, "ports")) {
		ports[fmt.Sprint(at(p, "name"))] = fmt.Sprint(at(p, "containerPort"))
	}
	grace, _ := at(pod, "terminationGracePeriodSeconds").(int)
	preStop, _ := at(c, "lifecycle", "preStop", "sleep", "seconds").(int)
	tests := []struct {
		name      string
		got, want any
	}{
		{"MAILPROOF_LISTEN port is the http port", port(cfg.Listen), ports["http"]},
		{"MAILPROOF_OPS_LISTEN port is the ops port", port(cfg.OpsListen), ports["ops"]},
		{"grace outlasts preStop + MAILPROOF_SHUTDOWN_GRACE", time.Duration(grace)*time.Second > time.Duration(preStop)*time.Second+cfg.ShutdownGrace, true},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestCompose(t *testing.T) {
	c := readYAML(t, "compose/compose.yaml")[0]
	redis, mp := at(c, "services", "redis"), at(c, "services", "mailproof")
	build := fmt.Sprint(at(mp, "build"))
	_, dockerErr := os.Stat(filepath.Join("compose", build, "Dockerfile"))
	exampleFile := filepath.Join("compose", fmt.Sprint(at(mp, "env_file"))+".example")
	example, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for i, line := range strings.Split(string(example), "\n") {
		if line = strings.TrimSpace(line); line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("%s:%d: want NAME=value, got %q", exampleFile, i+1, line)
		}
		env[k] = v
	}
	for k, v := range dict(at(mp, "environment")) {
		if _, dup := env[k]; dup {
			t.Errorf("%s set both in compose.yaml and %s", k, exampleFile)
		}
		env[k] = fmt.Sprint(v)
	}
	checkNames(t, "compose", env)
	if _, err := server.LoadConfig(mapEnv(env)); err == nil || !strings.Contains(err.Error(), "MAILPROOF_WEBHOOK_SECRETS") {
		t.Errorf("env example as shipped: LoadConfig error %v, want one naming MAILPROOF_WEBHOOK_SECRETS", err)
	}
	env["MAILPROOF_WEBHOOK_SECRETS"] = validWebhookSecret(t)
	cfg, err := server.LoadConfig(mapEnv(env))
	if err != nil {
		t.Fatalf("compose environment with a real secret: %v", err)
	}
	stop, _ := time.ParseDuration(fmt.Sprint(at(mp, "stop_grace_period")))
	tests := []struct {
		name      string
		got, want any
	}{
		{"redis image", strings.HasPrefix(fmt.Sprint(at(redis, "image")), "redis:7"), true},
		{"redis noeviction", strings.Contains(fmt.Sprint(at(redis, "command")), "--maxmemory-policy noeviction"), true},
		{"redis appendonly", strings.Contains(fmt.Sprint(at(redis, "command")), "--appendonly yes"), true},
		{"build context has the Dockerfile", dockerErr, nil},
		{"build context is the repository", build, "../.."},
		{"command", at(mp, "command"), []any{"serve"}},
		{"waits for a healthy redis", at(mp, "depends_on", "redis", "condition"), "service_healthy"},
		{"main port", slices.Contains(list(at(mp, "ports")), any(port(cfg.Listen)+":"+port(cfg.Listen))), true},
		{"ops port on loopback only", slices.Contains(list(at(mp, "ports")), any("127.0.0.1:"+port(cfg.OpsListen)+":"+port(cfg.OpsListen))), true},
		{"read-only", at(mp, "read_only"), true},
		{"capabilities dropped", at(mp, "cap_drop"), []any{"ALL"}},
		{"stop grace outlasts MAILPROOF_SHUTDOWN_GRACE", stop > cfg.ShutdownGrace, true},
	}
	for _, tc := range tests {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

// setting finds a MAILPROOF_* variable in server.Settings.
func setting(name string) (server.Setting, bool) {
	i := slices.IndexFunc(server.Settings(), func(s server.Setting) bool { return s.Name == name })
	if i < 0 {
		return server.Setting{}, false
	}
	return server.Settings()[i], true
}

// checkNames fails on any MAILPROOF_* variable the server does not read: a typo there
// is silently ignored at run time.
func checkNames(t *testing.T, where string, env map[string]string) {
	t.Helper()
	for name := range env {
		if !strings.HasPrefix(name, "MAILPROOF_") {
			continue
		}
		s, ok := setting(name)
		if base, isFile := strings.CutSuffix(name, "_FILE"); !ok && isFile {
			s, ok = setting(base)
			ok = ok && s.Secret
		}
		if !ok {
			t.Errorf("%s: %s is not a variable mailproof reads (server.Settings)", where, name)
		}
	}
}

func mapEnv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func port(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "invalid " + strconv.Quote(addr)
	}
	return p
}

func validWebhookSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}
