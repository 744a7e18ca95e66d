package media

import (
	"context"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/wire"
)

// queue is the NATS queue group replicas of media share.
const queue = "media"

// Subscribe answers media.claim on the bus.
func (s *Service) Subscribe() error {
	_, err := bus.Handle(s.bus, wire.SubjectMediaClaim, queue, s.Claim)
	return err
}

// Claim answers media.claim: the item may be attached when its uploader
// is the sender, it was uploaded for this conversation and is of this
// kind; anything else is media_not_found, the same for every case, so a
// sender learns nothing of other people's uploads. An item goes with one
// message only: claiming it again for the same (sender, client_id), a
// resend, succeeds again; for another message it is media_already_sent.
func (s *Service) Claim(ctx context.Context, r wire.MediaClaimRequest) (wire.MediaClaimReply, error) {
	notFound := apperr.FieldErrorf("media_id", "media_not_found", "The attached file was not found; upload it again.")
	if r.MediaID == "" || len(r.MediaID) > 64 || r.SenderID == "" || r.ClientID == "" {
		return wire.MediaClaimReply{}, notFound
	}
	it, err := s.store.Get(ctx, r.MediaID)
	if apperr.Code(err) == apperr.NotFound {
		return wire.MediaClaimReply{}, notFound
	}
	if err != nil {
		return wire.MediaClaimReply{}, err
	}
	if it.OwnerID != r.SenderID || it.ConversationID != r.ConversationID || it.Kind != r.Kind {
		return wire.MediaClaimReply{}, notFound
	}
	it, err = s.store.Claim(ctx, it.ID, r.SenderID+"/"+r.ClientID)
	if apperr.Code(err) == apperr.NotFound { // swept since it was looked up
		return wire.MediaClaimReply{}, notFound
	}
	if err != nil {
		return wire.MediaClaimReply{}, err
	}
	return wire.MediaClaimReply{Media: it.Wire()}, nil
}
