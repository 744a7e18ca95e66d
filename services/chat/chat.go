// Package chat is the WebSocket gateway: it verifies sessions, receives
// frames, asks history to store messages, acknowledges them, and fans out
// everything published on chat.deliver to the connections open here.
package chat

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/internal/wire"
)

// Config shapes the gateway. Zero fields take the defaults of DESIGN §4–§5.
type Config struct {
	Bus       *bus.Conn
	App       *platform.App // for the Origin check and metrics
	Log       *slog.Logger
	GatewayID string // unique per process; random when empty

	FrameBytes        int           // largest client frame (64 KiB)
	RateCount         int           // messages per user …
	RateWindow        time.Duration // … per window (20 per 10 s)
	QueueFrames       int           // a connection's send queue, in frames …
	QueueBytes        int           // … and bytes; full means too slow
	PingInterval      time.Duration // 25 s
	IdleTimeout       time.Duration // 60 s without a frame or pong closes
	HeartbeatInterval time.Duration // presence heartbeat, 5 s
	WriteTimeout      time.Duration // how long a socket may stay full, 10 s
	// WriteDelay is the least time between two writes to one connection
	// under load (frames of that time go out together); 0 writes at once.
	WriteDelay time.Duration
	// PortableIO reads every connection with a goroutine of its own, as on
	// systems without epoll (tests run the gateway both ways).
	PortableIO bool
	// Drain spreads the end of a stopping gateway's connections evenly
	// over this time: each gets a close frame 1012 "service restart" and
	// its client reconnects (to another gateway), not all at once; 0
	// closes them all at once.
	Drain time.Duration
}

func (c *Config) defaults() {
	set := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.GatewayID == "" {
		c.GatewayID = "gw-" + ids.New()[:12]
	}
	if c.FrameBytes == 0 {
		c.FrameBytes = 64 << 10
	}
	if c.RateCount == 0 {
		c.RateCount = 20
	}
	if c.QueueFrames == 0 {
		c.QueueFrames = 1024
	}
	if c.QueueBytes == 0 {
		c.QueueBytes = 4 << 20
	}
	set(&c.RateWindow, 10*time.Second)
	set(&c.PingInterval, 25*time.Second)
	set(&c.IdleTimeout, 60*time.Second)
	set(&c.HeartbeatInterval, 5*time.Second)
	set(&c.WriteTimeout, 10*time.Second)
	if c.WriteDelay < 0 {
		c.WriteDelay = 0
	}
}

// Service is one gateway.
type Service struct {
	cfg     Config
	bus     *bus.Conn
	log     *slog.Logger
	hub     *hub
	flusher *flusher
	poller  *poller // nil with PortableIO
	limits  *rateLimiter
	verify  platform.Verifier

	membersMu sync.Mutex
	members   map[string]membersEntry // user|conversation → members
}

type membersEntry struct {
	members []string
	at      time.Time
}

// New builds a gateway; call Subscribe, Routes and Run.
func New(cfg Config) (*Service, error) {
	cfg.defaults()
	var m *metrics
	if cfg.App != nil {
		m = newMetrics(cfg.App.Registry())
	} else {
		m = newMetrics(nil)
	}
	s := &Service{
		cfg: cfg, bus: cfg.Bus, log: cfg.Log.With("service", "chat", "gateway", cfg.GatewayID),
		hub: newHub(cfg, m), flusher: newFlusher(cfg.WriteDelay, m.rounds), limits: newRateLimiter(cfg.RateCount, cfg.RateWindow),
		verify: platform.BusVerifier(cfg.Bus), members: map[string]membersEntry{},
	}
	if !cfg.PortableIO {
		p, err := newPoller(runtime.GOMAXPROCS(0))
		if err != nil {
			return nil, err
		}
		s.poller = p
	}
	return s, nil
}

// Subscribe receives deliveries for this gateway's connections, closes
// the sockets of sessions that end, and answers a presence replica's hello
// with a heartbeat.
func (s *Service) Subscribe() error {
	if _, err := bus.Subscribe(s.bus, wire.SubjectDeliver, s.hub.deliver); err != nil {
		return err
	}
	if _, err := bus.Subscribe(s.bus, wire.SubjectPresenceHello, func(struct{}) { s.heartbeat() }); err != nil {
		return err
	}
	_, err := bus.Subscribe(s.bus, wire.SubjectSessionRevoked, func(e wire.SessionRevoked) {
		s.hub.each(func(c *conn) {
			if c.sessionID == e.SessionID {
				c.closeWith(closeSessionEnded, "session ended")
			}
		})
	})
	return err
}

// Routes mounts GET /ws.
func (s *Service) Routes(r fiber.Router) {
	r.Get("/ws", s.handshake, websocket.New(s.serve, websocket.Config{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  256, // the gateway writes frames itself; the library's buffer is for its rare control frames
		WriteBufferPool:  &sync.Pool{},
	}))
}

const sessionLocal = "chat.session"

// handshake checks, before upgrading, that this is a WebSocket from this
// site (Origin) with a live session.
func (s *Service) handshake(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return &apperr.Error{Code: "upgrade_required", Message: "Connect with a WebSocket."}
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" || s.cfg.App == nil || !s.cfg.App.OriginMatches(c, origin) {
		return apperr.Errorf(apperr.ForbiddenOrigin, "WebSocket from another site refused.")
	}
	token := c.Cookies(platform.SessionCookie)
	if token == "" {
		return apperr.Errorf(apperr.Unauthorized, "Please log in.")
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 5*time.Second)
	defer cancel()
	sess, err := s.verify(ctx, token)
	if err != nil {
		return err
	}
	c.Locals(sessionLocal, sess)
	return c.Next()
}

// Run sends presence heartbeats, pings every connection and closes expired
// sessions until ctx ends; then it tells every client to reconnect (see
// drain) and returns once they are gone.
func (s *Service) Run(ctx context.Context) {
	beat := time.NewTicker(s.cfg.HeartbeatInterval)
	ping := time.NewTicker(s.cfg.PingInterval)
	sweep := time.NewTicker(min(max(s.cfg.IdleTimeout/4, 10*time.Millisecond), 5*time.Second))
	defer beat.Stop()
	defer ping.Stop()
	defer sweep.Stop()
	flushCtx, stopFlush := context.WithCancel(context.Background())
	flushed := make(chan struct{})
	go func() {
		s.flusher.run(flushCtx)
		close(flushed)
	}()
	s.heartbeat()
	for {
		select {
		case <-ctx.Done():
			s.drain()
			stopFlush()
			<-flushed
			s.flusher.round() // the close frames
			for end := time.Now().Add(time.Second); s.hub.count() > 0 && time.Now().Before(end); {
				time.Sleep(10 * time.Millisecond) // clients answer the close
			}
			s.hub.each(func(c *conn) { c.shut() })
			if s.poller != nil {
				s.poller.close()
			}
			return
		case now := <-sweep.C:
			s.hub.each(func(c *conn) {
				if c.stale(now, s.cfg.IdleTimeout, s.cfg.WriteTimeout) {
					c.shut()
				}
			})
		case <-beat.C:
			s.heartbeat()
			now := time.Now()
			s.hub.each(func(c *conn) {
				if !c.expiresAt.IsZero() && now.After(c.expiresAt) {
					c.closeWith(closeSessionEnded, "session expired")
				}
			})
		case <-ping.C:
			frame := appendFrame(nil, opPing, nil)
			s.hub.each(func(c *conn) { c.push(frame, false) })
		}
	}
}

// drain tells every client to reconnect, spread evenly over Drain: the
// i-th of n connections gets its close frame i·Drain/n after the start.
// Deliveries to the others go on meanwhile.
func (s *Service) drain() {
	var conns []*conn
	s.hub.each(func(c *conn) { conns = append(conns, c) })
	s.log.Info("draining", "connections", len(conns), "over", s.cfg.Drain)
	start := time.Now()
	for i, c := range conns {
		due := start.Add(s.cfg.Drain * time.Duration(i) / time.Duration(len(conns)))
		if wait := time.Until(due); wait > time.Millisecond {
			time.Sleep(wait)
		}
		c.closeWith(closeRestart, "service restart")
	}
	s.hub.each(func(c *conn) { c.closeWith(closeRestart, "service restart") }) // any that opened meanwhile
}

func (s *Service) heartbeat() {
	if err := s.bus.Publish(wire.SubjectPresenceHeartbeat, wire.GatewayHeartbeat{GatewayID: s.cfg.GatewayID, Conns: s.hub.snapshot()}); err != nil {
		s.log.Warn("presence heartbeat", "err", err)
	}
}

// Ping checks the bus.
func (s *Service) Ping(ctx context.Context) error { return s.bus.Ping(ctx) }
