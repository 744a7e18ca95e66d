package presence

import "github.com/prometheus/client_golang/prometheus"

// metrics are presence's gauges (read from the state at scrape time) and
// its announcement counter.
type metrics struct {
	announcements      *prometheus.CounterVec
	heldChanges, syncs prometheus.Counter
	listBuilds         prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, s *Service) *metrics {
	m := &metrics{announcements: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chatroom_presence_announcements_total", Help: "Arrivals (online=true) and departures (online=false) announced.",
	}, []string{"online"}),
		heldChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatroom_presence_held_total", Help: "Arrivals and departures held in a burst and announced by a presence_sync instead.",
		}),
		syncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatroom_presence_syncs_total", Help: "presence_sync frames sent (one per sweep while a burst lasts).",
		}),
		listBuilds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatroom_presence_list_builds_total", Help: "GET /api/presence bodies encoded (once per change of who is online that a fetch saw).",
		}),
	}
	if reg == nil {
		return m
	}
	read := func(f func(*state) int) func() float64 {
		return func() float64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			return float64(f(s.st))
		}
	}
	collectors := []prometheus.Collector{
		m.announcements, m.heldChanges, m.syncs, m.listBuilds,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chatroom_presence_online_users", Help: "Users online (including those in their offline grace)."},
			read(func(st *state) int { return len(st.users) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chatroom_presence_connections", Help: "Open WebSocket connections across gateways."},
			read((*state).connCount)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chatroom_presence_gateways", Help: "Gateways heard from within the gateway timeout."},
			read(func(st *state) int { return len(st.gateways) })),
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			s.log.Warn("register presence metric", "err", err)
		}
	}
	return m
}

func (m *metrics) announced(online bool) {
	if online {
		m.announcements.WithLabelValues("true").Inc()
	} else {
		m.announcements.WithLabelValues("false").Inc()
	}
}

func (m *metrics) held()      { m.heldChanges.Inc() }
func (m *metrics) synced()    { m.syncs.Inc() }
func (m *metrics) listBuilt() { m.listBuilds.Inc() }
