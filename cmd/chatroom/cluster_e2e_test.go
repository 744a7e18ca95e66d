package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/chattest"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/testenv"
)

// cluster is every service in its own process on the external NATS server,
// FerretDB (MongoDB) and versitygw (S3), behind path-routing proxies like
// the ingress: one proxy per gateway, the same REST backends.
type cluster struct {
	t        *testing.T
	env      []string
	addrs    map[string]string // service → host:port
	procs    map[string]*proc
	siteA    *chatSite // its /ws goes to gateway chat-a
	siteB    chattest.Site
	services []string
}

func startCluster(t *testing.T) *cluster {
	s3 := testenv.VersityGW(t)
	c := &cluster{t: t, addrs: map[string]string{}, procs: map[string]*proc{},
		services: []string{"auth", "presence", "history", "media", "chat-a", "chat-b"}}
	natsURL, prefix := testenv.ExternalNATS(t), "t"+ids.New()[:10]
	t.Cleanup(func() { dropPresenceBucket(natsURL, prefix) })
	c.env = []string{
		"CHATROOM_NATS_URL=" + natsURL, "CHATROOM_NATS_PREFIX=" + prefix,
		"CHATROOM_MONGO_URI=" + testenv.FerretDB(t), "CHATROOM_MONGO_DB=chat",
		"CHATROOM_S3_ENDPOINT=" + s3.Endpoint, "CHATROOM_S3_ACCESS_KEY=" + s3.AccessKey, "CHATROOM_S3_SECRET_KEY=" + s3.SecretKey,
		"CHATROOM_S3_REGION=" + s3.Region, "CHATROOM_S3_BUCKET=chat-" + ids.New()[:8],
		"CHATROOM_CHAT_RATE_COUNT=100000", "CHATROOM_LIMIT_REGISTRATIONS=100000",
	}
	for _, name := range c.services {
		c.addrs[name] = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
		c.start(name)
	}
	c.siteA = &chatSite{Site: chattest.Site{URL: c.proxy("chat-a")}, restartStore: func(t *testing.T) { c.kill("history"); c.start("history") }}
	c.siteB = chattest.Site{URL: c.proxy("chat-b")}
	return c
}

// start runs one service (chat-a and chat-b are both `chatroom chat`).
func (c *cluster) start(name string) {
	cmd := strings.TrimSuffix(strings.TrimSuffix(name, "-a"), "-b")
	c.procs[name] = MustStart(c.t, c.env, cmd, "--addr", c.addrs[name])
	testenv.WaitHTTP(c.t, "http://"+c.addrs[name]+"/readyz", 30*time.Second)
}

// kill ends a service with SIGKILL.
func (c *cluster) kill(name string) { c.procs[name].Kill() }

// proxy routes like the Ingress (k8s/base/ingress.yaml): /ws to the given
// gateway, the rest by path to the services this cluster runs.
func (c *cluster) proxy(gateway string) string {
	routes := ingressRoutes(c.t)
	route := func(path string) string {
		r, _ := matchRoute(routes, path)
		if r.service == "chat" {
			return gateway
		}
		if _, ok := c.addrs[r.service]; !ok {
			return "" // the web UI is not part of this cluster
		}
		return r.service
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(&url.URL{Scheme: "http", Host: c.addrs[route(r.In.URL.Path)]})
		r.Out.Host = r.In.Host // the services check Origin against the public host
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route(r.URL.Path) == "" {
			http.NotFound(w, r)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	c.t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestChatCluster(t *testing.T) {
	c := startCluster(t)
	runChatScenarios(t, c.siteA)
	t.Run("users on two gateways chat and see one count", func(t *testing.T) {
		annCookie, bobCookie := c.siteA.MustLogin(t, uniq("ga")), c.siteB.MustLogin(t, uniq("gb"))
		a, b := c.siteA.MustDial(t, annCookie), c.siteB.MustDial(t, bobCookie)
		sendText(t, a, "lobby", "x-1", "across gateways")
		ack(t, a, "x-1")
		nextMessage(t, b, "across gateways")
		_, pa := c.siteA.Do(t, annCookie, "GET", "/api/presence", nil)
		_, pb := c.siteB.Do(t, bobCookie, "GET", "/api/presence", nil)
		if pa["online_count"] != pb["online_count"] {
			t.Fatalf("counts differ: %v vs %v", pa["online_count"], pb["online_count"])
		}
	})
	t.Run("a killed gateway's users go offline within 15 s", func(t *testing.T) {
		watcher := c.siteA.MustDial(t, c.siteA.MustLogin(t, uniq("w")))
		victim := c.siteB.MustDial(t, c.siteB.MustLogin(t, uniq("v")))
		presenceOf(t, watcher, victim.Me, 5*time.Second, true)
		c.kill("chat-b")
		start := time.Now()
		left := presenceOf(t, watcher, victim.Me, 15*time.Second, true)
		if left["online"] != false {
			t.Fatalf("presence %v", left)
		}
		t.Logf("offline %v after the gateway died", time.Since(start).Round(100*time.Millisecond))
		c.start("chat-b")
	})
}
