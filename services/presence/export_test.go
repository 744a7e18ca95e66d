package presence

import "github.com/webchatroom/chatroom/internal/wire"

// Sweep runs one sweep now, as Run does every SweepInterval, so tests with
// a settable clock decide when graces end and gateways time out.
func (s *Service) Sweep() { s.sweep() }

// HasConn reports whether presence counts the connection as open: tests
// wait on it for events that announce nothing.
func (s *Service) HasConn(gateway, conn string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.st.gateways[gateway]
	if g == nil {
		return false
	}
	_, ok := g.conns[conn]
	return ok
}

// Online is what this replica answers to presence.get and GET /api/presence.
func (s *Service) Online() wire.PresenceReply { return s.online(false) }
