package media

import (
	"context"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/wire"
)

// Item is one stored upload: its owner and conversation, what its bytes
// were found to be, and where they are.
type Item struct {
	ID             string // random, public: in the URL
	OwnerID        string
	ConversationID string
	Kind           string // wire.KindImage or wire.KindVoice
	Mime           string // sniffed from the bytes
	Size           int64
	Width, Height  int    // pictures, upright
	DurationMS     int    // voice
	Waveform       []int  // voice: at most Limits.Waveform values 0–255
	Key            string // object key of the bytes, random and never shown
	ThumbKey       string // object key of the thumbnail; "" for voice
	ThumbMime      string
	ClaimedBy      string    // the message it was sent with, "<sender>/<client_id>"; "" until then
	CreatedAt      time.Time // millisecond precision, UTC
}

// Wire is the metadata messages carry.
func (it *Item) Wire() wire.Media {
	m := wire.Media{ID: it.ID, URL: "/api/media/" + it.ID, Mime: it.Mime, Size: it.Size, Width: it.Width, Height: it.Height,
		DurationMS: it.DurationMS, Waveform: it.Waveform}
	if it.ThumbKey != "" {
		m.ThumbnailURL = m.URL + "/thumbnail"
	}
	return m
}

// Store keeps the metadata of uploads. Implementations: SQLite (sqlite.go)
// and MongoDB (mongo.go); store_test.go is the contract both pass.
type Store interface {
	// Create stores a new item; an ID in use is apperr.Conflict.
	Create(ctx context.Context, it *Item) error
	// Get returns the item or apperr.NotFound.
	Get(ctx context.Context, id string) (*Item, error)
	// Claim binds the item to a message, once: it records claim when the
	// item has none or already has this one (a resend), and returns the
	// item. Another claim is "media_already_sent"; a missing item
	// apperr.NotFound.
	Claim(ctx context.Context, id, claim string) (*Item, error)
	// DeleteUnsent removes up to limit items never claimed and created
	// before before, oldest first, and returns them so their objects can
	// be deleted after. Each goes only if it is still unclaimed when it is removed: an
	// item a claim reaches first is kept.
	DeleteUnsent(ctx context.Context, before time.Time, limit int) ([]*Item, error)

	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

func errAlreadySent() error {
	return apperr.FieldErrorf("media_id", "media_already_sent", "This file was already sent in another message; upload it again to send it again.")
}

func errItemNotFound() error { return apperr.Errorf(apperr.NotFound, "media item not found") }
