// What the cluster scenarios do to a running local cluster: kill and
// restart processes, read their metrics, find a socket's gateway.

//go:build clustertest

package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/chattest"
)

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
