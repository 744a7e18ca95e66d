// Package media is the media service: pictures and voice recordings users
// upload for a conversation, checked from their bytes, cleaned (pictures
// upright and without metadata, with a thumbnail), stored under random
// keys in object storage, and served only to those who may read the
// conversation. History asks it over NATS (media.claim) whether a message
// may carry an upload, and stores the metadata it answers with the message.
package media

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/blob"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/internal/wire"
)

// Limits are the bounds of DESIGN §5 the media service enforces.
type Limits struct {
	ImageBytes  int64 // largest picture upload
	ImagePixels int64 // most pixels of a picture, checked from its header before decoding
	ThumbSide   int   // longest side of a thumbnail
	VoiceBytes  int64 // largest voice upload
	VoiceMS     int   // longest voice message, as declared and as its container records
	Waveform    int   // most values of a waveform

	UnsentTTL time.Duration // how long an upload never sent in a message is kept; 0 keeps it forever
}

// DefaultLimits returns the limits of DESIGN §5.
func DefaultLimits() Limits {
	return Limits{ImageBytes: 10 << 20, ImagePixels: 40_000_000, ThumbSide: 480, VoiceBytes: 2 << 20, VoiceMS: 60_000, Waveform: 128,
		UnsentTTL: 24 * time.Hour}
}

// durationSlack is how far a declared voice duration may be from the one
// its container records (timer and recorder start a little apart).
const durationSlack = time.Second

// Config is what the service is built from.
type Config struct {
	Store    Store
	Blobs    blob.Store
	Bus      *bus.Conn
	Limits   Limits                // DefaultLimits when zero
	Log      *slog.Logger          // slog.Default when nil
	Registry prometheus.Registerer // where its metrics go; none when nil
	Now      func() time.Time      // the clock; time.Now when nil
}

// Service is the media service.
type Service struct {
	store   Store
	blobs   blob.Store
	bus     *bus.Conn
	limits  Limits
	log     *slog.Logger
	now     func() time.Time
	verify  platform.Verifier
	metrics *metrics
}

// New builds the service; call Subscribe and Routes to put it to work, and
// Run for its housekeeping.
func New(c Config) *Service {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Limits == (Limits{}) {
		c.Limits = DefaultLimits()
	}
	s := &Service{store: c.Store, blobs: c.Blobs, bus: c.Bus, limits: c.Limits, log: c.Log.With("service", "media"),
		now: c.Now, verify: platform.BusVerifier(c.Bus)}
	s.metrics = newMetrics(c.Registry, s.log)
	return s
}

// Ping checks the store and the object storage.
func (s *Service) Ping(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return err
	}
	return s.blobs.Ping(ctx)
}

// maxConversationID bounds conversation IDs taken from clients.
const maxConversationID = 200

// mayRead refuses, as not_found, a user who may not read the conversation:
// the lobby is everyone's; any other conversation history is asked about.
func (s *Service) mayRead(ctx context.Context, userID, conversationID string) error {
	if conversationID == wire.LobbyID {
		return nil
	}
	_, err := bus.Request[wire.MembersRequest, wire.MembersReply](ctx, s.bus, wire.SubjectHistoryMembers,
		wire.MembersRequest{UserID: userID, ConversationID: conversationID})
	return err
}

func errNotFound() error { return apperr.Errorf(apperr.NotFound, "Not found.") }
