package k8s_test

import (
	"context"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/webchatroom/chatroom/internal/testenv"
)

// checkConfigParses runs the binary's own flag and environment parser over
// the container's args and variables. An invalid --log-level makes it stop
// right after parsing, before it starts anything: reaching that error means
// every flag and variable before it was accepted.
func checkConfigParses(t *testing.T, where, bin string, args []string, vars []envVar) {
	t.Helper()
	var env []string
	for _, v := range vars {
		if !v.external {
			env = append(env, v.name+"="+v.value)
		}
	}
	out, code := runBinary(bin, env, append(append([]string{}, args...), "--log-level=not-a-level")...)
	if code != 2 || !strings.Contains(out, `--log-level "not-a-level"`) {
		t.Errorf("%s: the binary refused its configuration (exit %d):\n%s", where, code, out)
	}
}

// checkDependencies starts the container's command as the pod would (its
// args and environment) with NATS pointed at a closed port: a service whose
// NATS, MongoDB or S3 setting is missing stops at the binary's dependency
// check; one that has them all gets as far as connecting to NATS; one that
// needs none (web) starts listening.
func checkDependencies(t *testing.T, where, bin string, args []string, vars []envVar, flags map[string]flagInfo) {
	t.Helper()
	natsEnv := flags["nats-url"].env
	if natsEnv == "" {
		t.Fatal("the binary has no --nats-url flag")
	}
	env := []string{}
	for _, v := range vars {
		value := v.value
		if v.external {
			value = "provided-by-the-operator"
		}
		if v.name == natsEnv && value != "" {
			value = "nats://127.0.0.1:1"
		}
		env = append(env, v.name+"="+value)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Its own port, and the info level that logs "listening".
	cmd := exec.CommandContext(ctx, bin, append(append([]string{}, args...), "--addr=127.0.0.1:0", "--log-level=info")...)
	cmd.Env = env
	var out testenv.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case <-done:
			text := out.String()
			if !strings.Contains(text, "connect nats nats://127.0.0.1:1") {
				t.Errorf("%s: the binary stopped before connecting to NATS:\n%s", where, text)
			}
			return
		case <-time.After(50 * time.Millisecond):
			if strings.Contains(out.String(), "listening") {
				_ = cmd.Process.Kill()
				<-done
				return
			}
		case <-deadline:
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("%s: the binary neither failed on NATS nor listened in 15 s:\n%s", where, out.String())
			return
		}
	}
}

// TestDevDependencies checks the dev overlay's wiring: the NATS, MongoDB
// and S3 endpoints the services are given are Services of the overlay, NATS
// runs JetStream, and MongoDB is the replica set the URI names.
func TestDevDependencies(t *testing.T) {
	r := mustRender(t, "overlays/dev")
	values := r.chatroomSettings(mustFacts(t))
	natsURL, err := url.Parse(values["nats-url"])
	if err != nil || natsURL.Host == "" {
		t.Fatalf("--nats-url %q: %v", values["nats-url"], err)
	}
	nats := r.endpoint(t, natsURL.Host)
	if !nats.hasArg("--jetstream", "-js") {
		t.Errorf("%s serves NATS without JetStream (--jetstream): %q", nats.workload, nats.container.Args)
	}
	mongoURL, err := url.Parse(values["mongo-uri"])
	if err != nil || mongoURL.Host == "" {
		t.Fatalf("--mongo-uri %q: %v", values["mongo-uri"], err)
	}
	set := mongoURL.Query().Get("replicaSet")
	for _, host := range strings.Split(mongoURL.Host, ",") {
		mongo := r.endpoint(t, host)
		if set == "" || !mongo.hasArg("--replSet="+set, "--replSet "+set) {
			t.Errorf("--mongo-uri names replica set %q; %s runs %q", set, mongo.workload, mongo.container.Command)
		}
	}
	r.endpoint(t, values["s3-endpoint"])
}

// chatroomSettings maps flag names to the values the chatroom containers
// get from their environment.
func (r *rendered) chatroomSettings(f *binaryFacts) map[string]string {
	values := map[string]string{}
	for _, w := range r.workloads() {
		for _, c := range w.containers() {
			if cmd := chatroomCommand(c); cmd != "" {
				vars, _ := r.containerEnv(c)
				for _, v := range vars {
					if fl, ok := f.env[cmd][v.name]; ok {
						values[fl.name] = v.value
					}
				}
			}
		}
	}
	return values
}

// endpointPod is the container behind a host:port of the overlay.
type endpointPod struct {
	workload  workload
	container *corev1.Container
}

func (e endpointPod) hasArg(forms ...string) bool {
	line := " " + strings.Join(append(append([]string{}, e.container.Command...), e.container.Args...), " ") + " "
	for _, f := range forms {
		if strings.Contains(line, " "+f+" ") {
			return true
		}
	}
	return false
}

// endpoint resolves host:port — "svc", "svc.ns…" or a StatefulSet pod
// "name-0.svc" — to a Service of the render and the container behind it.
func (r *rendered) endpoint(t *testing.T, hostport string) endpointPod {
	t.Helper()
	host, portText, ok := strings.Cut(hostport, ":")
	port, err := strconv.Atoi(portText)
	if !ok || err != nil {
		t.Fatalf("endpoint %q has no port", hostport)
	}
	parts := strings.Split(host, ".")
	svc := r.service(parts[0])
	pod := ""
	if len(parts) > 1 && r.service(parts[1]) != nil && svc == nil {
		svc, pod = r.service(parts[1]), parts[0]
	}
	if svc == nil {
		t.Fatalf("endpoint %q: no Service of that name in the overlay", hostport)
	}
	sp, err := servicePort(svc, "", int32(port))
	if err != nil {
		t.Fatalf("endpoint %q: %v", hostport, err)
	}
	for _, w := range r.selected(svc.Spec.Selector) {
		if pod != "" && (w.kind != "StatefulSet" || w.serviceName != svc.Name || !strings.HasPrefix(pod, w.name+"-")) {
			continue
		}
		for i := range w.spec.Containers {
			c := &w.spec.Containers[i]
			if _, err := containerPort(c, sp.TargetPort); err == nil {
				return endpointPod{workload: w, container: c}
			}
		}
	}
	t.Fatalf("endpoint %q: no container behind Service %s port %d", hostport, svc.Name, port)
	return endpointPod{}
}
