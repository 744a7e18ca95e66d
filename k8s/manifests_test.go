package k8s_test

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// image is the chatroom image's name in the manifests; skaffold replaces it.
const image = "chatroom"

// externalObjects are objects an overlay refers to but leaves to the
// operator: production credentials are never in git.
var externalObjects = map[string][]string{
	"overlays/prod": {"Secret/chatroom-secrets"},
}

// shutdownSeconds is the least time a chatroom pod needs after its preStop
// pause: cmd/chatroom/main.go gives the HTTP server 10 s to finish, and the
// gateway waits 1 s for its clients to answer the close (services/chat).
const shutdownSeconds = 15

// TestManifests renders k8s/base and every overlay and checks each.
func TestManifests(t *testing.T) {
	for _, dir := range kustomizations(t) {
		t.Run(strings.ReplaceAll(dir, "/", "_"), func(t *testing.T) {
			r := mustRender(t, dir)
			t.Run("namespace", func(t *testing.T) { checkNamespace(t, r) })
			t.Run("containers", func(t *testing.T) { checkContainers(t, r) })
			t.Run("chatroom", func(t *testing.T) { checkChatroomContainers(t, r, mustFacts(t)) })
			t.Run("services", func(t *testing.T) { checkServices(t, r) })
			t.Run("ingress", func(t *testing.T) { checkIngress(t, r, mustFacts(t)) })
			t.Run("scaling", func(t *testing.T) { checkScaling(t, r) })
		})
	}
}

// checkNamespace: one Namespace, and every object in it, so that names
// (ConfigMap hashes, Services, Secrets) resolve where they are used.
func checkNamespace(t *testing.T, r *rendered) {
	if len(r.namespaces) != 1 {
		t.Fatalf("%d Namespace objects, want 1", len(r.namespaces))
	}
	ns := r.namespaces[0].Name
	if got := r.namespaces[0].Labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
		t.Errorf("Namespace %s: pod-security.kubernetes.io/enforce=%q, want restricted", ns, got)
	}
	for _, o := range r.objects {
		if o.kind != "Namespace" && o.namespace != ns {
			t.Errorf("%s %s is in namespace %q, want %q", o.kind, o.name, o.namespace, ns)
		}
	}
}

// checkContainers: resources, a locked-down security context, probes on
// long-running containers, and references that resolve, for every container.
func checkContainers(t *testing.T, r *rendered) {
	accounts := map[string]bool{}
	for _, sa := range r.serviceAccounts {
		accounts[sa.Name] = true
	}
	for _, w := range r.workloads() {
		if sa := w.spec.ServiceAccountName; sa != "" && !accounts[sa] {
			t.Errorf("%s: ServiceAccount %q is not in the render", w, sa)
		}
		if w.spec.AutomountServiceAccountToken == nil || *w.spec.AutomountServiceAccountToken {
			t.Errorf("%s: automountServiceAccountToken must be false (no pod here talks to the API server)", w)
		}
		volumes := map[string]bool{}
		for _, v := range w.spec.Volumes {
			volumes[v.Name] = true
		}
		for _, c := range w.claims {
			volumes[c] = true
		}
		for _, c := range w.containers() {
			where := fmt.Sprintf("%s container %s", w, c.Name)
			checkResources(t, where, c.Resources)
			checkSecurity(t, where, w.spec.SecurityContext, c.SecurityContext)
			for _, m := range c.VolumeMounts {
				if !volumes[m.Name] {
					t.Errorf("%s: volume mount %q names no volume", where, m.Name)
				}
			}
			if _, errs := r.containerEnv(c); len(errs) > 0 {
				for _, err := range errs {
					t.Errorf("%s: %v", where, err)
				}
			}
			if !w.longRunning {
				continue
			}
			for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
				if p == nil {
					t.Errorf("%s: no %s probe", where, name)
					continue
				}
				if port, ok := probePort(p); ok {
					if _, err := containerPort(c, port); err != nil {
						t.Errorf("%s: %s probe: %v", where, name, err)
					}
				}
			}
		}
	}
}

func checkResources(t *testing.T, where string, res corev1.ResourceRequirements) {
	t.Helper()
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := res.Requests[name]
		lim, hasLim := res.Limits[name]
		if !hasReq || !hasLim {
			t.Errorf("%s: %s needs a request and a limit (requests %v, limits %v)", where, name, res.Requests, res.Limits)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s is above its limit %s", where, name, req.String(), lim.String())
		}
	}
}

// checkSecurity checks the container's effective security context: the
// Pod Security Standard "restricted" plus a read-only root filesystem.
func checkSecurity(t *testing.T, where string, pod *corev1.PodSecurityContext, c *corev1.SecurityContext) {
	t.Helper()
	if c == nil {
		t.Errorf("%s: no securityContext", where)
		return
	}
	if c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation must be false", where)
	}
	if c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem {
		t.Errorf("%s: readOnlyRootFilesystem must be true", where)
	}
	if c.Privileged != nil && *c.Privileged {
		t.Errorf("%s: privileged", where)
	}
	if c.Capabilities == nil || !slices.Contains(c.Capabilities.Drop, "ALL") || len(c.Capabilities.Add) > 0 {
		t.Errorf("%s: capabilities must drop ALL and add none: %+v", where, c.Capabilities)
	}
	nonRoot := c.RunAsNonRoot
	user := c.RunAsUser
	seccomp := c.SeccompProfile
	if pod != nil {
		if nonRoot == nil {
			nonRoot = pod.RunAsNonRoot
		}
		if user == nil {
			user = pod.RunAsUser
		}
		if seccomp == nil {
			seccomp = pod.SeccompProfile
		}
	}
	if nonRoot == nil || !*nonRoot {
		t.Errorf("%s: runAsNonRoot must be true", where)
	}
	if user != nil && *user == 0 {
		t.Errorf("%s: runAsUser 0", where)
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: seccompProfile must be RuntimeDefault: %+v", where, seccomp)
	}
}

func probePort(p *corev1.Probe) (intstr.IntOrString, bool) {
	switch {
	case p.HTTPGet != nil:
		return p.HTTPGet.Port, true
	case p.TCPSocket != nil:
		return p.TCPSocket.Port, true
	case p.GRPC != nil:
		return intstr.FromInt32(p.GRPC.Port), true
	}
	return intstr.IntOrString{}, false
}

// containerPort resolves a port by name or number on the container.
func containerPort(c *corev1.Container, port intstr.IntOrString) (int32, error) {
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return p.ContainerPort, nil
		}
	}
	return 0, fmt.Errorf("port %s is not a port of container %s", port.String(), c.Name)
}

// chatroomCommand is the sub-command a chatroom container runs.
func chatroomCommand(c *corev1.Container) string {
	if c.Image != image || len(c.Args) == 0 {
		return ""
	}
	return c.Args[0]
}

// checkChatroomContainers checks every container of the chatroom image
// against the binary itself: a real sub-command, only flags and variables
// it reads, values its parser accepts, the dependencies the command needs,
// probes on /healthz and /readyz at its listen port.
func checkChatroomContainers(t *testing.T, r *rendered, f *binaryFacts) {
	deployed := map[string]int{}
	for _, w := range r.workloads() {
		for _, c := range w.containers() {
			if c.Image != image {
				continue
			}
			where := fmt.Sprintf("%s container %s", w, c.Name)
			if len(c.Command) > 0 {
				t.Errorf("%s: command %q replaces the image's entrypoint; give the sub-command in args", where, c.Command)
			}
			cmd := chatroomCommand(c)
			flags, ok := f.flags[cmd]
			if !ok || cmd == "all" {
				t.Errorf("%s: args %q: the first must be one of the binary's services %v (not `all`: one service per pod)", where, c.Args, f.commands)
				continue
			}
			if w.kind == "Deployment" {
				deployed[cmd]++
			}
			argAddr, hasArgAddr := "", false
			for i := 1; i < len(c.Args); i++ {
				name, value, hasValue := strings.Cut(strings.TrimLeft(c.Args[i], "-"), "=")
				fl, known := flags[name]
				if !strings.HasPrefix(c.Args[i], "-") || !known {
					t.Errorf("%s: argument %q is not a flag of `chatroom %s`", where, c.Args[i], cmd)
					continue
				}
				if !hasValue && !fl.bool && i+1 < len(c.Args) {
					i++
					value = c.Args[i]
				}
				if name == "addr" {
					argAddr, hasArgAddr = value, true
				}
			}
			vars, _ := r.containerEnv(c)
			addr := flags["addr"].def
			for _, v := range vars {
				if _, ok := f.env[cmd][v.name]; !ok {
					t.Errorf("%s: environment variable %s is not one `chatroom %s` reads", where, v.name, cmd)
				}
				if v.name == flags["addr"].env {
					addr = v.value
				}
			}
			if hasArgAddr { // a flag wins over the environment
				addr = argAddr
			}
			checkProbes(t, where, c, addr)
			checkPodShutdown(t, where, w.spec)
			checkTmp(t, where, c)
			checkConfigParses(t, where, f.bin, c.Args, vars)
			checkDependencies(t, where, f.bin, c.Args, vars, flags)
		}
	}
	if len(r.deployments) == 0 {
		return
	}
	for _, cmd := range f.commands {
		if cmd != "all" && deployed[cmd] != 1 {
			t.Errorf("%d Deployments run `chatroom %s`, want 1 per service", deployed[cmd], cmd)
		}
	}
}

// checkProbes: liveness on /healthz and readiness on /readyz, on the port
// the binary listens on.
func checkProbes(t *testing.T, where string, c *corev1.Container, addr string) {
	t.Helper()
	_, portText, err := net.SplitHostPort(addr)
	listen, perr := strconv.Atoi(portText)
	if err != nil || perr != nil {
		t.Errorf("%s: listen address %q has no port", where, addr)
		return
	}
	for _, p := range []struct {
		name, path string
		probe      *corev1.Probe
	}{{"liveness", "/healthz", c.LivenessProbe}, {"readiness", "/readyz", c.ReadinessProbe}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: %s probe must be an HTTP GET of %s", where, p.name, p.path)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s: %s probe path %q, want %s", where, p.name, p.probe.HTTPGet.Path, p.path)
		}
		port, err := containerPort(c, p.probe.HTTPGet.Port)
		if err != nil {
			t.Errorf("%s: %s probe: %v", where, p.name, err)
		} else if int(port) != listen {
			t.Errorf("%s: %s probe on port %d, but the binary listens on %q", where, p.name, port, addr)
		}
	}
}

// checkPodShutdown: the grace period covers the preStop pause and the
// binary's own graceful shutdown.
func checkPodShutdown(t *testing.T, where string, spec *corev1.PodSpec) {
	t.Helper()
	pause := int64(0)
	for _, c := range spec.Containers {
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
			pause = max(pause, c.Lifecycle.PreStop.Sleep.Seconds)
		}
	}
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if spec.TerminationGracePeriodSeconds != nil {
		grace = *spec.TerminationGracePeriodSeconds
	}
	if grace < pause+shutdownSeconds {
		t.Errorf("%s: terminationGracePeriodSeconds %d < preStop %d s + shutdown %d s", where, grace, pause, shutdownSeconds)
	}
}

// checkTmp: with a read-only root, TMPDIR (/tmp) must be a volume: uploads
// past the multipart memory threshold spill there.
func checkTmp(t *testing.T, where string, c *corev1.Container) {
	t.Helper()
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/tmp" && !m.ReadOnly }) {
		t.Errorf("%s: no writable volume at /tmp", where)
	}
}
