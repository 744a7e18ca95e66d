package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/chattest"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/testenv"
)

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
