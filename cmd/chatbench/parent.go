package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// workerProc is a running worker process.
type workerProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
}

func (p *workerProc) send(line string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := io.WriteString(p.stdin, line+"\n")
	return err
}

type workerEvent struct {
	idx     int
	tag     string
	payload []byte
}

// server watches the server process through /proc.
type server struct {
	pid int
}

func (s *server) sample() (procSample, bool) {
	if s == nil || s.pid == 0 {
		return procSample{}, false
	}
	p, err := readProc(strconv.Itoa(s.pid))
	return p, err == nil
}

// settle waits until the server uses under 5 % of a core over a second
// (presence announcements and logins done), at most max.
func (s *server) settle(ctx context.Context, most time.Duration) time.Duration {
	start := time.Now()
	prev, ok := s.sample()
	if !ok {
		sleepUntil(ctx, start.Add(time.Second))
		return time.Since(start)
	}
	for time.Since(start) < most && ctx.Err() == nil {
		sleepUntil(ctx, time.Now().Add(time.Second))
		cur, ok := s.sample()
		if !ok {
			break
		}
		if cur.CPU-prev.CPU < 0.05 {
			break
		}
		prev = cur
	}
	return time.Since(start)
}

func randomRunID() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	var b [runIDLen]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// findServer returns the server's PID from --server-pid or the listener of
// the URL's port on this machine (0 and a note when unknown).
func findServer(cfg Config) (int, string) {
	if cfg.ServerPID != 0 {
		if _, err := readProc(strconv.Itoa(cfg.ServerPID)); err != nil {
			return 0, fmt.Sprintf("--server-pid %d: %v", cfg.ServerPID, err)
		}
		return cfg.ServerPID, ""
	}
	u, _ := url.Parse(cfg.URL)
	host := u.Hostname()
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return 0, "server CPU and RSS not measured: the server is not on this machine's loopback (pass --server-pid)"
	}
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = 80
	}
	pid, err := findListener(port)
	if err != nil {
		return 0, "server CPU and RSS not measured: " + err.Error()
	}
	return pid, ""
}

// run is one measurement: it starts the workers, steps them through
// login, connect and send (or hold), samples the server and merges.
func run(ctx context.Context, cfg Config, logw io.Writer) (*Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logf := func(format string, args ...any) { fmt.Fprintf(logw, "chatbench: "+format+"\n", args...) }
	res := newResult(cfg)
	res.RunID = randomRunID()
	pid, note := findServer(cfg)
	srv := &server{pid: pid}
	res.Server.PID = pid
	if note != "" {
		res.Notes = append(res.Notes, note)
		logf("%s", note)
	}
	if pid != 0 {
		res.Server.RateLimitFlags = serverRateLimit(pid)
	}
	res.rateLimitNote(cfg)

	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	self0, _ := readProc("self")
	events := make(chan workerEvent, 4*cfg.Procs)
	procs := make([]*workerProc, cfg.Procs)
	var readers sync.WaitGroup
	defer func() {
		for _, p := range procs {
			if p != nil {
				p.stdin.Close()
			}
		}
		done := make(chan struct{})
		go func() { readers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			for _, p := range procs {
				if p != nil && p.cmd.Process != nil {
					_ = p.cmd.Process.Kill()
				}
			}
			<-done
		}
	}()
	for i := range procs {
		cmd := exec.Command(exe, "--worker")
		cmd.Stderr = logw
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start worker: %w", err)
		}
		procs[i] = &workerProc{cmd: cmd, stdin: stdin}
		readers.Add(1)
		go func() {
			defer readers.Done()
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 1<<20), 1<<30)
			for sc.Scan() {
				tag, payload, _ := strings.Cut(sc.Text(), " ")
				select {
				case events <- workerEvent{idx: i, tag: tag, payload: []byte(payload)}:
				case <-ctx.Done():
					return
				}
			}
			if err := sc.Err(); err != nil {
				logf("worker %d output: %v", i, err)
			}
			werr := cmd.Wait()
			select {
			case events <- workerEvent{idx: i, tag: "exit", payload: []byte(fmt.Sprint(werr))}:
			case <-ctx.Done():
			}
		}()
		spec, _ := json.Marshal(workerSpec{Config: cfg, Index: i, RunID: res.RunID})
		if err := procs[i].send(string(spec)); err != nil {
			return nil, err
		}
	}
	broadcast := func(line string) error {
		for _, p := range procs {
			if err := p.send(line); err != nil {
				return fmt.Errorf("worker gone: %w", err)
			}
		}
		return nil
	}
	// wait collects the next report of every worker, which must be tag.
	// Workers run ahead of each other: a report for a later phase waits in
	// pending until its phase.
	pending := make([][]workerEvent, len(procs))
	wait := func(tag string) ([][]byte, error) {
		got := make([][]byte, len(procs))
		for n := 0; n < len(procs); {
			var e workerEvent
			for i := range pending {
				if got[i] == nil && len(pending[i]) > 0 {
					e, pending[i] = pending[i][0], pending[i][1:]
					break
				}
			}
			if e.tag == "" {
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case e = <-events:
				}
				if got[e.idx] != nil {
					pending[e.idx] = append(pending[e.idx], e)
					continue
				}
			}
			switch e.tag {
			case tag:
				n++
				got[e.idx] = e.payload
			case "error":
				var msg string
				_ = json.Unmarshal(e.payload, &msg)
				return nil, fmt.Errorf("worker %d: %s", e.idx, msg)
			case "exit":
				return nil, fmt.Errorf("worker %d exited (%s) while waiting for %q", e.idx, e.payload, tag)
			default:
				return nil, fmt.Errorf("worker %d reported %q while the parent waited for %q", e.idx, e.tag, tag)
			}
		}
		return got, nil
	}

	logf("run %s: %d users in %d processes, logging in…", res.RunID, cfg.Users, cfg.Procs)
	t0 := time.Now()
	if _, err := wait("loggedin"); err != nil {
		return nil, err
	}
	res.Setup.LoginSeconds = time.Since(t0).Seconds()
	if cfg.LoginOnly {
		results, err := wait("result")
		if err != nil {
			return nil, err
		}
		return res.merge(cfg, results, 0)
	}
	srv.settle(ctx, 10*time.Second)
	before, _ := srv.sample()
	res.Server.RSSBeforeKiB = before.RSSKiB
	api := newAPI(cfg.URL, 0, 1)
	res.Server.MetricsBefore = api.metricsSample(ctx)

	logf("logged in after %.1f s; opening %d WebSockets…", res.Setup.LoginSeconds, cfg.Users)
	t1 := time.Now()
	if err := broadcast("connect"); err != nil {
		return nil, err
	}
	if _, err := wait("ready"); err != nil {
		return nil, err
	}
	res.Setup.ConnectSeconds = time.Since(t1).Seconds()
	settled := srv.settle(ctx, cfg.Settle)
	res.Setup.SettleSeconds = settled.Seconds()
	conn, _ := srv.sample()
	res.Server.RSSConnectedKiB = conn.RSSKiB
	logf("connected after %.1f s, server settled after %.1f s more", res.Setup.ConnectSeconds, settled.Seconds())

	var cpuWindow float64
	var peak int64
	sampleUntil := func(end time.Time) {
		for time.Now().Before(end) && ctx.Err() == nil {
			if s, ok := srv.sample(); ok {
				peak = max(peak, s.RSSKiB)
			}
			next := time.Now().Add(250 * time.Millisecond)
			if next.After(end) {
				next = end
			}
			sleepUntil(ctx, next)
		}
	}
	if cfg.Idle {
		if err := broadcast("hold"); err != nil {
			return nil, err
		}
		c0, _ := srv.sample()
		self1, _ := readProc("self")
		sampleUntil(time.Now().Add(cfg.Duration))
		c1, _ := srv.sample()
		self2, _ := readProc("self")
		cpuWindow = self2.CPU - self1.CPU
		res.Server.CPUSeconds = c1.CPU - c0.CPU
		res.Server.RSSAfterKiB = c1.RSSKiB
		res.Server.MetricsAfter = api.metricsSample(ctx)
		if cfg.FetchPresence {
			logf("every user fetches GET /api/presence once…")
			if err := res.fetchPresence(srv, broadcast, wait); err != nil {
				return nil, err
			}
		}
		if err := broadcast("stop"); err != nil {
			return nil, err
		}
	} else {
		start := time.Now().Add(300 * time.Millisecond)
		winStart := start.Add(cfg.Warmup)
		winEnd := winStart.Add(cfg.Duration)
		logf("sending %.0f msg/s from %d senders for %v after %v warm-up…", cfg.Rate, cfg.Senders, cfg.Duration, cfg.Warmup)
		if err := broadcast("go " + strconv.FormatInt(start.UnixNano(), 10)); err != nil {
			return nil, err
		}
		sleepUntil(ctx, winStart)
		c0, _ := srv.sample()
		self1, _ := readProc("self")
		sampleUntil(winEnd)
		c1, _ := srv.sample()
		self2, _ := readProc("self")
		cpuWindow = self2.CPU - self1.CPU
		res.Server.CPUSeconds = c1.CPU - c0.CPU
		res.Server.RSSAfterKiB = c1.RSSKiB
		res.Server.MetricsAfter = api.metricsSample(ctx)
		logf("draining…")
	}
	res.Server.RSSPeakKiB = peak
	results, err := wait("result")
	if err != nil {
		return nil, err
	}
	selfEnd, _ := readProc("self")
	res.Tool.CPUTotal = selfEnd.CPU - self0.CPU
	return res.merge(cfg, results, cpuWindow)
}

// merge adds up the workers' results and checks every delivery.
func (res *Result) merge(cfg Config, raw [][]byte, parentCPU float64) (*Result, error) {
	var lat, ackLat merged
	type streamInfo struct {
		sent   int64
		acked  bitset
		expect int
	}
	streams := map[string]*streamInfo{}
	seen := map[string][]uint32{}
	res.Tool.CPUSeconds = parentCPU
	for i, b := range raw {
		var r workerResult
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("worker %d result: %w", i, err)
		}
		s := r.Setup
		res.Setup.Registered += s.Registered
		res.Setup.Cached += s.Cached
		res.Setup.LoggedIn += s.LoggedIn
		res.Conns += s.Conns
		res.Setup.ConnectFailed += s.ConnectFailed
		for _, e := range s.ConnectErrors {
			if len(res.Setup.ConnectErrors) < 5 {
				res.Setup.ConnectErrors = append(res.Setup.ConnectErrors, e)
			}
		}
		res.Sent += r.Sent
		res.SentInWindow += r.SentInWindow
		res.Acked += r.Acked
		res.AckedInWindow += r.AckedInWindow
		res.Errored += r.Errored
		res.SenderBlockedS += r.BlockedS
		res.WriteErrors += r.WriteErrors
		for k, v := range r.Errors {
			res.Errors[k] += v
		}
		res.Deliveries += r.Deliveries
		res.DeliveriesInWindow += r.DeliveriesInWindow
		res.Doubled += r.Doubled + r.DupAcks
		res.Misdelivered += r.Misdelivered
		res.OtherRunMessages += r.Foreign
		res.OtherFrames += r.Other
		for k, v := range r.Ended {
			res.ConnsEnded[k] += v
		}
		lat.addData(r.Latency)
		ackLat.addData(r.AckLatency)
		for _, st := range r.Streams {
			streams[st.Key] = &streamInfo{sent: st.Sent, acked: bitsetFrom(st.Acked), expect: st.Expect}
		}
		for k, b := range r.Seen {
			cs := seen[k]
			n := len(b) / 2
			if n > len(cs) {
				cs = append(cs, make([]uint32, n-len(cs))...)
			}
			for j := range n {
				cs[j] += uint32(binary.LittleEndian.Uint16(b[2*j:]))
			}
			seen[k] = cs
		}
		res.Tool.CPUSeconds += r.CPUWindow
		res.Tool.CPUTotal += r.CPUTotal
		res.Tool.RSSKiB += r.RSSKiB
	}
	res.Latency = lat.summary()
	res.AckLatency = ackLat.summary()
	// Every acknowledged message must reach every expected connection once.
	for key, st := range streams {
		expect := int64(st.expect)
		if expect < 0 {
			expect = int64(res.Conns - 1)
		}
		cs := seen[key]
		for n := range max(int(st.sent), len(cs)) {
			var c int64
			if n < len(cs) {
				c = int64(cs[n])
			}
			if st.acked.has(n) {
				res.ExpectedDeliveries += expect
				res.Lost += max(expect-c, 0)
				res.Misdelivered += max(c-expect, 0)
			} else {
				res.DeliveredUnacked += c
			}
		}
	}
	for key, cs := range seen {
		if streams[key] == nil {
			for _, c := range cs {
				res.DeliveredUnacked += int64(c)
			}
		}
	}
	res.finish(cfg)
	return res, nil
}

// cores is the number of CPUs the figures are a share of.
func cores() int { return runtime.NumCPU() }

// fetchPresence has every worker's users fetch the online list once and
// merges what they saw with the server's CPU over the whole phase.
func (res *Result) fetchPresence(srv *server, broadcast func(string) error, wait func(string) ([][]byte, error)) error {
	s0, _ := srv.sample()
	start := time.Now()
	if err := broadcast("fetch"); err != nil {
		return err
	}
	raw, err := wait("fetched")
	if err != nil {
		return err
	}
	f := &FetchResult{Seconds: time.Since(start).Seconds()}
	s1, _ := srv.sample()
	f.ServerCPUSeconds = s1.CPU - s0.CPU
	var lat merged
	for i, b := range raw {
		var r fetchReport
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("worker %d fetches: %w", i, err)
		}
		f.add(r.fetchCounts)
		lat.addData(r.Latency)
	}
	f.Latency = lat.summary()
	res.Fetch = f
	return nil
}
