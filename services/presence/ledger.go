package presence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/wire"
)

// ledger is the record of who has been announced online. Every replica
// follows every gateway and so sees every arrival and departure; it
// announces one only if the ledger takes it from this replica. With a
// ledger the replicas share, exactly one of them takes each change.
type ledger interface {
	// arrive records u online since since. won: this call made the change
	// (announce it); rec is what the record holds (who won says since when).
	arrive(ctx context.Context, u wire.User, since time.Time) (won bool, rec wire.OnlineUser, err error)
	// leave ends userID's record. won: this call ended it (announce it);
	// rec is what it held.
	leave(ctx context.Context, userID string) (won bool, rec wire.OnlineUser, err error)
	// online lists the user IDs recorded online; errNotShared when only
	// this replica keeps the record (there is nothing to compare with).
	online(ctx context.Context) ([]string, error)
}

var errNotShared = errors.New("presence: the record is this replica's own")

// soleLedger is the record of a presence service that runs alone (as in
// `chatroom all`): its own state is the record, every change is its to
// announce.
type soleLedger struct{}

func (soleLedger) arrive(_ context.Context, u wire.User, since time.Time) (bool, wire.OnlineUser, error) {
	return true, wire.OnlineUser{User: u, OnlineSince: wire.NewTime(since)}, nil
}

func (soleLedger) leave(context.Context, string) (bool, wire.OnlineUser, error) {
	return true, wire.OnlineUser{}, nil
}

func (soleLedger) online(context.Context) ([]string, error) { return nil, errNotShared }

// sharedLedger keeps the record in a JetStream key-value bucket, one key
// per user online (its value the user and since when), changed with
// compare-and-set: of the replicas recording the same arrival, the one
// whose create lands first wins; of those recording a departure, the one
// whose delete at the key's revision lands first.
type sharedLedger struct{ b *bus.Bucket }

func (l sharedLedger) arrive(ctx context.Context, u wire.User, since time.Time) (bool, wire.OnlineUser, error) {
	mine := wire.OnlineUser{User: u, OnlineSince: wire.NewTime(since)}
	value, err := json.Marshal(mine)
	if err != nil {
		return false, mine, err
	}
	for range 3 { // the key may be deleted between a failed create and the read
		_, err := l.b.Create(ctx, u.ID, value)
		if err == nil {
			return true, mine, nil
		}
		if !errors.Is(err, bus.ErrKeyExists) {
			return false, mine, err
		}
		rec, _, err := l.get(ctx, u.ID)
		if errors.Is(err, bus.ErrKeyNotFound) {
			continue
		}
		return false, rec, err
	}
	return false, mine, fmt.Errorf("record arrival of %s: the record keeps changing", u.ID)
}

func (l sharedLedger) leave(ctx context.Context, userID string) (bool, wire.OnlineUser, error) {
	rec, rev, err := l.get(ctx, userID)
	if errors.Is(err, bus.ErrKeyNotFound) {
		return false, rec, nil // another replica recorded it first
	}
	if err != nil {
		return false, rec, err
	}
	err = l.b.Delete(ctx, userID, rev)
	if errors.Is(err, bus.ErrRevision) {
		return false, rec, nil
	}
	return err == nil, rec, err
}

func (l sharedLedger) online(ctx context.Context) ([]string, error) { return l.b.Keys(ctx) }

// get reads a user's record and its revision.
func (l sharedLedger) get(ctx context.Context, userID string) (wire.OnlineUser, uint64, error) {
	var rec wire.OnlineUser
	value, rev, err := l.b.Get(ctx, userID)
	if err != nil {
		return rec, 0, err
	}
	if err := json.Unmarshal(value, &rec); err != nil {
		return rec, 0, fmt.Errorf("presence record of %s: %w", userID, err)
	}
	return rec, rev, nil
}
