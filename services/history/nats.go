package history

import (
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
	_, err := bus.Handle(s.bus, wire.SubjectHistoryRead, queue, s.Read)
	return err
}
