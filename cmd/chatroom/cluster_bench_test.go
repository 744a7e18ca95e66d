package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/testenv"
)

// benchLimits lift the per-user message and per-IP registration limits
// for load runs (chatbench's users all send from 127.0.0.1).
var benchLimits = []string{"--chat-rate-count", "1000000", "--limit-registrations", "1000000", "--log-level", "warn"}

// BenchmarkCluster runs one chatbench load against `chatroom all` and then
// against the local cluster through nginx, so the cost of the extra hops is
// known (issue 6, proof 4; docs/performance.md). It is a measurement of
// minutes, run once whatever b.N; the load is CHATROOM_CLUSTER_BENCH
// (chatbench's flags), 100 lobby messages a second from 50 of 200 users
// when unset:
//
//	make build tools
//	CHATROOM_CLUSTER_BENCH='--users 200 --senders 50 --rate 500 --duration 15s --warmup 3s' \
//	  CHATROOM_BIN=$PWD/bin/chatroom nice go test -count=1 -run '^$' -bench Cluster -benchtime 1x -v -timeout 20m ./cmd/chatroom
//
// CHATROOM_CLUSTER_BENCH_HISTORY=1 runs the cluster with one history
// replica instead of two.
func BenchmarkCluster(b *testing.B) {
	flags := strings.Fields(os.Getenv("CHATROOM_CLUSTER_BENCH"))
	if len(flags) == 0 {
		flags = strings.Fields("--users 200 --senders 50 --rate 100 --duration 15s --warmup 3s")
	}
	needNginx(b)
	tool := filepath.Join(b.TempDir(), "chatbench")
	if out, err := exec.Command("go", "build", "-o", tool, "../chatbench").CombinedOutput(); err != nil {
		b.Fatalf("build chatbench: %v\n%s", err, out)
	}

	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b))
	all := MustStart(b, nil, append([]string{"all", "--addr", addr, "--data", b.TempDir()}, benchLimits...)...)
	testenv.WaitHTTP(b, "http://"+addr+"/readyz", 30*time.Second)
	runBench(b, tool, "chatroom all", "http://"+addr, flags)
	all.Kill()

	if n, err := strconv.Atoi(os.Getenv("CHATROOM_CLUSTER_BENCH_HISTORY")); err == nil { // history replicas, 2 by default
		defer func(was int) { replicaCounts["history"] = was }(replicaCounts["history"])
		replicaCounts["history"] = n
	}
	nats := testenv.StartNATS(b)
	c := startLocalCluster(b, backing{natsURL: nats.URL, mongoURI: testenv.FerretDB(b), s3: testenv.VersityGW(b)}, benchLimits...)
	runBench(b, tool, "local cluster", c.URL, flags)
}

// runBench logs the users in, then runs the load and logs chatbench's
// summary and, beside its own server figures (one process: the one on the
// URL's port), the CPU of every process this test started but the tool.
func runBench(t testing.TB, tool, name, url string, flags []string) {
	t.Helper()
	run := func(extra ...string) ([]byte, error) {
		cmd := exec.Command(tool, append(append([]string{"--url", url}, flags...), extra...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		t.Logf("%s: chatbench %s\n%s", name, strings.Join(append(flags, extra...), " "), stderr.String())
		return out, err
	}
	if _, err := run("--login-only", "--user-prefix", "c6"); err != nil {
		t.Fatalf("%s: chatbench --login-only: %v", name, err)
	}
	before, wallBefore := descendantsCPU(t), time.Now()
	out, runErr := run("--user-prefix", "c6", "--json")
	after, wall := descendantsCPU(t), time.Since(wallBefore)
	var cpu float64
	var each []string
	for label, s := range after {
		cpu += s - before[label]
		each = append(each, fmt.Sprintf("%s %.1f", label, s-before[label]))
	}
	slices.Sort(each)
	type latency struct {
		P50 float64 `json:"p50_ms"`
		P99 float64 `json:"p99_ms"`
	}
	var r struct {
		DeliveriesPerS float64 `json:"deliveries_per_s"`
		AckedPerS      float64 `json:"acked_per_s"`
		Lost, Doubled  int64
		Latency        latency `json:"latency"`
		AckLatency     latency `json:"ack_latency"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("chatbench --json: %v: %s", err, out)
	}
	t.Logf("%s: %.0f deliveries/s, %.0f stored/s, send→receive p50 %.1f ms p99 %.1f ms, send→ack p50 %.1f ms p99 %.1f ms, lost %d, doubled %d; "+
		"every server process together: %.1f CPU-s over the %.1f s run (%.0f %% of one core): %s",
		name, r.DeliveriesPerS, r.AckedPerS, r.Latency.P50, r.Latency.P99, r.AckLatency.P50, r.AckLatency.P99, r.Lost, r.Doubled,
		cpu, wall.Seconds(), 100*cpu/wall.Seconds(), strings.Join(each, ", "))
	if runErr != nil { // a check failed (lost, refused or unanswered sends): said above
		t.Errorf("%s: chatbench: %v", name, runErr)
	}
}

// descendantsCPU is the CPU seconds (user + system) that the processes
// this test started have used so far, chatbench's excepted, by program
// ("chatroom history", "ferretdb-test", "nginx", …), read from /proc.
func descendantsCPU(t testing.TB) map[string]float64 {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	type stat struct {
		ppid  int
		ticks float64
		label string
	}
	procs := map[int]stat{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// "pid (comm) state ppid … utime stime …"
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(data)
		end := strings.LastIndexByte(s, ')')
		if end < 0 || end+2 > len(s) {
			continue
		}
		f := strings.Fields(s[end+2:]) // state f[0], ppid f[1], utime f[11], stime f[12]
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		label := filepath.Base(args[0])
		if label == "chatroom" && len(args) > 1 {
			label += " " + args[1]
		}
		if strings.HasPrefix(label, "nginx") {
			label = "nginx"
		}
		procs[pid] = stat{ppid: ppid, ticks: ut + st, label: label}
	}
	out := map[string]float64{}
	for _, p := range procs {
		if p.label == "chatbench" { // the tool and its workers
			continue
		}
		for anc := p.ppid; anc > 1; anc = procs[anc].ppid {
			if anc == os.Getpid() {
				out[p.label] += p.ticks / 100 // USER_HZ
				break
			}
			if _, ok := procs[anc]; !ok {
				break
			}
		}
	}
	return out
}
