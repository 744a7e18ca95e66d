// Package presence is who is online: it follows the connection events and
// heartbeats of the chat gateways, announces arrivals and departures to
// everyone (a delta plus the count) and answers the online list.
package presence

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
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
	Warmup         time.Duration         // alone: after Subscribe, arrivals learnt from heartbeats are not announced; 6 s, negative: none
	Registry       prometheus.Registerer // where the gauges go; none when nil

	// Shared is the record of who is online that the replicas of this
	// service share, so that each change is announced by one of them; nil
	// when this replica runs alone (`chatroom all`).
	Shared *bus.Bucket
	// Reconcile is how often a replica compares the shared record with
	// what it sees and repairs a difference that lasted two rounds; 10 s.
	Reconcile time.Duration
	// HelloWait is how long after Subscribe a replica that shares the
	// record reports not ready, while every gateway answers its hello with
	// a heartbeat; 1 s.
	HelloWait time.Duration
}

// claimTimeout bounds one change of the shared record.
const claimTimeout = 3 * time.Second

// Service is the presence service.
type Service struct {
	cfg Config
	bus *bus.Conn
	log *slog.Logger
	now func() time.Time
	m   *metrics

	ledger  ledger
	mu      sync.Mutex // guards st, started and suspects
	st      *state
	started time.Time
	// suspects are the differences between the shared record and st seen
	// by the last reconcile: "+id" online here only, "-id" recorded only.
	suspects map[string]bool

	// annMu orders announcements: taken before mu is released, so the
	// changes of one state update go out before those of the next. It
	// guards burst too.
	annMu sync.Mutex
	burst burst
	// bursting mirrors burst.on for presence.get, which must not wait
	// for annMu (held across the shared record's round trips)
	bursting atomic.Bool

	lists listCache
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
	set(&c.Reconcile, 10*time.Second)
	set(&c.HelloWait, time.Second)
	s := &Service{cfg: c, bus: c.Bus, log: c.Log.With("service", "presence"), now: c.Now, st: newState(), ledger: soleLedger{},
		burst: burst{window: c.SweepInterval}}
	if c.Shared != nil {
		s.ledger = sharedLedger{c.Shared}
	}
	s.m = newMetrics(c.Registry, s)
	return s
}

// Subscribe follows gateways' connection events and heartbeats, answers
// presence.get on the bus, and asks every gateway for a heartbeat now.
// Every replica follows every gateway (no queue group): each sees all.
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
	if err != nil {
		return err
	}
	return s.bus.Publish(wire.SubjectPresenceHello, struct{}{})
}

// Ready fails while a replica that shares the record is still hearing
// the gateways' answers to its hello (HelloWait after Subscribe): until
// then its online list may lack people.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.bus.Ping(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if s.cfg.Shared != nil && (started.IsZero() || s.now().Sub(started) < s.cfg.HelloWait) {
		return errors.New("presence: hearing from the gateways")
	}
	return nil
}

// online is the online count, whether a burst is being held, and, unless
// countOnly, everyone online, most recent arrival first (never nil).
func (s *Service) online(countOnly bool) wire.PresenceReply {
	burst := s.bursting.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	if countOnly {
		return wire.PresenceReply{OnlineCount: len(s.st.users), Burst: burst}
	}
	users := s.st.list()
	return wire.PresenceReply{OnlineCount: len(users), Users: users, Burst: burst}
}

func (s *Service) onConn(ev wire.ConnEvent) {
	if ev.GatewayID == "" || ev.ConnID == "" || (ev.Open && ev.User.ID == "") {
		s.log.Warn("drop incomplete connection event", "gateway", ev.GatewayID, "conn", ev.ConnID)
		return
	}
	s.mu.Lock()
	now := s.now()
	if !ev.Open {
		s.st.close(ev.GatewayID, ev.ConnID, now)
		s.mu.Unlock()
		return
	}
	var changes []change
	if ch, ok := s.st.open(ev.GatewayID, ev.ConnID, ev.User, now); ok {
		changes = append(changes, ch)
	}
	s.announceUnlock(changes)
}

func (s *Service) onHeartbeat(hb wire.GatewayHeartbeat) {
	if hb.GatewayID == "" {
		s.log.Warn("drop heartbeat without gateway id")
		return
	}
	s.mu.Lock()
	now := s.now()
	changes := s.st.heartbeat(hb.GatewayID, hb.Conns, now)
	if s.cfg.Shared == nil && s.cfg.Warmup > 0 && now.Sub(s.started) < s.cfg.Warmup {
		// Rebuilding after a restart: these people were online before. (A
		// shared record knows: it makes no announcement for them.)
		changes = nil
	}
	s.announceUnlock(changes)
}

// Run drops silent gateways and announces departures whose grace ended,
// every SweepInterval until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	var reconcile <-chan time.Time
	if s.cfg.Shared != nil {
		r := time.NewTicker(s.cfg.Reconcile)
		defer r.Stop()
		reconcile = r.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sweep()
		case <-reconcile:
			s.reconcile(ctx)
		}
	}
}

func (s *Service) sweep() {
	s.mu.Lock()
	s.announceUnlock(s.st.sweep(s.now(), s.cfg.GatewayTimeout, s.cfg.OfflineGrace))
	s.annMu.Lock()
	defer s.annMu.Unlock()
	sync, count := s.burst.tick(s.now())
	s.bursting.Store(s.burst.on)
	if sync {
		s.publish(syncFrame{Type: "presence_sync", OnlineCount: count}, "count", count)
		s.m.synced()
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

// syncFrame stands for the changes held in a burst (burst.go): the count,
// and "fetch the list again".
type syncFrame struct {
	Type        string `json:"type"`
	OnlineCount int    `json:"online_count"`
}

// announceUnlock records changes in the ledger and announces those this
// replica recorded, in order; called with s.mu held, which it releases
// (the ledger may be across the network: readers of the state do not wait
// for it).
func (s *Service) announceUnlock(changes []change) {
	if len(changes) == 0 {
		s.mu.Unlock()
		return
	}
	s.annMu.Lock()
	s.mu.Unlock()
	var adopt []change // arrivals another replica recorded, with its since
	for _, ch := range changes {
		ctx, cancel := context.WithTimeout(context.Background(), claimTimeout)
		var won bool
		var rec wire.OnlineUser
		var err error
		if ch.online {
			won, rec, err = s.ledger.arrive(ctx, ch.user, ch.since)
		} else {
			won, rec, err = s.ledger.leave(ctx, ch.user.ID)
		}
		cancel()
		switch {
		case err != nil:
			s.log.Warn("record presence", "user", ch.user.ID, "online", ch.online, "err", err)
		case won:
			if ch.user.Username == "" { // a departure found by reconcile: the record knows who
				ch.user = rec.User
			}
			s.announce(ch)
		case ch.online && !rec.OnlineSince.IsZero():
			adopt = append(adopt, change{user: ch.user, since: ch.since, recorded: rec.OnlineSince.Time})
		}
	}
	s.annMu.Unlock()
	if len(adopt) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range adopt {
		if p := s.st.users[ch.user.ID]; p != nil && p.since.Equal(ch.since) && !p.since.Equal(ch.recorded) {
			p.since = ch.recorded // every replica lists the same since
			s.st.version++
		}
	}
}

// reconcile compares the shared record with this replica's state and
// repairs differences seen twice in a row (so it never races a change
// in flight): a record of someone not online here is ended (they left
// while no replica could record it), someone connected here without a
// record is recorded (their arrival was not). Each repair is announced by
// the replica that makes it.
func (s *Service) reconcile(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, claimTimeout)
	keys, err := s.ledger.online(ctx)
	cancel()
	if err != nil {
		if !errors.Is(err, errNotShared) {
			s.log.Warn("read presence record", "err", err)
		}
		return
	}
	recorded := make(map[string]bool, len(keys))
	for _, k := range keys {
		recorded[k] = true
	}
	s.mu.Lock()
	suspects := map[string]bool{}
	var changes []change
	for id := range recorded {
		if s.st.users[id] == nil {
			suspects["-"+id] = true
			if s.suspects["-"+id] {
				changes = append(changes, change{user: wire.User{ID: id}, online: false})
			}
		}
	}
	for id, p := range s.st.users {
		if len(p.conns) > 0 && !recorded[id] {
			suspects["+"+id] = true
			if s.suspects["+"+id] {
				changes = append(changes, change{user: p.user, online: true, since: p.since})
			}
		}
	}
	for i := range changes {
		changes[i].count = len(s.st.users)
	}
	s.suspects = suspects
	s.announceUnlock(changes)
}

// announce sends one arrival or departure to every connection, encoded
// once, or holds it for the next presence_sync in a burst. Called with
// annMu held, so frames leave in the order the changes happened.
func (s *Service) announce(ch change) {
	if !s.burst.admit(s.now(), ch.count) {
		s.bursting.Store(true)
		s.m.held()
		return
	}
	s.m.announced(ch.online)
	s.publish(presenceFrame{Type: "presence", User: ch.user, Online: ch.online, OnlineCount: ch.count},
		"user", ch.user.ID, "online", ch.online, "count", ch.count)
}

// publish sends a frame to every connection; attrs describe it in logs.
func (s *Service) publish(frame any, attrs ...any) {
	data, err := json.Marshal(frame)
	if err != nil {
		s.log.Error("encode presence frame", append(attrs, "err", err)...)
		return
	}
	s.log.Debug("presence", attrs...)
	if err := s.bus.Publish(wire.SubjectDeliver, wire.Delivery{Frame: data}); err != nil {
		s.log.Warn("announce presence", append(attrs, "err", err)...)
	}
}

// Ping checks the bus.
func (s *Service) Ping(ctx context.Context) error { return s.bus.Ping(ctx) }
