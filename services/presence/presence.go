// Package presence is who is online: it follows the connection events and
// heartbeats of the chat gateways, announces arrivals and departures to
// everyone (a delta plus the count) and answers the online list.
package presence

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/wire"
)

// Config is what the service is built from; zero durations take defaults.
type Config struct {
	Bus            *bus.Conn
	Log            *slog.Logger
	Now            func() time.Time      // the clock; time.Now when nil
	GatewayTimeout time.Duration         // a gateway silent this long is dropped with its connections; 12 s
	OfflineGrace   time.Duration         // a user whose last connection closed stays online this long; 2 s
	SweepInterval  time.Duration         // how often Run drops silent gateways and ends graces; 1 s
	Warmup         time.Duration         // after Subscribe, arrivals learnt from heartbeats are not announced; 6 s, negative: none
	Registry       prometheus.Registerer // where the gauges go; none when nil
}

// Service is the presence service.
type Service struct {
	cfg Config
	bus *bus.Conn
	log *slog.Logger
	now func() time.Time
	m   *metrics

	mu      sync.Mutex // guards st and started; held while announcing, so announcements go out in order
	st      *state
	started time.Time
}

// New builds the service; call Subscribe, Routes and Run to put it to work.
func New(c Config) *Service {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	set := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	set(&c.GatewayTimeout, 12*time.Second)
	set(&c.OfflineGrace, 2*time.Second)
	set(&c.SweepInterval, time.Second)
	set(&c.Warmup, 6*time.Second)
	s := &Service{cfg: c, bus: c.Bus, log: c.Log.With("service", "presence"), now: c.Now, st: newState()}
	s.m = newMetrics(c.Registry, s)
	return s
}

// Subscribe follows gateways' connection events and heartbeats and answers
// presence.get on the bus.
func (s *Service) Subscribe() error {
	s.mu.Lock()
	s.started = s.now()
	s.mu.Unlock()
	if _, err := bus.Subscribe(s.bus, wire.SubjectPresenceConn, s.onConn); err != nil {
		return err
	}
	if _, err := bus.Subscribe(s.bus, wire.SubjectPresenceHeartbeat, s.onHeartbeat); err != nil {
		return err
	}
	_, err := bus.Handle(s.bus, wire.SubjectPresenceGet, "presence", func(_ context.Context, r wire.PresenceRequest) (wire.PresenceReply, error) {
		return s.online(r.CountOnly), nil
	})
	return err
}

// online is the online count and, unless countOnly, everyone online, most
// recent arrival first (never nil).
func (s *Service) online(countOnly bool) wire.PresenceReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if countOnly {
		return wire.PresenceReply{OnlineCount: len(s.st.users)}
	}
	users := s.st.list()
	return wire.PresenceReply{OnlineCount: len(users), Users: users}
}

func (s *Service) onConn(ev wire.ConnEvent) {
	if ev.GatewayID == "" || ev.ConnID == "" || (ev.Open && ev.User.ID == "") {
		s.log.Warn("drop incomplete connection event", "gateway", ev.GatewayID, "conn", ev.ConnID)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if !ev.Open {
		s.st.close(ev.GatewayID, ev.ConnID, now)
		return
	}
	if ch, ok := s.st.open(ev.GatewayID, ev.ConnID, ev.User, now); ok {
		s.announce(ch)
	}
}

func (s *Service) onHeartbeat(hb wire.GatewayHeartbeat) {
	if hb.GatewayID == "" {
		s.log.Warn("drop heartbeat without gateway id")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	changes := s.st.heartbeat(hb.GatewayID, hb.Conns, now)
	if s.cfg.Warmup > 0 && now.Sub(s.started) < s.cfg.Warmup {
		// Rebuilding after a restart: these people were online before.
		return
	}
	for _, ch := range changes {
		s.announce(ch)
	}
}

// Run drops silent gateways and announces departures whose grace ended,
// every SweepInterval until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sweep()
		}
	}
}

func (s *Service) sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.st.sweep(s.now(), s.cfg.GatewayTimeout, s.cfg.OfflineGrace) {
		s.announce(ch)
	}
}

// presenceFrame is the WebSocket frame every client gets on an arrival or
// departure.
type presenceFrame struct {
	Type        string    `json:"type"`
	User        wire.User `json:"user"`
	Online      bool      `json:"online"`
	OnlineCount int       `json:"online_count"`
}

// announce sends one arrival or departure to every connection, encoded once.
// Called with s.mu held, so frames leave in the order the changes happened.
func (s *Service) announce(ch change) {
	s.m.announced(ch.online)
	frame, err := json.Marshal(presenceFrame{Type: "presence", User: ch.user, Online: ch.online, OnlineCount: ch.count})
	if err != nil {
		s.log.Error("encode presence frame", "err", err)
		return
	}
	s.log.Debug("presence", "user", ch.user.ID, "online", ch.online, "count", ch.count)
	if err := s.bus.Publish(wire.SubjectDeliver, wire.Delivery{Frame: frame}); err != nil {
		s.log.Warn("announce presence", "user", ch.user.ID, "online", ch.online, "err", err)
	}
}

// Ping checks the bus.
func (s *Service) Ping(ctx context.Context) error { return s.bus.Ping(ctx) }
