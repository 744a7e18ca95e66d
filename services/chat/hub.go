package chat

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webchatroom/chatroom/internal/wire"
)

// hub is the set of connections open on this gateway.
type hub struct {
	cfg     Config
	metrics *metrics

	mu     sync.RWMutex
	conns  map[string]*conn            // by conn id
	byUser map[string]map[string]*conn // user id → conn id → conn
}

func newHub(cfg Config, m *metrics) *hub {
	return &hub{cfg: cfg, metrics: m, conns: map[string]*conn{}, byUser: map[string]map[string]*conn{}}
}

func (h *hub) add(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.conns[c.id] = c
	if h.byUser[c.user.ID] == nil {
		h.byUser[c.user.ID] = map[string]*conn{}
	}
	h.byUser[c.user.ID][c.id] = c
	h.metrics.conns.Set(float64(len(h.conns)))
}

func (h *hub) remove(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c.id)
	if m := h.byUser[c.user.ID]; m != nil {
		delete(m, c.id)
		if len(m) == 0 {
			delete(h.byUser, c.user.ID)
		}
	}
	h.metrics.conns.Set(float64(len(h.conns)))
}

// deliver hands the same frame bytes to every connection of the members
// (all connections when members is nil), except the one named. It never
// blocks on a client.
func (h *hub) deliver(d wire.Delivery) {
	frame := appendFrame(nil, opText, d.Frame) // encoded once for everyone
	h.mu.RLock()
	var targets []*conn
	if d.Members == nil {
		targets = make([]*conn, 0, len(h.conns))
		for _, c := range h.conns {
			targets = append(targets, c)
		}
	} else {
		for _, uid := range d.Members {
			for _, c := range h.byUser[uid] {
				targets = append(targets, c)
			}
		}
	}
	h.mu.RUnlock()
	for _, c := range targets {
		if c.id != d.ExceptConn {
			c.push(frame, false)
		}
	}
	h.metrics.deliveries.Add(float64(len(targets)))
}

func (h *hub) count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}

// each calls f for every connection (outside the lock).
func (h *hub) each(f func(*conn)) {
	h.mu.RLock()
	all := make([]*conn, 0, len(h.conns))
	for _, c := range h.conns {
		all = append(all, c)
	}
	h.mu.RUnlock()
	for _, c := range all {
		f(c)
	}
}

// snapshot lists the open connections for a presence heartbeat.
func (h *hub) snapshot() []wire.ConnUser {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]wire.ConnUser, 0, len(h.conns))
	for _, c := range h.conns {
		out = append(out, wire.ConnUser{ConnID: c.id, User: c.user})
	}
	return out
}

type metrics struct {
	conns      prometheus.Gauge
	deliveries prometheus.Counter
	framesOut  prometheus.Counter
	writes     prometheus.Counter
	slowClosed prometheus.Counter
	received   *prometheus.CounterVec
	rounds     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		conns:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "chatroom_ws_connections", Help: "Open WebSockets on this gateway."}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{Name: "chatroom_ws_deliveries_total", Help: "Frames handed to connection queues by fan-out."}),
		framesOut:  prometheus.NewCounter(prometheus.CounterOpts{Name: "chatroom_ws_frames_written_total", Help: "Frames written to sockets."}),
		writes:     prometheus.NewCounter(prometheus.CounterOpts{Name: "chatroom_ws_writes_total", Help: "write() calls to sockets (frames are coalesced)."}),
		slowClosed: prometheus.NewCounter(prometheus.CounterOpts{Name: "chatroom_ws_slow_closed_total", Help: "Connections closed because their queue stayed full."}),
		received:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatroom_ws_frames_received_total", Help: "Client frames by type."}, []string{"type"}),
		rounds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "chatroom_ws_write_round_seconds", Help: "How long a round of the flusher took to write every connection with frames queued (rounds start at least --chat-write-delay apart; a round as long as that means writing saturates the gateway).",
			Buckets: []float64{.0005, .001, .002, .004, .006, .008, .012, .02, .04, .1}}),
	}
	if reg != nil {
		reg.MustRegister(m.conns, m.deliveries, m.framesOut, m.writes, m.slowClosed, m.received, m.rounds)
	}
	return m
}
