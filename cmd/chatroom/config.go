package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/webchatroom/chatroom/internal/blob"
	"github.com/webchatroom/chatroom/services/auth"
	"github.com/webchatroom/chatroom/services/media"
)

// Config is everything the binary can be told, from flags or CHATROOM_* env.
type Config struct {
	Addr           string
	Data           string
	NATSURL        string
	NATSPrefix     string
	MongoURI       string
	MongoDB        string
	S3             blob.S3Config
	PublicOrigins  []string
	TrustedProxies []string
	LogLevel       string
	LogFormat      string
	DebugAddr      string
	Auth           auth.Limits
	Chat           ChatLimits
	Media          media.Limits
}

// ChatLimits are the gateway's limits (DESIGN §4–§5).
type ChatLimits struct {
	FrameBytes  int
	RateCount   int
	RateWindow  time.Duration
	QueueFrames int
	QueueBytes  int
	WriteDelay  time.Duration
	Drain       time.Duration
}

// envName is the environment variable of a flag: --nats-url → CHATROOM_NATS_URL.
func envName(flagName string) string {
	return "CHATROOM_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// binder defines flags whose defaults come from the environment.
type binder struct {
	fs   *flag.FlagSet
	errs []string
}

func (b *binder) env(name string) (string, bool) { return os.LookupEnv(envName(name)) }

func (b *binder) str(p *string, name, def, usage string) {
	if v, ok := b.env(name); ok {
		def = v
	}
	b.fs.StringVar(p, name, def, usage+" ["+envName(name)+"]")
}

func (b *binder) list(p *[]string, name, usage string) {
	var def string
	if v, ok := b.env(name); ok {
		def = v
	}
	*p = splitList(def)
	b.fs.Func(name, usage+" (comma-separated) ["+envName(name)+"]", func(v string) error {
		*p = splitList(v)
		return nil
	})
}

// parsed defines a flag of any parsed type whose default may come from the
// environment; a bad environment value is reported, not ignored.
func parsed[T any](b *binder, p *T, name string, def T, usage, want string, parse func(string) (T, error)) {
	if v, ok := b.env(name); ok {
		if val, err := parse(v); err != nil {
			b.errs = append(b.errs, fmt.Sprintf("%s=%q: %s", envName(name), v, want))
		} else {
			def = val
		}
	}
	*p = def
	b.fs.Func(name, fmt.Sprintf("%s (default %v) [%s]", usage, def, envName(name)), func(v string) error {
		val, err := parse(v)
		if err != nil {
			return fmt.Errorf("%s", want)
		}
		*p = val
		return nil
	})
}

func (b *binder) boolean(p *bool, name string, def bool, usage string) {
	if v, ok := b.env(name); ok {
		parsedBool, err := strconv.ParseBool(v)
		if err != nil {
			b.errs = append(b.errs, fmt.Sprintf("%s=%q: not true or false", envName(name), v))
		}
		def = parsedBool
	}
	b.fs.BoolVar(p, name, def, usage+" ["+envName(name)+"]") // a bool flag may stand alone: --s3-tls
}

func (b *binder) integer(p *int, name string, def int, usage string) {
	parsed(b, p, name, def, usage, "not a whole number", strconv.Atoi)
}

func (b *binder) int64(p *int64, name string, def int64, usage string) {
	parsed(b, p, name, def, usage, "not a whole number", func(v string) (int64, error) { return strconv.ParseInt(v, 10, 64) })
}

func (b *binder) duration(p *time.Duration, name string, def time.Duration, usage string) {
	parsed(b, p, name, def, usage, "not a duration like 15m", time.ParseDuration)
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseConfig reads the flags of a sub-command, with env defaults.
func parseConfig(cmd string, args []string) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("chatroom "+cmd, flag.ContinueOnError)
	b := &binder{fs: fs}
	b.str(&c.Addr, "addr", ":8080", "HTTP listen address")
	b.str(&c.Data, "data", "./data", "data folder of `chatroom all`: SQLite files and stored pictures")
	b.str(&c.NATSURL, "nats-url", "", "external NATS server, e.g. nats://nats:4222 (`all`: in-process when empty)")
	b.str(&c.NATSPrefix, "nats-prefix", "chatroom", "prefix of every NATS subject, so deployments can share a NATS server")
	b.str(&c.MongoURI, "mongo-uri", "", "MongoDB URI (`all`: SQLite when empty)")
	b.str(&c.MongoDB, "mongo-db", "chatroom", "MongoDB database name")
	b.str(&c.S3.Endpoint, "s3-endpoint", "", "S3/MinIO endpoint host:port (`all`: a folder when empty)")
	b.str(&c.S3.Bucket, "s3-bucket", "chatroom", "S3 bucket, created when missing")
	b.str(&c.S3.AccessKey, "s3-access-key", "", "S3 access key")
	b.str(&c.S3.SecretKey, "s3-secret-key", "", "S3 secret key")
	b.str(&c.S3.Region, "s3-region", "us-east-1", "S3 region")
	b.boolean(&c.S3.TLS, "s3-tls", false, "use HTTPS to reach S3")
	b.list(&c.PublicOrigins, "public-origin", "public origins of the site behind a proxy, e.g. https://chat.example.com")
	b.list(&c.TrustedProxies, "trusted-proxies", "proxy IPs or CIDRs whose X-Forwarded-For is believed")
	b.str(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	b.str(&c.LogFormat, "log-format", "text", "text or json")
	b.str(&c.DebugAddr, "debug-addr", "", "serve Go's profiler (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; keep it off the network")

	l := auth.DefaultLimits()
	b.integer(&l.UsernameMin, "limit-username-min", l.UsernameMin, "shortest username")
	b.integer(&l.UsernameMax, "limit-username-max", l.UsernameMax, "longest username")
	b.integer(&l.NicknameMax, "limit-nickname-max", l.NicknameMax, "longest nickname")
	b.integer(&l.PasswordMin, "limit-password-min", l.PasswordMin, "shortest password")
	b.integer(&l.PasswordMax, "limit-password-max", l.PasswordMax, "longest password")
	b.int64(&l.AvatarBytes, "limit-avatar-bytes", l.AvatarBytes, "largest avatar upload in bytes")
	b.int64(&l.AvatarPixels, "limit-avatar-pixels", l.AvatarPixels, "most pixels of an avatar picture")
	b.integer(&l.LoginFailures, "limit-login-failures", l.LoginFailures, "failed logins per username and IP before 429")
	b.duration(&l.LoginWindow, "limit-login-window", l.LoginWindow, "window of the failed-login limit")
	b.integer(&l.Registrations, "limit-registrations", l.Registrations, "registrations per IP before 429")
	b.duration(&l.RegistrationWindow, "limit-registration-window", l.RegistrationWindow, "window of the registration limit")
	b.duration(&l.SessionTTL, "session-ttl", l.SessionTTL, "how long a login lasts")
	c.Chat = ChatLimits{FrameBytes: 64 << 10, RateCount: 20, RateWindow: 10 * time.Second, QueueFrames: 1024, QueueBytes: 4 << 20, WriteDelay: 12 * time.Millisecond}
	b.integer(&c.Chat.FrameBytes, "chat-frame-bytes", c.Chat.FrameBytes, "largest WebSocket frame a client may send")
	b.integer(&c.Chat.RateCount, "chat-rate-count", c.Chat.RateCount, "messages a user may send per rate window")
	b.duration(&c.Chat.RateWindow, "chat-rate-window", c.Chat.RateWindow, "window of the message rate limit")
	b.integer(&c.Chat.QueueFrames, "chat-queue-frames", c.Chat.QueueFrames, "frames queued for one connection before it is closed as too slow")
	b.integer(&c.Chat.QueueBytes, "chat-queue-bytes", c.Chat.QueueBytes, "bytes queued for one connection before it is closed as too slow")
	b.duration(&c.Chat.WriteDelay, "chat-write-delay", c.Chat.WriteDelay, "least time between two writes to one WebSocket under load; frames of that time go out in one write (0: at once)")
	if cmd == "chat" { // a gateway among others: its clients move to them, not all at once
		c.Chat.Drain = 5 * time.Second
	}
	b.duration(&c.Chat.Drain, "chat-drain", c.Chat.Drain, "on SIGTERM, tell the gateway's clients to reconnect (close 1012) spread over this time (0: all at once)")
	c.Media = media.DefaultLimits()
	b.int64(&c.Media.ImageBytes, "limit-image-bytes", c.Media.ImageBytes, "largest picture upload in bytes")
	b.int64(&c.Media.ImagePixels, "limit-image-pixels", c.Media.ImagePixels, "most pixels of an uploaded picture")
	b.integer(&c.Media.ThumbSide, "limit-thumbnail-side", c.Media.ThumbSide, "longest side of a picture's thumbnail in pixels")
	b.int64(&c.Media.VoiceBytes, "limit-voice-bytes", c.Media.VoiceBytes, "largest voice upload in bytes")
	b.integer(&c.Media.VoiceMS, "limit-voice-ms", c.Media.VoiceMS, "longest voice message in milliseconds")
	b.integer(&c.Media.Waveform, "limit-waveform", c.Media.Waveform, "most values of a voice message's waveform")
	b.duration(&c.Media.UnsentTTL, "media-unsent-ttl", c.Media.UnsentTTL, "how long an upload never sent in a message is kept before it is deleted (0: forever)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if len(b.errs) > 0 {
		return c, fmt.Errorf("bad environment: %s", strings.Join(b.errs, "; "))
	}
	c.Auth = l
	return c, nil
}
