package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// Result is a whole run, merged from every worker; --json prints it.
type Result struct {
	Mode        string  `json:"mode"` // fanout, idle or login-only
	URL         string  `json:"url"`
	RunID       string  `json:"run_id"`
	Users       int     `json:"users"`
	Conns       int     `json:"conns"`
	Procs       int     `json:"procs"`
	Senders     int     `json:"senders"`
	DMRatio     float64 `json:"dm_ratio"`
	Size        int     `json:"size"`
	DurationS   float64 `json:"duration_s"`
	WarmupS     float64 `json:"warmup_s"`
	RateAsked   float64 `json:"rate_asked"`
	RateAchieve float64 `json:"rate_achieved"`

	Sent           int64            `json:"sent"`
	SentInWindow   int64            `json:"sent_in_window"`
	Acked          int64            `json:"acked"`
	AckedInWindow  int64            `json:"acked_in_window"`
	AckedPerS      float64          `json:"acked_per_s"` // stored durably: the ack comes after the commit
	Errored        int64            `json:"errored"`
	Unanswered     int64            `json:"unanswered"`
	Errors         map[string]int64 `json:"errors"`
	SenderBlockedS float64          `json:"sender_blocked_s"` // sender-seconds spent waiting at --max-inflight
	WriteErrors    int              `json:"write_errors"`

	Deliveries         int64            `json:"deliveries"`
	DeliveriesInWindow int64            `json:"deliveries_in_window"`
	DeliveriesPerS     float64          `json:"deliveries_per_s"`
	ExpectedDeliveries int64            `json:"expected_deliveries"`
	Lost               int64            `json:"lost"`
	Doubled            int64            `json:"doubled"`
	Misdelivered       int64            `json:"misdelivered"`
	DeliveredUnacked   int64            `json:"delivered_unacked"`
	OtherRunMessages   int64            `json:"other_run_messages"`
	OtherFrames        int64            `json:"other_frames"` // presence, typing…
	ConnsEnded         map[string]int64 `json:"conns_ended_by_server"`

	Latency    Latency `json:"latency"`     // send → delivery, messages sent in the window
	AckLatency Latency `json:"ack_latency"` // send → ack (stored)

	Server struct {
		PID             int                `json:"pid"`
		CPUSeconds      float64            `json:"cpu_s"`
		CPUPercent      float64            `json:"cpu_pct_of_cores"`
		CPUPerDelivery  float64            `json:"cpu_us_per_delivery,omitempty"`
		RSSBeforeKiB    int64              `json:"rss_before_kib"` // logged in, before the WebSockets
		RSSConnectedKiB int64              `json:"rss_connected_kib"`
		RSSAfterKiB     int64              `json:"rss_after_kib"`
		RSSPeakKiB      int64              `json:"rss_peak_kib"`
		RSSPerConnKiB   float64            `json:"rss_per_conn_kib"`
		RateLimitFlags  string             `json:"rate_limit_flags"`
		MetricsBefore   map[string]float64 `json:"metrics_before,omitempty"`
		MetricsAfter    map[string]float64 `json:"metrics_after,omitempty"`
	} `json:"server"`
	Tool struct {
		CPUSeconds     float64 `json:"cpu_s"` // all processes, in the window
		CPUPercent     float64 `json:"cpu_pct_of_cores"`
		CPUPerDelivery float64 `json:"cpu_us_per_delivery,omitempty"`
		CPUTotal       float64 `json:"cpu_total_s"` // whole run, setup included
		RSSKiB         int64   `json:"rss_kib"`
	} `json:"tool"`
	Fetch *FetchResult `json:"fetch_presence,omitempty"`
	Cores int          `json:"cores"`
	Setup struct {
		Registered     int      `json:"registered"`
		Cached         int      `json:"cached_sessions"`
		LoggedIn       int      `json:"logged_in"`
		LoginSeconds   float64  `json:"login_s"`
		ConnectSeconds float64  `json:"connect_s"`
		SettleSeconds  float64  `json:"settle_s"`
		ConnectFailed  int      `json:"connect_failed"`
		ConnectErrors  []string `json:"connect_errors,omitempty"`
	} `json:"setup"`
	RateLimitRaised bool     `json:"rate_limit_raised"`
	RateLimitNote   string   `json:"rate_limit_note,omitempty"`
	Notes           []string `json:"notes,omitempty"`
	OK              bool     `json:"ok"`
	Failures        []string `json:"failures,omitempty"`
}

// FetchResult is --fetch-presence: every user fetching GET /api/presence
// once.
type FetchResult struct {
	fetchCounts
	Seconds          float64 `json:"seconds"`
	Latency          Latency `json:"latency"`
	ServerCPUSeconds float64 `json:"server_cpu_s"`
}

// fetchCounts are what --fetch-presence counts, per worker and in all.
type fetchCounts struct {
	Fetches int      `json:"fetches"`
	Failed  int      `json:"failed"`
	Errors  []string `json:"errors,omitempty"` // the first few
	Bytes   int64    `json:"bytes"`            // as they came over the wire
	Gzipped int      `json:"gzipped"`
}

// add counts o in too.
func (c *fetchCounts) add(o fetchCounts) {
	c.Fetches += o.Fetches
	c.Failed += o.Failed
	c.Bytes += o.Bytes
	c.Gzipped += o.Gzipped
	for _, e := range o.Errors {
		if len(c.Errors) < 5 {
			c.Errors = append(c.Errors, e)
		}
	}
}

func newResult(cfg Config) *Result {
	r := &Result{URL: cfg.URL, Users: cfg.Users, Procs: cfg.Procs, Senders: cfg.Senders, DMRatio: cfg.DMRatio, Size: cfg.Size,
		DurationS: cfg.Duration.Seconds(), WarmupS: cfg.Warmup.Seconds(), RateAsked: cfg.Rate,
		Errors: map[string]int64{}, ConnsEnded: map[string]int64{}, Cores: cores()}
	switch {
	case cfg.LoginOnly:
		r.Mode = "login-only"
	case cfg.Idle:
		r.Mode = "idle"
	default:
		r.Mode = "fanout"
	}
	return r
}

// rateLimitNote says whether this run sends faster than the server's
// default per-user limit, and what the server must be started with.
func (r *Result) rateLimitNote(cfg Config) {
	if cfg.Senders == 0 {
		return
	}
	per := cfg.Rate / float64(cfg.Senders)
	if per*defaultRateWindow.Seconds() <= defaultRateCount {
		return
	}
	r.RateLimitRaised = true
	r.RateLimitNote = fmt.Sprintf("per-user rate limit RAISED for this run: each sender sends %.1f msg/s, above the default %d per %v; "+
		"the server must run with --chat-rate-count=%d or more (CHATROOM_CHAT_RATE_COUNT)",
		per, defaultRateCount, defaultRateWindow, cfg.needRateCount())
	if r.Server.PID != 0 {
		flags := r.Server.RateLimitFlags
		if flags == "" {
			flags = "nothing: the default limit"
		}
		r.RateLimitNote += "; the server process was started with " + flags
	}
}

// finish computes rates and shares and decides pass or fail.
func (r *Result) finish(cfg Config) {
	win := cfg.Duration.Seconds()
	r.Unanswered = r.Sent - r.Acked - r.Errored
	r.RateAchieve = round(float64(r.SentInWindow)/win, 1)
	r.AckedPerS = round(float64(r.AckedInWindow)/win, 1)
	r.DeliveriesPerS = round(float64(r.DeliveriesInWindow)/win, 1)
	share := func(cpu float64) float64 { return round(100*cpu/(win*float64(r.Cores)), 1) }
	if r.Mode != "login-only" {
		r.Server.CPUPercent = share(r.Server.CPUSeconds)
		r.Tool.CPUPercent = share(r.Tool.CPUSeconds)
	}
	if r.DeliveriesInWindow > 0 {
		r.Server.CPUPerDelivery = round(r.Server.CPUSeconds/float64(r.DeliveriesInWindow)*1e6, 2)
		r.Tool.CPUPerDelivery = round(r.Tool.CPUSeconds/float64(r.DeliveriesInWindow)*1e6, 2)
	}
	if r.Conns > 0 && r.Server.RSSAfterKiB > 0 {
		r.Server.RSSPerConnKiB = round(float64(r.Server.RSSAfterKiB-r.Server.RSSBeforeKiB)/float64(r.Conns), 2)
	}
	r.Server.CPUSeconds = round(r.Server.CPUSeconds, 2)
	r.Tool.CPUSeconds = round(r.Tool.CPUSeconds, 2)
	r.Tool.CPUTotal = round(r.Tool.CPUTotal, 2)
	r.SenderBlockedS = round(r.SenderBlockedS, 1)
	r.Setup.LoginSeconds = round(r.Setup.LoginSeconds, 2)
	r.Setup.ConnectSeconds = round(r.Setup.ConnectSeconds, 2)
	r.Setup.SettleSeconds = round(r.Setup.SettleSeconds, 2)

	fail := func(format string, args ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, args...)) }
	if r.Mode != "login-only" {
		if r.Setup.ConnectFailed > 0 {
			fail("%d connections failed", r.Setup.ConnectFailed)
		}
		var ended int64
		for _, n := range r.ConnsEnded {
			ended += n
		}
		if ended > 0 {
			fail("the server ended %d connections during the run", ended)
		}
	}
	if r.Mode == "fanout" {
		if r.Deliveries == 0 {
			fail("nothing was delivered")
		}
		if r.Lost > 0 {
			fail("%d deliveries lost", r.Lost)
		}
		if r.Doubled > 0 {
			fail("%d deliveries doubled", r.Doubled)
		}
		if r.Misdelivered > 0 {
			fail("%d deliveries to connections that must not get them", r.Misdelivered)
		}
		if r.Errored > 0 {
			fail("%d sends refused%s", r.Errored, codes(r.Errors))
		}
		if r.Unanswered > 0 {
			fail("%d sends neither acknowledged nor refused after the drain (server overloaded? see --drain)", r.Unanswered)
		}
		if r.DeliveredUnacked > 0 {
			fail("%d deliveries of messages never acknowledged", r.DeliveredUnacked)
		}
	}
	if f := r.Fetch; f != nil && (f.Failed > 0 || f.Fetches != r.Users) {
		fail("%d of %d presence fetches failed (%d made)", f.Failed, r.Users, f.Fetches)
	}
	r.OK = len(r.Failures) == 0
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// print writes the human summary.
func (r *Result) print(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("chatbench %s run %s against %s", r.Mode, r.RunID, r.URL)
	p("  setup      %d users in %d processes: %d registered, %d logged in, %d cached sessions in %.1f s; %d WebSockets in %.1f s (+%.1f s for the server to settle)",
		r.Users, r.Procs, r.Setup.Registered, r.Setup.LoggedIn, r.Setup.Cached, r.Setup.LoginSeconds, r.Conns, r.Setup.ConnectSeconds, r.Setup.SettleSeconds)
	for _, e := range r.Setup.ConnectErrors {
		p("  connect error: %s", e)
	}
	if r.Mode == "login-only" {
		p("  result     %s", okText(r))
		return
	}
	if r.Mode == "fanout" {
		p("  sending    %d senders, %.0f msg/s asked, %.1f achieved over %g s (+%g s warm-up), %d-byte texts, %g %% to DMs",
			r.Senders, r.RateAsked, r.RateAchieve, r.DurationS, r.WarmupS, r.Size, 100*r.DMRatio)
		p("  sends      %d sent, %d acked (%.1f/s stored durably in the window), %d errors%s, %d unanswered; senders waited %.1f s in all at --max-inflight",
			r.Sent, r.Acked, r.AckedPerS, r.Errored, codes(r.Errors), r.Unanswered, r.SenderBlockedS)
		p("  deliveries %.0f/s in the window (%d); %d of %d expected over the run; lost %d, doubled %d, misdelivered %d, unacked %d",
			r.DeliveriesPerS, r.DeliveriesInWindow, r.ExpectedDeliveries-r.Lost, r.ExpectedDeliveries, r.Lost, r.Doubled, r.Misdelivered, r.DeliveredUnacked)
		l := r.Latency
		p("  latency    send→receive p50 %.2f ms  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (%d samples)", l.P50, l.P90, l.P99, l.P999, l.Max, l.Count)
		l = r.AckLatency
		p("             send→ack     p50 %.2f ms  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (%d samples)", l.P50, l.P90, l.P99, l.P999, l.Max, l.Count)
	}
	s := r.Server
	if s.PID != 0 {
		p("  server     pid %d: %.2f CPU s in the window = %.1f %% of %d cores%s; RSS %s before WebSockets, %s connected, %s at the end, %s peak",
			s.PID, s.CPUSeconds, s.CPUPercent, r.Cores, perDelivery(s.CPUPerDelivery), kib(s.RSSBeforeKiB), kib(s.RSSConnectedKiB), kib(s.RSSAfterKiB), kib(s.RSSPeakKiB))
		if r.Mode == "idle" {
			p("  memory     %.2f KiB of server RSS per idle connection ((%s − %s) / %d)", s.RSSPerConnKiB, kib(s.RSSAfterKiB), kib(s.RSSBeforeKiB), r.Conns)
			if hb, ha := s.MetricsBefore["go_memstats_heap_inuse_bytes"], s.MetricsAfter["go_memstats_heap_inuse_bytes"]; ha > 0 && r.Conns > 0 {
				sb, sa := s.MetricsBefore["go_memstats_stack_inuse_bytes"], s.MetricsAfter["go_memstats_stack_inuse_bytes"]
				p("             of which Go heap %.2f KiB and stacks %.2f KiB per connection; goroutines %.0f → %.0f",
					(ha-hb)/1024/float64(r.Conns), (sa-sb)/1024/float64(r.Conns), s.MetricsBefore["go_goroutines"], s.MetricsAfter["go_goroutines"])
			}
		}
	}
	if f := r.Fetch; f != nil && f.Fetches > 0 {
		p("  presence   %d fetches of GET /api/presence (%d gzipped) in %.1f s = %.0f/s; %.0f KB each, %.1f MB in all; p50 %.2f ms  p99 %.2f  max %.2f; server %.1f CPU s = %.2f ms each; %d failed",
			f.Fetches, f.Gzipped, f.Seconds, float64(f.Fetches)/f.Seconds, float64(f.Bytes)/float64(f.Fetches)/1000, float64(f.Bytes)/1e6,
			f.Latency.P50, f.Latency.P99, f.Latency.Max, f.ServerCPUSeconds, 1000*f.ServerCPUSeconds/float64(f.Fetches), f.Failed)
		for _, e := range f.Errors {
			p("  fetch error: %s", e)
		}
	}
	p("  tool       %.2f CPU s in the window = %.1f %% of %d cores%s (all %d processes; %.1f CPU s whole run, %s RSS)",
		r.Tool.CPUSeconds, r.Tool.CPUPercent, r.Cores, perDelivery(r.Tool.CPUPerDelivery), r.Procs, r.Tool.CPUTotal, kib(r.Tool.RSSKiB))
	if len(r.ConnsEnded) > 0 {
		p("  ended      connections the server ended, by close code:%s", codes(r.ConnsEnded))
	}
	if r.RateLimitNote != "" {
		p("  NOTE       %s", r.RateLimitNote)
	}
	for _, n := range r.Notes {
		p("  note       %s", n)
	}
	p("  result     %s", okText(r))
}

func okText(r *Result) string {
	if r.OK {
		return "OK"
	}
	return "FAILED: " + strings.Join(r.Failures, "; ")
}

func perDelivery(us float64) string {
	if us == 0 {
		return ""
	}
	return fmt.Sprintf(", %.2f µs per delivery", us)
}

func kib(k int64) string {
	if k == 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(k)/1024)
}

func codes(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return " (" + strings.Join(parts, " ") + ")"
}
