package k8s_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// routes is the site's path routing (docs/architecture.md, DESIGN §3): the
// Ingress must send each path to the Service whose pods run that command.
var routes = map[string]string{
	"/":                  "web",
	"/ws":                "chat",
	"/api/auth":          "auth",
	"/api/users":         "auth",
	"/api/presence":      "presence",
	"/api/media":         "media",
	"/api/conversations": "history",
	"/api/search":        "history",
}

// gatewayIdleSeconds is how long the gateway lets a WebSocket stay silent
// (DESIGN §4: ping every 25 s, drop after 60 s); the ingress must wait longer.
const gatewayIdleSeconds = 60

// selected returns the long-running workloads whose pods match selector.
func (r *rendered) selected(selector map[string]string) []workload {
	if len(selector) == 0 {
		return nil
	}
	var ws []workload
	for _, w := range r.workloads() {
		if w.longRunning && labels.SelectorFromSet(selector).Matches(labels.Set(w.labels)) {
			ws = append(ws, w)
		}
	}
	return ws
}

func (r *rendered) service(name string) *corev1.Service {
	for _, s := range r.services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// servicePort resolves a Service port by name or number.
func servicePort(s *corev1.Service, name string, number int32) (*corev1.ServicePort, error) {
	for i, p := range s.Spec.Ports {
		if (name != "" && p.Name == name) || (name == "" && p.Port == number) {
			return &s.Spec.Ports[i], nil
		}
	}
	return nil, fmt.Errorf("Service %s has no port %q/%d", s.Name, name, number)
}

// checkServices: each Service selects the pods of some Deployment or
// StatefulSet, and each target port is a port of their containers.
func checkServices(t *testing.T, r *rendered) {
	for _, s := range r.services {
		ws := r.selected(s.Spec.Selector)
		if len(ws) == 0 {
			t.Errorf("Service %s: selector %v matches no Deployment or StatefulSet", s.Name, s.Spec.Selector)
			continue
		}
		for _, p := range s.Spec.Ports {
			target := p.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(p.Port)
			}
			for _, w := range ws {
				found := false
				for _, c := range w.spec.Containers {
					if _, err := containerPort(&c, target); err == nil {
						found = true
					}
				}
				if !found {
					t.Errorf("Service %s port %s: target port %s is on no container of %s", s.Name, p.Name, target.String(), w)
				}
			}
		}
	}
}

// backendCommand resolves an Ingress backend to the Service and port it
// names, and returns the chatroom command its pods run ("" for others).
func (r *rendered) backendCommand(b networkingv1.IngressBackend) (string, error) {
	if b.Service == nil {
		return "", fmt.Errorf("backend %+v names no Service", b)
	}
	s := r.service(b.Service.Name)
	if s == nil {
		return "", fmt.Errorf("Service %q is not in the render", b.Service.Name)
	}
	if _, err := servicePort(s, b.Service.Port.Name, b.Service.Port.Number); err != nil {
		return "", err
	}
	for _, w := range r.selected(s.Spec.Selector) {
		for _, c := range w.spec.Containers {
			if cmd := chatroomCommand(&c); cmd != "" {
				return cmd, nil
			}
		}
	}
	return "", nil
}

// checkIngress: every backend exists; the routing table holds; the
// WebSocket outlives the gateway's idle timeout; uploads fit the body limit.
func checkIngress(t *testing.T, r *rendered, f *binaryFacts) {
	if len(r.ingresses) == 0 {
		t.Fatal("no Ingress")
	}
	found := map[string]bool{}
	for _, ing := range r.ingresses {
		if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName == "" {
			t.Errorf("Ingress %s: no ingressClassName", ing.Name)
		}
		if ing.Spec.DefaultBackend != nil {
			if _, err := r.backendCommand(*ing.Spec.DefaultBackend); err != nil {
				t.Errorf("Ingress %s default backend: %v", ing.Name, err)
			}
		}
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				cmd, err := r.backendCommand(p.Backend)
				if err != nil {
					t.Errorf("Ingress %s path %s: %v", ing.Name, p.Path, err)
					continue
				}
				want, routed := routes[p.Path]
				if routed && cmd != want {
					t.Errorf("Ingress %s: %s goes to pods running %q, want %q", ing.Name, p.Path, cmd, want)
				}
				if !routed {
					t.Errorf("Ingress %s: path %s is not part of the site's routing %v", ing.Name, p.Path, routes)
				}
				found[p.Path] = true
				checkIngressPath(t, ing.ObjectMeta, p.Path, f)
			}
		}
	}
	for path, cmd := range routes {
		if !found[path] {
			t.Errorf("no Ingress routes %s (to %s)", path, cmd)
		}
	}
}

// checkIngressPath checks the annotations one path needs.
func checkIngressPath(t *testing.T, ing metav1.ObjectMeta, path string, f *binaryFacts) {
	t.Helper()
	a := ing.Annotations
	switch routes[path] {
	case "chat":
		for _, key := range []string{"nginx.ingress.kubernetes.io/proxy-read-timeout", "nginx.ingress.kubernetes.io/proxy-send-timeout"} {
			if s, err := strconv.Atoi(a[key]); err != nil || s <= gatewayIdleSeconds {
				t.Errorf("Ingress %s (%s): %s=%q, want more than the gateway's %d s idle timeout", ing.Name, path, key, a[key], gatewayIdleSeconds)
			}
		}
	case "media", "auth":
		// The largest upload this path takes, from the binary's defaults:
		// media adds 1 MiB for the form (cmd/chatroom bodyLimit).
		flag, extra := "limit-image-bytes", int64(1<<20)
		if routes[path] == "auth" {
			flag, extra = "limit-avatar-bytes", 0
		}
		limit, err := strconv.ParseInt(f.flags[routes[path]][flag].def, 10, 64)
		if err != nil {
			t.Fatalf("default of --%s: %v", flag, err)
		}
		body, err := nginxSize(a["nginx.ingress.kubernetes.io/proxy-body-size"])
		if err != nil || body < limit+extra {
			t.Errorf("Ingress %s (%s): proxy-body-size %q (%v), want at least %d bytes (--%s %d)", ing.Name, path, a["nginx.ingress.kubernetes.io/proxy-body-size"], err, limit+extra, flag, limit)
		}
	}
}

// nginxSize parses an nginx size: bytes, or a k/m/g suffix.
func nginxSize(s string) (int64, error) {
	mult := int64(1)
	switch strings.ToLower(s[len(s)-min(1, len(s)):]) {
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

// checkScaling: autoscalers and disruption budgets aim at existing
// Deployments; in production every service has both and two replicas at least.
func checkScaling(t *testing.T, r *rendered) {
	scaled, budgeted := map[string]int{}, map[string]int{}
	for _, h := range r.autoscalers {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || !r.hasDeployment(ref.Name) {
			t.Errorf("HorizontalPodAutoscaler %s: target %s %s/%s is not a Deployment of the render", h.Name, ref.APIVersion, ref.Kind, ref.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			t.Errorf("HorizontalPodAutoscaler %s: min %v, max %d; want 2 ≤ min ≤ max", h.Name, h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
		scaled[ref.Name]++
	}
	for _, b := range r.budgets {
		sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		if err != nil || sel.Empty() {
			t.Errorf("PodDisruptionBudget %s: selector %v (%v)", b.Name, b.Spec.Selector, err)
			continue
		}
		n := 0
		for _, d := range r.deployments {
			if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				budgeted[d.Name]++
				n++
			}
		}
		if n == 0 {
			t.Errorf("PodDisruptionBudget %s: selector %v matches no Deployment's pods", b.Name, b.Spec.Selector)
		}
	}
	if r.dir != "overlays/prod" {
		return
	}
	for _, d := range r.deployments {
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
			t.Errorf("Deployment %s: replicas %v, want at least 2 in production", d.Name, d.Spec.Replicas)
		}
		if scaled[d.Name] != 1 || budgeted[d.Name] != 1 {
			t.Errorf("Deployment %s: %d autoscalers and %d disruption budgets, want 1 each", d.Name, scaled[d.Name], budgeted[d.Name])
		}
	}
}

func (r *rendered) hasDeployment(name string) bool {
	for _, d := range r.deployments {
		if d.Name == name {
			return true
		}
	}
	return false
}
