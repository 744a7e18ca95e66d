// Package k8s_test proves offline that the manifests under k8s/ deploy the
// binary that `make build` builds: every overlay renders with `kubectl
// kustomize`, every object decodes strictly into its k8s.io/api type, and
// every container, Service, Ingress, autoscaler and disruption budget fits
// the binary and the rest of the overlay. No Docker engine, no cluster.
package k8s_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// rendered is one overlay after `kubectl kustomize`, each object decoded
// into its k8s.io/api type.
type rendered struct {
	dir             string // e.g. "overlays/dev"
	namespaces      []*corev1.Namespace
	serviceAccounts []*corev1.ServiceAccount
	configMaps      []*corev1.ConfigMap
	secrets         []*corev1.Secret
	services        []*corev1.Service
	deployments     []*appsv1.Deployment
	statefulSets    []*appsv1.StatefulSet
	jobs            []*batchv1.Job
	ingresses       []*networkingv1.Ingress
	autoscalers     []*autoscalingv2.HorizontalPodAutoscaler
	budgets         []*policyv1.PodDisruptionBudget
	objects         []objectRef // every object, for namespace checks
}

// objectRef names one rendered object.
type objectRef struct{ kind, name, namespace string }

// decoders is every kind the manifests may hold; any other kind fails.
var decoders = map[string]func(*rendered, []byte) (metav1.ObjectMeta, error){
	"v1/Namespace":      decodeInto(func(r *rendered, v *corev1.Namespace) { r.namespaces = append(r.namespaces, v) }),
	"v1/ServiceAccount": decodeInto(func(r *rendered, v *corev1.ServiceAccount) { r.serviceAccounts = append(r.serviceAccounts, v) }),
	"v1/ConfigMap":      decodeInto(func(r *rendered, v *corev1.ConfigMap) { r.configMaps = append(r.configMaps, v) }),
	"v1/Secret":         decodeInto(func(r *rendered, v *corev1.Secret) { r.secrets = append(r.secrets, v) }),
	"v1/Service":        decodeInto(func(r *rendered, v *corev1.Service) { r.services = append(r.services, v) }),
	"apps/v1/Deployment": decodeInto(func(r *rendered, v *appsv1.Deployment) {
		r.deployments = append(r.deployments, v)
	}),
	"apps/v1/StatefulSet": decodeInto(func(r *rendered, v *appsv1.StatefulSet) {
		r.statefulSets = append(r.statefulSets, v)
	}),
	"batch/v1/Job": decodeInto(func(r *rendered, v *batchv1.Job) { r.jobs = append(r.jobs, v) }),
	"networking.k8s.io/v1/Ingress": decodeInto(func(r *rendered, v *networkingv1.Ingress) {
		r.ingresses = append(r.ingresses, v)
	}),
	"autoscaling/v2/HorizontalPodAutoscaler": decodeInto(func(r *rendered, v *autoscalingv2.HorizontalPodAutoscaler) {
		r.autoscalers = append(r.autoscalers, v)
	}),
	"policy/v1/PodDisruptionBudget": decodeInto(func(r *rendered, v *policyv1.PodDisruptionBudget) {
		r.budgets = append(r.budgets, v)
	}),
}

// metaOf is implemented by every k8s.io/api object type.
type metaOf interface{ GetObjectMeta() metav1.Object }

// decodeInto decodes a document strictly (an unknown or repeated field
// fails) into a new T and hands it to add.
func decodeInto[T any, PT interface {
	*T
	metaOf
}](add func(*rendered, PT)) func(*rendered, []byte) (metav1.ObjectMeta, error) {
	return func(r *rendered, doc []byte) (metav1.ObjectMeta, error) {
		v := PT(new(T))
		if err := yaml.UnmarshalStrict(doc, v); err != nil {
			return metav1.ObjectMeta{}, err
		}
		add(r, v)
		m := v.GetObjectMeta()
		return metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace()}, nil
	}
}

// decodeStream decodes a multi-document YAML stream.
func decodeStream(dir string, stream []byte) (*rendered, error) {
	r := &rendered{dir: dir}
	var errs []error
	for i, doc := range splitDocuments(string(stream)) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			errs = append(errs, fmt.Errorf("document %d: %w", i, err))
			continue
		}
		key := tm.APIVersion + "/" + tm.Kind
		decode, ok := decoders[key]
		if !ok {
			errs = append(errs, fmt.Errorf("document %d: kind %q is not one this test knows; add its k8s.io/api type to decoders", i, key))
			continue
		}
		meta, err := decode(r, []byte(doc))
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d (%s): %w", i, key, err))
			continue
		}
		r.objects = append(r.objects, objectRef{kind: tm.Kind, name: meta.Name, namespace: meta.Namespace})
	}
	return r, errors.Join(errs...)
}

// splitDocuments splits a YAML stream at its "---" lines.
func splitDocuments(stream string) []string {
	var docs []string
	var cur strings.Builder
	for _, line := range strings.SplitAfter(stream, "\n") {
		if strings.TrimRight(line, " \t\r\n") == "---" {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, cur.String())
}

var (
	renderMu    sync.Mutex
	renderCache = map[string]*rendered{}
)

// mustRender renders and decodes one kustomization under k8s/, once per run.
func mustRender(t *testing.T, dir string) *rendered {
	t.Helper()
	renderMu.Lock()
	defer renderMu.Unlock()
	if r, ok := renderCache[dir]; ok {
		return r
	}
	out, err := exec.Command(mustKubectl(t), "kustomize", dir).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, ee.Stderr)
		}
		t.Fatalf("kubectl kustomize %s: %v", dir, err)
	}
	r, err := decodeStream(dir, out)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	renderCache[dir] = r
	return r
}

// mustKubectl finds kubectl. Without it the test skips, except in CI
// (CI set), where a skip would hide that nothing was checked.
func mustKubectl(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("kubectl is not installed; CI must render the manifests (kubectl kustomize): %v", err)
	}
	t.Skipf("kubectl is not installed, so the manifests cannot be rendered (kubectl kustomize); install kubectl to run this test: %v", err)
	return ""
}

// kustomizations lists k8s/base and every overlay: each folder below k8s/
// holding a kustomization.yaml.
func kustomizations(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "kustomization.yaml" {
			dirs = append(dirs, filepath.ToSlash(filepath.Dir(path)))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(dirs)
	for _, want := range []string{"base", "overlays/dev", "overlays/prod"} {
		if i := sort.SearchStrings(dirs, want); i == len(dirs) || dirs[i] != want {
			t.Fatalf("k8s/%s/kustomization.yaml is missing (found %v)", want, dirs)
		}
	}
	return dirs
}
