package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/chattest"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/testenv"
)

// needClusterTest leaves the local-cluster tests to `make cluster-test`,
// the part of `make test` that builds the binary they start: each starts a
// dozen processes behind nginx for minutes, so `go test ./...` (which
// `make test` also runs) does not run them a second time.
func needClusterTest(t *testing.T) {
	if os.Getenv("CHATROOM_CLUSTER_TEST") == "" {
		t.Skip("runs in `make cluster-test` (part of `make test`), which builds bin/chatroom and sets CHATROOM_CLUSTER_TEST=1")
	}
	needNginx(t)
}

// needNginx fails without nginx: it is the local cluster's ingress.
func needNginx(tb testing.TB) {
	if _, err := exec.LookPath("nginx"); err != nil {
		tb.Fatal("nginx is not installed (Debian: apt-get install nginx): it is the local cluster's ingress")
	}
}

// replicaCounts is how many processes of each sub-command the local
// cluster runs: every stateful path twice, to prove replicas agree.
var replicaCounts = map[string]int{"chat": 2, "history": 2, "presence": 2, "auth": 1, "media": 1, "web": 1}

// backing is what the services of a local cluster run on.
type backing struct {
	natsURL  string
	mongoURI string
	s3       testenv.S3
}

// localCluster is the cluster deployment on loopback: each service in its
// own processes (replicaCounts) on NATS, MongoDB (FerretDB) and S3
// (versitygw), behind nginx configured from the Ingress.
type localCluster struct {
	t      testing.TB
	env    []string
	prefix string
	addrs  map[string]string // process (chat-1, auth-1, …) → host:port
	procs  map[string]*proc
	nginx  *proc
	URL    string   // the site, through nginx
	args   []string // flags every process got
}

// startLocalCluster starts every process on fresh names (NATS prefix,
// database, bucket) of b, with the flags args, and waits until each is
// ready and nginx serves the site.
func startLocalCluster(t testing.TB, b backing, args ...string) *localCluster {
	t.Helper()
	id := ids.New()[:10]
	c := &localCluster{t: t, prefix: "c" + id, addrs: map[string]string{}, procs: map[string]*proc{}, args: args}
	c.env = []string{
		"CHATROOM_NATS_URL=" + b.natsURL, "CHATROOM_NATS_PREFIX=" + c.prefix,
		"CHATROOM_MONGO_URI=" + b.mongoURI, "CHATROOM_MONGO_DB=c" + id,
		"CHATROOM_S3_ENDPOINT=" + b.s3.Endpoint, "CHATROOM_S3_ACCESS_KEY=" + b.s3.AccessKey, "CHATROOM_S3_SECRET_KEY=" + b.s3.SecretKey,
		"CHATROOM_S3_REGION=" + b.s3.Region, "CHATROOM_S3_BUCKET=c-" + id,
		"CHATROOM_TRUSTED_PROXIES=127.0.0.1", "CHATROOM_LOG_LEVEL=warn",
	}
	t.Cleanup(func() { dropPresenceBucket(b.natsURL, c.prefix) })
	upstreams := map[string][]string{}
	for svc, n := range replicaCounts {
		for i := 1; i <= n; i++ {
			name := fmt.Sprintf("%s-%d", svc, i)
			c.addrs[name] = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
			upstreams[svc] = append(upstreams[svc], c.addrs[name])
		}
	}
	// auth first: it creates the bucket and indexes the others would race for
	c.run("auth-1")
	c.waitReady("auth-1")
	for _, name := range c.names() {
		if name != "auth-1" {
			c.run(name)
		}
	}
	for _, name := range c.names() {
		c.waitReady(name)
	}
	dir := t.TempDir()
	port := testenv.FreePort(t)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConfig(dir, fmt.Sprintf("127.0.0.1:%d", port), ingressRoutes(t), upstreams)), 0o644); err != nil {
		t.Fatal(err)
	}
	// SIGTERM: nginx ends its workers too (they hold its stderr)
	c.nginx = mustRun(t, "nginx", syscall.SIGTERM, nil, "-p", dir, "-c", conf, "-e", "stderr")
	c.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	testenv.WaitHTTP(t, c.URL+"/", 10*time.Second)
	return c
}

// names lists the processes, sorted.
func (c *localCluster) names() []string {
	var out []string
	for name := range c.addrs {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// run starts one process: chat-2 is `chatroom chat --addr …`.
func (c *localCluster) run(name string) {
	cmd := name[:strings.LastIndexByte(name, '-')]
	c.procs[name] = MustStart(c.t, c.env, append([]string{cmd, "--addr", c.addrs[name]}, c.args...)...)
}

func (c *localCluster) waitReady(name string) {
	c.t.Helper()
	testenv.WaitHTTP(c.t, "http://"+c.addrs[name]+"/readyz", 30*time.Second)
}

// kill ends a process with SIGKILL; restart starts it again, ready.
func (c *localCluster) kill(name string) { c.procs[name].Kill() }

func (c *localCluster) restart(name string) {
	c.run(name)
	c.waitReady(name)
}

// stop ends every process and nginx.
func (c *localCluster) stop() {
	for _, p := range c.procs {
		p.Kill()
	}
	c.nginx.Kill()
}

// dropPresenceBucket deletes the presence bucket a cluster with the
// subject prefix made, so none is left on a shared NATS server.
func dropPresenceBucket(natsURL, prefix string) {
	conn, err := bus.Connect(bus.Options{URL: natsURL, Prefix: prefix, Name: "cleanup", Log: chattest.QuietLog})
	if err != nil {
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if b, err := conn.Bucket(ctx, "presence", ""); err == nil {
		_ = b.Destroy(ctx)
	}
}

// metric reads one unlabelled metric of a process's /metrics.
func (c *localCluster) metric(name, metric string) float64 {
	c.t.Helper()
	resp, err := http.Get("http://" + c.addrs[name] + "/metrics")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(metric) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		c.t.Fatalf("%s has no %s", name, metric)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		c.t.Fatal(err)
	}
	return v
}

// gatewayConns is the open WebSockets of each gateway.
func (c *localCluster) gatewayConns() map[string]float64 {
	out := map[string]float64{}
	for i := 1; i <= replicaCounts["chat"]; i++ {
		name := fmt.Sprintf("chat-%d", i)
		if p := c.procs[name]; p != nil && len(p.done) == 0 {
			out[name] = c.metric(name, "chatroom_ws_connections")
		}
	}
	return out
}

// dialOn opens a WebSocket through nginx until it lands on gateway (nginx
// takes turns); "" takes any. It returns the client and its gateway.
func (c *localCluster) dialOn(t *testing.T, cookie, gateway string) (*chattest.Client, string) {
	t.Helper()
	site := chattest.Site{URL: c.URL}
	// nginx skips a gateway for a while after it failed (fail_timeout)
	for start := time.Now(); time.Since(start) < 15*time.Second; time.Sleep(200 * time.Millisecond) {
		before := c.gatewayConns()
		cl := site.MustDial(t, cookie)
		var on string
		deadline := time.Now().Add(3 * time.Second)
		for on == "" && time.Now().Before(deadline) {
			for name, n := range c.gatewayConns() {
				if n > before[name] {
					on = name
				}
			}
			if on == "" {
				time.Sleep(20 * time.Millisecond)
			}
		}
		if on == "" {
			t.Fatal("no gateway counts the new connection")
		}
		if gateway == "" || on == gateway {
			return cl, on
		}
		_ = cl.WS.Close()
		waitFor(t, 3*time.Second, func() bool { return c.gatewayConns()[on] == before[on] })
	}
	t.Fatalf("nginx never sent a WebSocket to %s", gateway)
	return nil, ""
}

// presenceOfEach asks every presence replica directly (not through nginx)
// for GET /api/presence.
func (c *localCluster) presenceOfEach(t *testing.T, cookie string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for i := 1; i <= replicaCounts["presence"]; i++ {
		status, body := chattest.Site{URL: "http://" + c.addrs[fmt.Sprintf("presence-%d", i)]}.Do(t, cookie, "GET", "/api/presence", nil)
		if status != 200 {
			t.Fatalf("presence-%d: %d %v", i, status, body)
		}
		out = append(out, body)
	}
	return out
}

// onlineIDs is the set of user IDs of a GET /api/presence body, sorted.
func onlineIDs(body map[string]any) []string {
	var out []string
	for _, u := range body["users"].([]any) {
		out = append(out, u.(map[string]any)["id"].(string))
	}
	slices.Sort(out)
	return out
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
