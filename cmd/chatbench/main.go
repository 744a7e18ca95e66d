// Command chatbench is the load tool of WebChatRoom. It logs in N users,
// opens one WebSocket each, sends at a given rate into the lobby and direct
// conversations, and reports deliveries per second, send-to-receive
// latency (the send time travels inside each message), messages lost or
// doubled (both must be 0), and the server's CPU seconds and RSS from
// /proc — with the tool's own CPU beside every figure (DESIGN §7).
//
// # How it measures
//
// The parent process re-executes itself as --procs workers (a process may
// hold at most 20,000 files here), each with a share of the users and of
// the senders, and steps them through login, connect and send over their
// stdin and stdout; it samples the server's /proc/PID/stat and status
// around the measured window and merges the workers' JSON results.
//
// Every message text is "cb|<run>|<sender>|<l or d>|<n>|<send unix ns>|xxx…",
// padded to --size bytes. A receiver marks each (sender, stream, n) in a
// bitset, so a second copy counts as doubled; at the end every
// acknowledged message must have reached every other connection (lobby)
// or the partner's connection (DM): what did not is lost. Latencies are
// kept in log-linear microsecond buckets (≤ 1.6 % wide) that add exactly
// across processes; the ack latency is send → ack, i.e. durably stored.
// Latency and rates count only the window after --warmup; loss and
// doubles count the whole run, after a drain.
//
// The WebSocket client is written on raw sockets (Linux only): one epoll
// loop per worker reads every connection with one recv() per ready socket
// into a shared 256 KiB buffer (many frames per read when the server
// coalesces), finds the few JSON fields it needs without decoding, and
// holds no goroutine, stack or buffer per idle connection; senders write
// masked frames, all sends due at once in one write(). Measured here it
// costs ~1.6 µs of CPU per delivery under load and ~7 µs when frames come
// one at a time (kernel TCP receive work, the same floor the server pays
// per write) — print and compare the tool's CPU with the server's.
//
// # Server settings for a run
//
// Registrations are limited to 120 per IP per hour and messages to 20 per
// 10 s per user. For bench users start the server with, e.g.:
//
//	CHATROOM_LIMIT_REGISTRATIONS=100000 CHATROOM_CHAT_RATE_COUNT=1000000 \
//	  chatroom all --addr 127.0.0.1:8080 --data /tmp/bench-data
//
// (or pass --source-ips to spread registrations over 127.0.0.2…). The tool
// says in its output when a run sends faster than the default limit and
// shows the rate flags the server process was started with. Logins cost
// the server ~35 ms of argon2 each: sessions are cached under $TMPDIR per
// URL and --user-prefix and checked with GET /api/auth/me, so only the
// first run with a prefix pays; setup time is reported apart.
//
// # The measurements
//
// Spread a rate over enough senders: the gateway handles one send per
// connection at a time and acknowledges it after the durable commit, so a
// sender cannot go faster than 1 / ack latency. Keep --max-inflight under
// the gateway's 256 queued requests per connection (more are refused with
// rate_limited). Run the tool on the server's machine so it can read the
// server's /proc (it finds the process listening on --url's port).
//
//	# once: create the users and cache their sessions (minutes: argon2)
//	chatbench --users 1000 --login-only --user-prefix f
//	chatbench --users 15000 --login-only --user-prefix idle
//
//	# lobby fan-out to 1,000 members, 150-byte texts (320 msg/s ≈ 320,000 deliveries/s)
//	chatbench --users 1000 --senders 100 --rate 320 --duration 20s --warmup 3s --user-prefix f
//	# latency at 70 % of that rate, durable store included
//	chatbench --users 1000 --senders 100 --rate 224 --duration 20s --warmup 3s --user-prefix f
//	# server memory per idle connection at 15,000 (restart the server after
//	# --login-only so the logins' argon2 heap is not in the "before" figure)
//	chatbench --users 15000 --idle --duration 30s --settle 8m --user-prefix idle
//	# then every one of them fetches the online list, as browsers do after a
//	# presence burst (everyone reconnecting)
//	chatbench --users 15000 --idle --duration 20s --settle 1m --user-prefix idle --fetch-presence
//	# messages stored durably per second while the lobby fans out:
//	# 98.5 % of 20,300 msg/s go to DMs, 1.5 % (≈ 300 msg/s) to the lobby
//	chatbench --users 1000 --senders 500 --rate 20300 --dm-ratio 0.985 --duration 20s --warmup 3s --user-prefix f
//
// Read deliveries_per_s, latency (send → every receiver), ack_latency
// (send → stored), acked_per_s, server.rss_per_conn_kib, and beside each
// the server's and the tool's CPU (also per delivery). Add --json for one
// JSON line on stdout. CHATBENCH_CPUPROFILE=<dir> makes every worker
// write a CPU profile there.
//
// It exits 1 when a check fails (lost, doubled or misdelivered messages,
// nothing delivered, connections failed or dropped), 2 on bad flags.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--worker" {
		os.Exit(runWorkerProcess())
	}
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

func cli(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "chatbench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "chatbench: %v\n", err)
		return 1
	}
	if cfg.JSON {
		res.print(stderr)
		b, _ := json.Marshal(res)
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		res.print(stdout)
	}
	if !res.OK {
		return 1
	}
	return 0
}
