package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/testenv"
)

// TestMain lets the test binary serve as its own worker processes: run
// re-executes os.Executable() with --worker.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "--worker" {
		os.Exit(runWorkerProcess())
	}
	os.Exit(m.Run())
}

// startServer builds the real binary and runs `chatroom all` on a fresh
// data folder with more registrations allowed and env added.
func startServer(t *testing.T, env ...string) (base string, pid int) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "chatroom")
	build := exec.Command("go", "build", "-o", bin, testenv.ModulePath+"/cmd/chatroom")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cmd := exec.Command(bin, "all", "--addr", addr, "--data", filepath.Join(dir, "data"))
	cmd.Env = append(append(os.Environ(), "CHATROOM_LIMIT_REGISTRATIONS=100000"), env...)
	var logs bytes.Buffer
	cmd.Stderr = &syncWriter{w: &logs}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	base = "http://" + addr
	testenv.WaitHTTP(t, base+"/readyz", 30*time.Second)
	return base, cmd.Process.Pid
}

// syncWriter serialises writes from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestRealServer(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // the cookie cache, for the workers too
	base, pid := startServer(t, "CHATROOM_CHAT_RATE_COUNT=100000")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	args := []string{"--url", base, "--users", "20", "--procs", "2", "--senders", "5", "--rate", "50",
		"--duration", "2s", "--warmup", "500ms", "--dm-ratio", "0.2", "--user-prefix", "e2e", "--settle", "5s"}
	cfg, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	res, err := run(ctx, cfg, &syncWriter{w: &log})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	var out bytes.Buffer
	res.print(&out)
	t.Logf("\n%s", out.String())
	if !res.OK || res.Deliveries == 0 || res.Lost != 0 || res.Doubled != 0 || res.Misdelivered != 0 {
		t.Fatalf("run not clean: %+v", res.Failures)
	}
	if res.Conns != 20 || res.Setup.Registered != 20 || res.Sent == 0 || res.Acked != res.Sent {
		t.Fatalf("conns %d registered %d sent %d acked %d", res.Conns, res.Setup.Registered, res.Sent, res.Acked)
	}
	// Every lobby message reaches the 19 others, every DM the partner.
	if res.ExpectedDeliveries != res.Deliveries || res.Latency.Count == 0 || res.AckLatency.Count == 0 {
		t.Fatalf("expected %d deliveries, got %d; latency samples %d/%d", res.ExpectedDeliveries, res.Deliveries, res.Latency.Count, res.AckLatency.Count)
	}
	if res.Server.PID != pid || res.Server.CPUSeconds <= 0 || res.Server.RSSAfterKiB <= 0 || res.Tool.CPUTotal <= 0 {
		t.Fatalf("server %+v tool %+v", res.Server, res.Tool)
	}
	if !res.RateLimitRaised || !strings.Contains(res.RateLimitNote, "CHATROOM_CHAT_RATE_COUNT=100000") {
		t.Fatalf("rate limit note: %q", res.RateLimitNote)
	}

	// Idle mode reuses the cached sessions; then every user fetches the
	// online list once.
	cfg.Idle, cfg.Duration, cfg.FetchPresence, cfg.FetchConcurrency = true, time.Second, true, 4
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	res, err = run(ctx, cfg, &syncWriter{w: &log})
	if err != nil {
		t.Fatalf("idle run: %v\n%s", err, log.String())
	}
	out.Reset()
	res.print(&out)
	t.Logf("\n%s", out.String())
	if !res.OK || res.Conns != 20 || res.Setup.Cached != 20 || res.Setup.Registered != 0 || res.Server.RSSAfterKiB == 0 {
		t.Fatalf("idle: ok %v conns %d cached %d registered %d failures %v", res.OK, res.Conns, res.Setup.Cached, res.Setup.Registered, res.Failures)
	}
	if f := res.Fetch; f == nil || f.Fetches != 20 || f.Failed != 0 || f.Gzipped != 20 || f.Bytes <= 0 || f.Latency.Count != 20 {
		t.Fatalf("presence fetches: %+v", f)
	}
}

// TestRealGatewayFrames checks the client against the real gateway's
// frames: the ready text frame, an ack, refusals, and the close frame it
// sends when the session ends.
func TestRealGatewayFrames(t *testing.T) {
	base, _ := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a := newAPI(base, 0, 2)
	if _, err := a.register(ctx, 0, "frames_user", "bench-lantern-4417"); err != nil {
		t.Fatal(err)
	}
	acct, err := a.login(ctx, 0, "frames_user", "bench-lantern-4417")
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(base, "http://")

	// Refused: another site's Origin, and no session.
	_, err = dialWS(ctx, host, host, "/ws", "http://evil.test", acct.Cookie)
	var se *httpStatusError
	if !errors.As(err, &se) || se.Status != 403 {
		t.Fatalf("foreign origin: %v", err)
	}
	_, err = dialWS(ctx, host, host, "/ws", base, "")
	if !errors.As(err, &se) || se.Status != 401 {
		t.Fatalf("no session: %v", err)
	}

	const run = "frames01"
	w := &worker{cfg: Config{Senders: 1, UserPrefix: "frames"}, run: run, log: io.Discard, errCodes: map[string]int64{}, dmPartner: []int{-1}}
	w.winStart.Store(1)
	w.winEnd.Store(time.Now().Add(time.Hour).UnixNano())
	if w.loop, err = newLoop(4096); err != nil {
		t.Fatal(err)
	}
	defer w.closeAll()
	ws, err := dialWS(ctx, host, host, "/ws", base, acct.Cookie)
	if err != nil {
		t.Fatal(err)
	}
	s := &sender{ord: 0}
	c := newClient(w, 0)
	c.ws, c.snd, s.c = ws, s, c
	w.loop.do(func() { w.loop.add(c) })
	select {
	case <-c.ready:
	case <-time.After(10 * time.Second):
		t.Fatal("no ready frame")
	}
	// A send is acknowledged; a second frame with a bad conversation gets an error frame.
	frames := appendClientFrame(nil, opText, appendSendFrame(nil, run, "lobby", 0, 'l', 0, time.Now().UnixNano(), 100), maskKey())
	frames = appendClientFrame(frames, opText, appendSendFrame(nil, run, "no-such-conversation", 0, 'd', 0, time.Now().UnixNano(), 100), maskKey())
	s.lobby.sent.Add(1)
	s.dm.sent.Add(1)
	if err := ws.write(frames); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.inflight() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s.lobby.ackedN.Load() != 1 || s.dm.erroredN.Load() != 1 {
		t.Fatalf("acked %d, errored %d", s.lobby.ackedN.Load(), s.dm.erroredN.Load())
	}
	// Logging out ends the session: the gateway closes with 4001.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/auth/logout", nil)
	req.Header.Set("Origin", base)
	req.Header.Set("Cookie", acct.Cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("connection not closed after logout")
	}
	if c.endedBy != "4001" {
		t.Fatalf("ended by %q, want close code 4001", c.endedBy)
	}
}

// TestDefaultRateLimit: a run faster than the server's default per-user
// limit says so and fails on the refused sends.
func TestDefaultRateLimit(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	base, _ := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg, err := parseFlags([]string{"--url", base, "--users", "6", "--senders", "2", "--rate", "30", "--duration", "2s",
		"--warmup", "0s", "--user-prefix", "lim", "--settle", "2s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	res, err := run(ctx, cfg, &syncWriter{w: &log})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if res.OK || res.Errors["rate_limited"] == 0 || res.Lost != 0 || res.Doubled != 0 {
		t.Fatalf("ok %v errors %v lost %d doubled %d", res.OK, res.Errors, res.Lost, res.Doubled)
	}
	if !strings.Contains(res.RateLimitNote, "started with nothing: the default limit") {
		t.Fatalf("rate limit note: %q", res.RateLimitNote)
	}
}
