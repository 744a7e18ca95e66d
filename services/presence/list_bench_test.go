package presence

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/wire"
)

// BenchmarkPresenceList is the server's cost of one GET /api/presence body
// with 15,000 people online: after a burst every client fetches it within
// seconds (docs/performance.md).
//
//	go test -run '^$' -bench PresenceList ./services/presence/
//
// Changed: someone arrived since the last fetch, so the body is encoded
// again (every fetch cost this before bodies were kept). Same and SameGzip:
// nobody did, as after a burst.
func BenchmarkPresenceList(b *testing.B) {
	s := New(Config{})
	rng := rand.New(rand.NewPCG(1, 2)) // ids as random as real ones, for gzip's sake
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for i := range 15000 {
		id := fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
		u := wire.User{ID: id, Username: fmt.Sprintf("user_%05d", i), Nickname: fmt.Sprintf("Member %05d", i),
			AvatarURL: "/api/users/" + id + "/avatar?v=3723668337d8", CreatedAt: wire.NewTime(now.Add(-time.Hour))}
		s.st.open("gw-1", "c"+id, u, now.Add(time.Duration(i)*time.Millisecond))
	}
	for _, c := range []struct {
		name    string
		changed bool
		gz      bool
	}{{"Changed", true, false}, {"Same", false, false}, {"SameGzip", false, true}} {
		b.Run(c.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				if c.changed {
					s.mu.Lock()
					s.st.version++
					s.mu.Unlock()
				}
				body, err := s.listBody(c.gz)
				if err != nil {
					b.Fatal(err)
				}
				size = len(body)
			}
			b.ReportMetric(float64(size), "bytes/body")
		})
	}
}
