package history

import (
	"context"
	"time"

	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/wire"
)

// queue is the NATS queue group replicas of history share.
const queue = "history"

// Subscribe answers history.append, history.members and history.read on
// the bus, in queue group "history" so replicas share the load.
func (s *Service) Subscribe() error {
	if _, err := bus.Handle(s.bus, wire.SubjectHistoryAppend, queue, s.Append); err != nil {
		return err
	}
	if _, err := bus.Handle(s.bus, wire.SubjectHistoryMembers, queue, s.Members); err != nil {
		return err
	}
	if _, err := bus.Handle(s.bus, wire.SubjectHistoryRead, queue, s.Read); err != nil {
		return err
	}
	_, err := bus.Consume(s.bus, wire.SubjectUserRegistered, queue, s.welcome)
	return err
}

// welcome spares a newcomer the lobby's whole past as "unread": a new
// account starts reading at the lobby's newest message.
func (s *Service) welcome(u wire.User) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sum, err := s.store.Summary(ctx, u.ID, wire.LobbyID)
	if err == nil && sum.Last != nil {
		err = s.store.MarkRead(ctx, u.ID, wire.LobbyID, sum.Last.Seq)
	}
	if err != nil {
		s.log.Warn("welcome new user", "user", u.ID, "err", err)
	}
}
