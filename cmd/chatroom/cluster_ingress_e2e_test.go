// The local-cluster tests start a dozen processes behind nginx for
// minutes: `make cluster-test` (part of `make test`) builds bin/chatroom
// and runs them with -tags clustertest; `go test ./...` leaves them out.

//go:build clustertest

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/chattest"
	"github.com/webchatroom/chatroom/internal/testenv"
)

// clusterArgs are the flags of the scenario cluster: the limits raised as
// for the `chatroom all` scenarios, a shorter drain to keep the test short.
var clusterArgs = []string{"--chat-rate-count", "100000", "--limit-registrations", "100000", "--chat-drain", "2s"}

// TestIngressCluster is proof 3 of issue 6: the cluster deployment on
// loopback, every request through nginx configured from the Ingress, on a
// NATS server of the test's own (so it can be stopped and started).
func TestIngressCluster(t *testing.T) {
	needNginx(t)
	nats := testenv.StartNATS(t)
	c := startLocalCluster(t, backing{natsURL: nats.URL, mongoURI: testenv.FerretDB(t), s3: testenv.VersityGW(t)}, clusterArgs...)
	site := &chatSite{Site: chattest.Site{URL: c.URL}, restartStore: func(t *testing.T) {
		c.kill("history-1") // its twin goes on answering
		c.restart("history-1")
	}}
	runChatScenarios(t, site)
	t.Run("users on two gateways chat and see one count", func(t *testing.T) { testTwoGateways(t, c) })
	t.Run("a killed gateway's users reconnect to the other", func(t *testing.T) { testGatewayKilled(t, c) })
	t.Run("a stopped gateway moves its users to the other", func(t *testing.T) { testGatewayDrained(t, c) })
	t.Run("NATS stops and starts again", func(t *testing.T) { testNATSRestart(t, c, nats) })
}

func testTwoGateways(t *testing.T, c *localCluster) {
	site := chattest.Site{URL: c.URL}
	annCookie, bobCookie := site.MustLogin(t, uniq("ann")), site.MustLogin(t, uniq("bob"))
	ann, annOn := c.dialOn(t, annCookie, "")
	other := "chat-1"
	if annOn == other {
		other = "chat-2"
	}
	bob, _ := c.dialOn(t, bobCookie, other)
	presenceOf(t, ann, bob.Me, 5*time.Second, true)
	sendText(t, ann, "lobby", "two-1", "from "+annOn)
	ack(t, ann, "two-1")
	nextMessage(t, bob, "from "+annOn)
	sendText(t, bob, "lobby", "two-2", "from "+other)
	ack(t, bob, "two-2")
	nextMessage(t, ann, "from "+other)

	answers := c.presenceOfEach(t, annCookie)
	for i, a := range answers {
		if a["online_count"] != answers[0]["online_count"] || !slices.Equal(onlineIDs(a), onlineIDs(answers[0])) {
			t.Fatalf("presence replicas differ: %d says %v, 1 says %v", i+1, a, answers[0])
		}
	}
	ids := onlineIDs(answers[0])
	if !slices.Contains(ids, ann.Me) || !slices.Contains(ids, bob.Me) {
		t.Fatalf("ann and bob are not both online: %v", ids)
	}
	// the count each user sees through nginx, which takes turns between replicas
	for _, cookie := range []string{annCookie, bobCookie, annCookie, bobCookie} {
		if _, body := site.Do(t, cookie, "GET", "/api/presence", nil); body["online_count"] != answers[0]["online_count"] {
			t.Fatalf("through nginx: %v, replicas say %v", body["online_count"], answers[0]["online_count"])
		}
	}
}

// resilientClient is a browser tab as the web client behaves: when its
// socket drops it dials again, fetches what it missed after the last seq
// it saw, and sends again (same client_id) what was not acknowledged.
type resilientClient struct {
	site    chattest.Site
	cookie  string
	ws      *chattest.Client
	seen    map[int]int // lobby seq → frames and fetches that brought it
	live    map[int]int // lobby seq → message frames on the sockets
	lastSeq int
	debug   string
}

// read takes the frames of the current socket until it closes or d
// passes; it reports whether the socket closed.
func (r *resilientClient) read(d time.Duration) bool {
	closed, _ := r.readUntil(d, "")
	return closed
}

// readUntil is read that stops early at the ack or error of clientID and
// returns it.
func (r *resilientClient) readUntil(d time.Duration, clientID string) (bool, map[string]any) {
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-r.ws.Frames:
			if !ok {
				return true, nil
			}
			if f["type"] == "message" || f["type"] == "ack" { // its own messages come as acks
				m := f["message"].(map[string]any)
				if m["conversation_id"] == "lobby" {
					seq := int(m["seq"].(float64))
					if f["type"] == "message" {
						r.live[seq]++
					}
					r.seen[seq]++
					r.lastSeq = max(r.lastSeq, seq)
				}
			}
			if clientID != "" && f["client_id"] == clientID && (f["type"] == "ack" || f["type"] == "error") {
				return false, f
			}
		case <-deadline:
			return false, nil
		}
	}
}

// reconnect dials until a gateway answers, then fetches what came after
// the last seq it saw.
func (r *resilientClient) reconnect(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ws, _, err := r.site.Dial(t, r.cookie)
		if err == nil {
			ws.Next(t, "ready")
			r.ws = ws
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("no gateway took the connection again within 10 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start)
	r.debug = fmt.Sprintf("ready %s, fetch after %d:", time.Now().UTC().Format("15:04:05.000"), r.lastSeq)
	for _, m := range allMessages(t, &chatSite{Site: r.site}, r.cookie, "lobby", r.lastSeq) {
		seq := int(m["seq"].(float64))
		r.debug += fmt.Sprintf(" %d", seq)
		r.seen[seq]++
		r.lastSeq = max(r.lastSeq, seq)
	}
	return took
}

func testGatewayKilled(t *testing.T, c *localCluster) {
	site := chattest.Site{URL: c.URL}
	// on chat-1, about to die: vic, who comes back, and lea, who does not
	// (a closed laptop); on chat-2: a watcher and a sender
	vicCookie := site.MustLogin(t, uniq("vic"))
	defer c.restart("chat-1") // for the next scenarios, also when this one fails
	vicWS, _ := c.dialOn(t, vicCookie, "chat-1")
	lea, _ := c.dialOn(t, site.MustLogin(t, uniq("lea")), "chat-1")
	watcher, _ := c.dialOn(t, site.MustLogin(t, uniq("wat")), "chat-2")
	sender, _ := c.dialOn(t, site.MustLogin(t, uniq("sen")), "chat-2")
	vic := &resilientClient{site: site, cookie: vicCookie, ws: vicWS, seen: map[int]int{}, live: map[int]int{}}

	// the sender talks all along, one message every 20 ms, each acknowledged
	stop := make(chan struct{})
	var acked []int
	var sendErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			id := fmt.Sprintf("kill-%d", i)
			b, _ := json.Marshal(map[string]any{"type": "send", "client_id": id, "conversation_id": "lobby", "kind": "text", "text": id})
			if err := sender.WS.WriteMessage(1, b); err != nil {
				sendErr = err
				return
			}
			for f := range sender.Frames {
				if f["client_id"] == id && f["type"] == "ack" {
					acked = append(acked, int(f["message"].(map[string]any)["seq"].(float64)))
					break
				}
				if f["client_id"] == id && f["type"] == "error" {
					sendErr = fmt.Errorf("send %s: %v", id, f)
					return
				}
			}
		}
	}()
	vic.read(500 * time.Millisecond)
	if len(vic.live) == 0 {
		t.Fatal("vic got nothing before the kill")
	}
	first := slices.Min(slices.Collect(maps.Keys(vic.live)))
	// a message of vic's own is on its way when the gateway dies
	sendText(t, vic.ws, "lobby", "vic-last", "vic's last words")
	c.kill("chat-1")
	killed := time.Now()
	if !vic.read(5 * time.Second) {
		t.Fatal("vic's socket did not close when its gateway died")
	}
	t.Logf("vic back on a gateway %v after its socket dropped", vic.reconnect(t).Round(time.Millisecond))
	sendText(t, vic.ws, "lobby", "vic-last", "vic's last words") // not acknowledged: sent again, same client_id
	_, vicAck := vic.readUntil(10*time.Second, "vic-last")
	if vicAck["type"] != "ack" {
		t.Fatalf("vic's resend: %v", vicAck)
	}

	// lea's departure reaches the watcher within 15 s; vic never leaves
	left := presenceOf(t, watcher, lea.Me, 15*time.Second-time.Since(killed), true)
	if left["online"] != false {
		t.Fatalf("lea: %v", left)
	}
	t.Logf("lea offline %v after her gateway died", time.Since(killed).Round(100*time.Millisecond))
	// every replica agrees within a sweep (1 s)
	waitFor(t, 2*time.Second, func() bool {
		for _, a := range c.presenceOfEach(t, vicCookie) {
			if ids := onlineIDs(a); !slices.Contains(ids, vicWS.Me) || slices.Contains(ids, lea.Me) {
				return false
			}
		}
		return true
	})

	close(stop)
	wg.Wait()
	if sendErr != nil {
		t.Fatal(sendErr)
	}
	last := slices.Max(acked)
	if vic.read(2 * time.Second) {
		t.Fatal("vic's new socket closed")
	}
	if vic.lastSeq < last {
		t.Fatalf("vic saw up to seq %d, the sender's last is %d", vic.lastSeq, last)
	}
	// vic has every message from its first to the last, by live frames or
	// the fetch after reconnecting, and no socket carried one twice
	for seq := first; seq <= last; seq++ {
		if vic.seen[seq] == 0 {
			m := allMessages(t, &chatSite{Site: site}, vicCookie, "lobby", seq-1)[0]
			t.Fatalf("vic lost seq %d (saw %d…%d): %v; %s", seq, first, last, m, vic.debug)
		}
		if vic.live[seq] > 1 {
			t.Fatalf("seq %d came %d times on vic's sockets", seq, vic.live[seq])
		}
	}
	// and history holds vic's last words once, every acked message once
	msgs := allMessages(t, &chatSite{Site: site}, vicCookie, "lobby", first-1)
	seqs, words := map[int]bool{}, 0
	for _, m := range msgs {
		seq := int(m["seq"].(float64))
		if seqs[seq] {
			t.Fatalf("seq %d twice in history", seq)
		}
		seqs[seq] = true
		if m["client_id"] == "vic-last" {
			words++
		}
	}
	if words != 1 {
		t.Fatalf("vic's last words are in history %d times", words)
	}
	for _, seq := range acked {
		if !seqs[seq] {
			t.Fatalf("acked seq %d missing", seq)
		}
	}
	t.Logf("%d messages sent through the kill, vic saw %d…%d", len(acked), first, last)
}

func testGatewayDrained(t *testing.T, c *localCluster) {
	site := chattest.Site{URL: c.URL}
	watcher, _ := c.dialOn(t, site.MustLogin(t, uniq("wat")), "chat-2")
	defer c.restart("chat-1")
	const n = 6
	type moved struct {
		cookie string
		ws     *chattest.Client
	}
	var users []moved
	for i := 0; i < n; i++ {
		cookie := site.MustLogin(t, uniq("mov"))
		ws, _ := c.dialOn(t, cookie, "chat-1")
		users = append(users, moved{cookie, ws})
	}
	gw := c.procs["chat-1"]
	start := time.Now()
	if err := gw.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var at []time.Duration
	for i, u := range users {
		if code := u.ws.Closed(t); code != 1012 {
			t.Fatalf("user %d closed with %d, want 1012", i, code)
		}
		at = append(at, time.Since(start))
		// the client reconnects at once; nginx sends it to the gateway still up
		ws := site.MustDial(t, u.cookie)
		if ws.Ready == nil {
			t.Fatal("no ready frame")
		}
	}
	// The gateway may still hold other tests' connections, and it closes
	// all of them in random order over the drain, so these six take random
	// slots of it: all six in its first quarter is a 1-in-4,000 chance,
	// while a gateway that closes everything at once does it in milliseconds.
	if last := at[n-1]; last < 500*time.Millisecond {
		t.Fatalf("all %d closes came within %v of SIGTERM (drain 2 s): %v", n, last, at)
	}
	t.Logf("closes at %v", at)
	select {
	case err := <-gw.done:
		gw.done <- err
		if err != nil {
			t.Fatalf("the gateway's exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not exit within 10 s of SIGTERM")
	}
	// back within the grace: once it is over, nobody has seen them leave
	time.Sleep(3 * time.Second)
	for _, f := range drainFrames(watcher) {
		if f["type"] != "presence" || f["online"] != false {
			continue
		}
		for _, u := range users {
			if f["user"].(map[string]any)["id"] == u.ws.Me {
				t.Fatalf("a moved user was announced offline: %v", f)
			}
		}
	}
}

// drainFrames returns the frames a client has received so far.
func drainFrames(c *chattest.Client) []map[string]any {
	var out []map[string]any
	for {
		select {
		case f, ok := <-c.Frames:
			if !ok {
				return out
			}
			out = append(out, f)
		default:
			return out
		}
	}
}

func testNATSRestart(t *testing.T, c *localCluster, nats *testenv.NATS) {
	site := chattest.Site{URL: c.URL}
	annCookie := site.MustLogin(t, uniq("ann"))
	ann, _ := c.dialOn(t, annCookie, "chat-1")
	bob, _ := c.dialOn(t, site.MustLogin(t, uniq("bob")), "chat-2")

	nats.Stop()
	time.Sleep(time.Second)
	nats.Restart()
	restarted := time.Now()
	for _, name := range c.names() {
		c.waitReady(name)
	}
	t.Logf("every service ready %v after NATS came back", time.Since(restarted).Round(10*time.Millisecond))

	// the sockets open through the outage work again
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		id := fmt.Sprintf("nats-%d", i)
		sendText(t, ann, "lobby", id, "after the restart")
		if f := ann.Answer(t, id); f["type"] == "ack" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no send works 15 s after NATS came back: %v", f)
		}
		time.Sleep(200 * time.Millisecond)
	}
	nextMessage(t, bob, "after the restart")
	// presence announces a newcomer once and both replicas agree
	cy, _ := c.dialOn(t, site.MustLogin(t, uniq("cy")), "")
	presenceOf(t, ann, cy.Me, 5*time.Second, true)
	presenceOf(t, ann, cy.Me, time.Second, false)
	answers := c.presenceOfEach(t, annCookie)
	if !slices.Equal(onlineIDs(answers[0]), onlineIDs(answers[1])) || !slices.Contains(onlineIDs(answers[0]), cy.Me) {
		t.Fatalf("presence replicas after the restart: %v / %v", onlineIDs(answers[0]), onlineIDs(answers[1]))
	}
}

// TestIngressBrowserSuites runs the browser suites of the chat issues
// (web/e2e) through nginx: each server they start is a fresh local
// cluster on the machine's NATS (a prefix each).
func TestIngressBrowserSuites(t *testing.T) {
	needNginx(t)
	b := backing{natsURL: testenv.ExternalNATS(t), mongoURI: testenv.FerretDB(t), s3: testenv.VersityGW(t)}
	work := make(chan func())
	clusters := map[string]*localCluster{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		done := make(chan struct{})
		work <- func() { // on the test's goroutine: starting a cluster may t.Fatal
			defer close(done)
			switch r.Method {
			case "POST":
				var req struct{ Args []string }
				if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
					http.Error(w, err.Error(), 400)
					return
				}
				c := startLocalCluster(t, b, req.Args...)
				clusters[c.URL] = c
				t.Logf("cluster %s for the browser, flags %v", c.URL, req.Args)
				_ = json.NewEncoder(w).Encode(map[string]string{"url": c.URL})
			case "DELETE":
				if c := clusters[r.URL.Query().Get("url")]; c != nil {
					c.stop()
					delete(clusters, c.URL)
				}
			}
		}
		<-done
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	node := exec.Command("node", "--test", "e2e/")
	node.Dir = filepath.Join(testenv.RepoRoot(t), "web")
	node.Env = append(os.Environ(), "CHATROOM_E2E_LAUNCHER=http://"+ln.Addr().String())
	out, err := node.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	node.Stderr = node.Stdout
	node.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Process.Kill() })
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for {
		select {
		case f := <-work:
			f()
		case line, ok := <-lines:
			if !ok {
				if err := node.Wait(); err != nil {
					t.Fatalf("browser suites through the local cluster: %v", err)
				}
				return
			}
			t.Log(line)
		}
	}
}
