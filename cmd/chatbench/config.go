package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Config is one run of the tool; workers receive it as JSON.
type Config struct {
	URL        string        `json:"url"`
	Users      int           `json:"users"`
	Procs      int           `json:"procs"`
	Senders    int           `json:"senders"`
	Rate       float64       `json:"rate"`
	Duration   time.Duration `json:"duration"`
	Warmup     time.Duration `json:"warmup"`
	Drain      time.Duration `json:"drain"`
	DMRatio    float64       `json:"dm_ratio"`
	Size       int           `json:"size"`
	ServerPID  int           `json:"server_pid"`
	Idle       bool          `json:"idle"`
	LoginOnly  bool          `json:"login_only"`
	UserPrefix string        `json:"user_prefix"`
	Password   string        `json:"password"`
	JSON       bool          `json:"-"`

	MaxInflight        int           `json:"max_inflight"`
	LoginConcurrency   int           `json:"login_concurrency"`
	ConnectConcurrency int           `json:"connect_concurrency"`
	ConnectRate        float64       `json:"connect_rate"`
	ReadBuffer         int           `json:"read_buffer"`
	CookieCache        bool          `json:"cookie_cache"`
	SourceIPs          int           `json:"source_ips"`
	Settle             time.Duration `json:"settle"`

	// FetchPresence: in idle mode, after the hold every user fetches GET
	// /api/presence once, FetchConcurrency at a time, as browsers do
	// after a presence burst.
	FetchPresence    bool `json:"fetch_presence"`
	FetchConcurrency int  `json:"fetch_concurrency"`
}

// defaultRateCount and defaultRateWindow are the server's default per-user
// message limit (DESIGN §5).
const (
	defaultRateCount  = 20
	defaultRateWindow = 10 * time.Second
)

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,20}$`)

// parseFlags reads the command line.
func parseFlags(args []string, out io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("chatbench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, "Usage: chatbench [flags]   (see `go doc ./cmd/chatbench` for the measurements)\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "base URL of the chat server")
	fs.IntVar(&c.Users, "users", 100, "users to log in, one WebSocket each")
	fs.IntVar(&c.Procs, "procs", 0, "worker processes (0: one per 9,000 connections, at least 2)")
	fs.IntVar(&c.Senders, "senders", 10, "how many of the users send")
	fs.Float64Var(&c.Rate, "rate", 100, "messages per second in total across the senders")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measured time (idle mode: how long connections are held after they settle)")
	fs.DurationVar(&c.Warmup, "warmup", 2*time.Second, "sending time before the measurement starts (not in latency or rate figures)")
	fs.DurationVar(&c.Drain, "drain", 10*time.Second, "longest wait after sending stops for acks and deliveries")
	fs.Float64Var(&c.DMRatio, "dm-ratio", 0, "fraction of sends that go to a direct conversation with a fixed partner instead of the lobby")
	fs.IntVar(&c.Size, "size", 150, "message text bytes (padded)")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "server process for CPU and RSS from /proc (0: the process listening on --url's port)")
	fs.BoolVar(&c.Idle, "idle", false, "only log in and hold the connections; report server RSS per connection")
	fs.BoolVar(&c.FetchPresence, "fetch-presence", false, "idle mode: after the hold every user fetches GET /api/presence once (gzip accepted), as browsers do after a presence burst; reports time, bytes, latency and server CPU")
	fs.IntVar(&c.FetchConcurrency, "fetch-concurrency", 32, "--fetch-presence: fetches in flight across all workers")
	fs.BoolVar(&c.LoginOnly, "login-only", false, "register and log in the users (filling the cookie cache), then exit")
	fs.StringVar(&c.UserPrefix, "user-prefix", "bench", "usernames are <prefix>_<n>; change it so runs do not share users")
	fs.StringVar(&c.Password, "password", "bench-lantern-4417", "password of every bench user")
	fs.BoolVar(&c.JSON, "json", false, "print one JSON line on stdout (the human summary goes to stderr)")
	fs.IntVar(&c.MaxInflight, "max-inflight", 128, "unacknowledged sends per sender before it waits (the gateway queues at most 256 per connection)")
	fs.IntVar(&c.LoginConcurrency, "login-concurrency", 8, "logins in flight across all workers (each costs the server ~35 ms of argon2)")
	fs.IntVar(&c.ConnectConcurrency, "connect-concurrency", 32, "WebSocket handshakes in flight per worker")
	fs.Float64Var(&c.ConnectRate, "connect-rate", 0, "WebSocket connects per second across all workers (0: as fast as they go)")
	fs.IntVar(&c.ReadBuffer, "read-buffer", 256<<10, "bytes one read() may take from a socket (one buffer per worker, shared by its connections)")
	fs.BoolVar(&c.CookieCache, "cookie-cache", true, "reuse session cookies across runs (a file under $TMPDIR keyed by url and prefix)")
	fs.IntVar(&c.SourceIPs, "source-ips", 0, "register and log in from 127.0.0.2… (100 users per address) to stay under the per-IP registration limit; 0: raise the server's limit instead")
	fs.DurationVar(&c.Settle, "settle", 2*time.Minute, "longest wait for the server's CPU to go quiet after connecting")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return c, c.check()
}

func (c *Config) check() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: want http://host:port", c.URL)
	}
	if u.Scheme == "https" {
		return errors.New("--url: https is not supported (measure the server directly, not through TLS)")
	}
	c.URL = u.Scheme + "://" + u.Host
	if c.Users < 1 {
		return errors.New("--users must be at least 1")
	}
	if c.Procs == 0 {
		c.Procs = max(2, (c.Users+8999)/9000)
	}
	c.Procs = min(c.Procs, c.Users)
	if c.Users/c.Procs > 19000 {
		return fmt.Errorf("%d connections per process is above the 20,000 open files a process may have: raise --procs", c.Users/c.Procs)
	}
	if c.Idle || c.LoginOnly {
		c.Senders, c.Rate = 0, 0
	}
	if c.FetchPresence && (!c.Idle || c.FetchConcurrency < 1) {
		return errors.New("--fetch-presence goes with --idle and a --fetch-concurrency of at least 1")
	}
	if c.Senders < 0 || c.Senders > c.Users {
		return errors.New("--senders must be between 0 and --users")
	}
	if c.Senders > 0 && c.Rate <= 0 {
		return errors.New("--rate must be positive")
	}
	if c.DMRatio < 0 || c.DMRatio > 1 {
		return errors.New("--dm-ratio is a fraction from 0 to 1")
	}
	if c.DMRatio > 0 && c.Users < 2*c.Procs {
		return errors.New("--dm-ratio needs at least two users per worker (DM partners live in the same worker)")
	}
	if c.Size < 40 || c.Size > 4000 {
		return errors.New("--size must be 40 to 4000 bytes (the header takes ~40)")
	}
	if !prefixRE.MatchString(c.UserPrefix) {
		return errors.New("--user-prefix: 1–20 letters, digits or _")
	}
	if len(c.Password) < 8 {
		return errors.New("--password: at least 8 characters")
	}
	if c.Duration <= 0 {
		return errors.New("--duration must be positive")
	}
	if c.MaxInflight < 1 {
		c.MaxInflight = 1
	}
	c.LoginConcurrency = max(c.LoginConcurrency, 1)
	c.ConnectConcurrency = max(c.ConnectConcurrency, 1)
	c.ReadBuffer = max(c.ReadBuffer, 4096)
	return nil
}

// part is one worker's share: users [Lo, Hi) of which the first Senders
// send; their sender ordinals start at SenderBase.
type part struct {
	Lo, Hi, Senders, SenderBase int
}

// layout splits users and senders evenly over procs. Every process
// computes it the same way, so a receiver knows every sender's partner.
func layout(users, procs, senders int) []part {
	parts := make([]part, procs)
	lo, sb := 0, 0
	for i := range parts {
		n := users / procs
		if i < users%procs {
			n++
		}
		s := senders / procs
		if i < senders%procs {
			s++
		}
		s = min(s, n)
		parts[i] = part{Lo: lo, Hi: lo + n, Senders: s, SenderBase: sb}
		lo += n
		sb += s
	}
	// Senders that did not fit in small parts go to the others.
	if sb < senders {
		left := senders - sb
		for i := range parts {
			extra := min(left, parts[i].Hi-parts[i].Lo-parts[i].Senders)
			parts[i].Senders += extra
			left -= extra
		}
		sb = 0
		for i := range parts {
			parts[i].SenderBase = sb
			sb += parts[i].Senders
		}
	}
	return parts
}

// senderUser returns the user index of sender ordinal o.
func senderUser(parts []part, o int) (user, partIdx int) {
	for i, p := range parts {
		if o < p.SenderBase+p.Senders {
			return p.Lo + o - p.SenderBase, i
		}
	}
	return -1, -1
}

// partner is the fixed DM partner of user u: the user half a part away,
// in the same worker.
func partner(p part, u int) int {
	size := p.Hi - p.Lo
	if size < 2 {
		return -1
	}
	return p.Lo + (u-p.Lo+size/2)%size
}

// username of user index i.
func (c *Config) username(i int) string { return fmt.Sprintf("%s_%d", c.UserPrefix, i) }

// needRateCount is the smallest --chat-rate-count (per default 10 s window)
// the server needs for this run, with headroom for bursts after waiting.
func (c *Config) needRateCount() int {
	if c.Senders == 0 {
		return 0
	}
	per := c.Rate / float64(c.Senders) * defaultRateWindow.Seconds()
	return int(per*1.5) + c.MaxInflight
}
