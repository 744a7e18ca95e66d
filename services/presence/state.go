package presence

import (
	"sort"
	"time"

	"github.com/webchatroom/chatroom/internal/wire"
)

// reorderSlack is how long a connection event outranks a heartbeat: events
// and heartbeats travel on two subjects and may be handled out of order, so
// a heartbeat that omits a just-opened connection (or still lists a
// just-closed one) was most likely taken before the event.
const reorderSlack = 3 * time.Second

// state is who is online as this replica knows it: every gateway's open
// connections and every user's. It does no I/O and is not safe for
// concurrent use; Service guards it and announces the changes it returns
// that its ledger lets it announce. Every replica builds the same state
// from the same events (see ledger).
type state struct {
	gateways map[string]*gateway
	users    map[string]*present
	closed   map[connKey]time.Time // recently closed connections and when

	// version changes whenever list() would: someone arrives, leaves,
	// changes their profile or is given another since (see listCache)
	version uint64
}

// connKey names one WebSocket: connection IDs are unique per gateway.
type connKey struct{ gateway, conn string }

// gateway is one chat gateway: when it last spoke and its connections.
type gateway struct {
	lastSeen time.Time
	conns    map[string]openConn // by connection ID
}

// openConn is one open connection. opened is set while only an event has
// reported it, until a heartbeat confirms it.
type openConn struct {
	userID string
	opened time.Time
}

// present is a user counted online: connected, or in the grace period after
// their last connection closed (left is then set).
type present struct {
	user  wire.User
	since time.Time
	conns map[connKey]struct{}
	left  time.Time
}

// change is an arrival or a departure to announce, with the count after
// it; an arrival says since when (recorded: since when as the shared
// record says, when another replica recorded it).
type change struct {
	user     wire.User
	online   bool
	count    int
	since    time.Time
	recorded time.Time
}

func newState() *state {
	return &state{gateways: map[string]*gateway{}, users: map[string]*present{}, closed: map[connKey]time.Time{}}
}

// gateway returns the gateway, created if new, marked as seen now.
func (st *state) gateway(id string, now time.Time) *gateway {
	g := st.gateways[id]
	if g == nil {
		g = &gateway{conns: map[string]openConn{}}
		st.gateways[id] = g
	}
	g.lastSeen = now
	return g
}

// open records a connection an event reported; a user's first connection
// is an arrival.
func (st *state) open(gw, conn string, u wire.User, now time.Time) (change, bool) {
	g := st.gateway(gw, now)
	if _, ok := g.conns[conn]; ok {
		return change{}, false
	}
	if _, ok := st.closed[connKey{gw, conn}]; ok {
		return change{}, false // its close came first
	}
	return st.attach(g, gw, conn, u, now, now)
}

// close forgets a connection an event reported closed. A user left with no
// connection stays counted until the grace period ends (see sweep).
func (st *state) close(gw, conn string, now time.Time) {
	st.closed[connKey{gw, conn}] = now
	g := st.gateways[gw]
	if g == nil {
		return
	}
	g.lastSeen = now
	if c, ok := g.conns[conn]; ok {
		delete(g.conns, conn)
		st.detach(connKey{gw, conn}, c.userID, now)
	}
}

// heartbeat makes a gateway's connections what it says they are. Arrivals
// are returned; departures wait for the grace period like closes do.
func (st *state) heartbeat(gw string, conns []wire.ConnUser, now time.Time) []change {
	g := st.gateway(gw, now)
	listed := make(map[string]struct{}, len(conns))
	var out []change
	for _, c := range conns {
		if c.ConnID == "" || c.User.ID == "" {
			continue
		}
		listed[c.ConnID] = struct{}{}
		if oc, ok := g.conns[c.ConnID]; ok {
			oc.opened = time.Time{}
			g.conns[c.ConnID] = oc
			if u := st.users[oc.userID]; u != nil && u.user.ID == c.User.ID && u.user != c.User {
				u.user = c.User // the profile changed
				st.version++
			}
			continue
		}
		if at, ok := st.closed[connKey{gw, c.ConnID}]; ok && now.Sub(at) < reorderSlack {
			continue
		}
		if ch, ok := st.attach(g, gw, c.ConnID, c.User, now, time.Time{}); ok {
			out = append(out, ch)
		}
	}
	for id, c := range g.conns {
		if _, ok := listed[id]; ok {
			continue
		}
		if !c.opened.IsZero() && now.Sub(c.opened) < reorderSlack {
			continue
		}
		delete(g.conns, id)
		st.detach(connKey{gw, id}, c.userID, now)
	}
	return out
}

// sweep drops gateways silent for longer than timeout (their users who have
// no other connection leave at once: the gateway is long gone) and ends the
// grace of users without connections since grace ago.
func (st *state) sweep(now time.Time, timeout, grace time.Duration) []change {
	var gone []string
	for id, g := range st.gateways {
		if now.Sub(g.lastSeen) <= timeout {
			continue
		}
		for cid, c := range g.conns {
			st.detach(connKey{id, cid}, c.userID, now)
			gone = append(gone, c.userID)
		}
		delete(st.gateways, id)
	}
	for id, u := range st.users {
		if !u.left.IsZero() && now.Sub(u.left) >= grace {
			gone = append(gone, id)
		}
	}
	for k, at := range st.closed {
		if now.Sub(at) >= reorderSlack {
			delete(st.closed, k)
		}
	}
	sort.Strings(gone)
	var out []change
	for _, id := range gone {
		u := st.users[id]
		if u == nil || len(u.conns) > 0 {
			continue // already counted, or connected elsewhere
		}
		delete(st.users, id)
		st.version++
		out = append(out, change{user: u.user, online: false, count: len(st.users)})
	}
	return out
}

// attach adds a connection to its gateway and its user; opened is zero when
// a heartbeat reported it.
func (st *state) attach(g *gateway, gw, conn string, u wire.User, now, opened time.Time) (change, bool) {
	g.conns[conn] = openConn{userID: u.ID, opened: opened}
	p := st.users[u.ID]
	isNew := p == nil
	if isNew {
		// to the millisecond, as the contract and the shared record have it,
		// so every replica orders the list alike
		p = &present{since: now.Truncate(time.Millisecond), conns: map[connKey]struct{}{}}
		st.users[u.ID] = p
	}
	if isNew || p.user != u {
		st.version++
	}
	p.user = u
	p.left = time.Time{}
	p.conns[connKey{gw, conn}] = struct{}{}
	if !isNew {
		return change{}, false // another tab, or back within the grace period
	}
	return change{user: u, online: true, count: len(st.users), since: p.since}, true
}

// detach removes a connection from its user; a user left without one
// starts the grace period.
func (st *state) detach(k connKey, userID string, now time.Time) {
	p := st.users[userID]
	if p == nil {
		return
	}
	delete(p.conns, k)
	if len(p.conns) == 0 && p.left.IsZero() {
		p.left = now
	}
}

// list is everyone online, most recent arrival first.
func (st *state) list() []wire.OnlineUser {
	ps := make([]*present, 0, len(st.users))
	for _, p := range st.users {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool {
		if !ps[i].since.Equal(ps[j].since) {
			return ps[i].since.After(ps[j].since)
		}
		return ps[i].user.ID < ps[j].user.ID
	})
	out := make([]wire.OnlineUser, len(ps))
	for i, p := range ps {
		out[i] = wire.OnlineUser{User: p.user, OnlineSince: wire.NewTime(p.since)}
	}
	return out
}

// connCount is the number of open connections across gateways.
func (st *state) connCount() int {
	n := 0
	for _, g := range st.gateways {
		n += len(g.conns)
	}
	return n
}
