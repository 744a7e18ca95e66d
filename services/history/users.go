package history

import (
	"context"
	"sync"
	"time"

	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/wire"
)

// maxUsersPerRequest is what auth.users.get accepts at once.
const maxUsersPerRequest = 1000

// users resolves user IDs through auth (auth.users.get) and remembers the
// answers for a while, so a page of messages costs at most one request.
// Only found users are remembered: an ID unknown now may be registered soon.
type users struct {
	bus *bus.Conn
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[string]userEntry
}

type userEntry struct {
	user  wire.User
	until time.Time
}

func newUsers(conn *bus.Conn, ttl time.Duration, size int, now func() time.Time) *users {
	return &users{bus: conn, ttl: ttl, max: size, now: now, m: map[string]userEntry{}}
}

// get returns the users with the given IDs, keyed by ID; unknown IDs are
// left out. Errors are auth's (unavailable when it does not answer).
func (u *users) get(ctx context.Context, ids []string) (map[string]wire.User, error) {
	out := make(map[string]wire.User, len(ids))
	var missing []string
	seen := make(map[string]bool, len(ids))
	now := u.now()
	u.mu.Lock()
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if e, ok := u.m[id]; ok && now.Before(e.until) {
			out[id] = e.user
		} else {
			missing = append(missing, id)
		}
	}
	u.mu.Unlock()
	for len(missing) > 0 {
		chunk := missing[:min(len(missing), maxUsersPerRequest)]
		missing = missing[len(chunk):]
		r, err := bus.Request[wire.UsersGetRequest, wire.UsersGetReply](ctx, u.bus, wire.SubjectUsersGet, wire.UsersGetRequest{IDs: chunk})
		if err != nil {
			return nil, err
		}
		u.remember(r.Users, now.Add(u.ttl))
		for _, user := range r.Users {
			out[user.ID] = user
		}
	}
	return out, nil
}

// user returns one user, found true when auth knows them.
func (u *users) user(ctx context.Context, id string) (wire.User, bool, error) {
	m, err := u.get(ctx, []string{id})
	if err != nil {
		return wire.User{}, false, err
	}
	user, ok := m[id]
	return user, ok, nil
}

func (u *users) remember(found []wire.User, until time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.m)+len(found) > u.max {
		now := u.now()
		for id, e := range u.m {
			if !now.Before(e.until) {
				delete(u.m, id)
			}
		}
		if len(u.m)+len(found) > u.max {
			clear(u.m)
		}
	}
	for _, user := range found {
		if len(u.m) >= u.max {
			break
		}
		u.m[user.ID] = userEntry{user: user, until: until}
	}
}

// orUnknown is the user to show for an ID auth no longer knows.
func orUnknown(m map[string]wire.User, id string) wire.User {
	if user, ok := m[id]; ok {
		return user
	}
	return wire.User{ID: id}
}
