package presence

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/internal/wire"
)

// Routes mounts every HTTP route of the presence service.
func (s *Service) Routes(r fiber.Router) {
	requireUser := platform.RequireUser(platform.BusVerifier(s.bus))
	r.Get("/api/presence", requireUser, s.list)
}

// list is GET /api/presence: {online_count, users: [{…User, online_since}]},
// gzipped for clients that accept it.
func (s *Service) list(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	c.Type("json")
	gz := strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip")
	body, err := s.listBody(gz)
	if err != nil {
		return err
	}
	if gz {
		c.Set(fiber.HeaderContentEncoding, "gzip")
	}
	return c.Send(body)
}

// listCache holds GET /api/presence's body, built once per version of the
// state and gzipped once when first asked so. At 15,000 people online the
// body is 3.9 MB and takes ~25 ms to encode; after a burst every client
// fetches it within seconds, and all but the first get these bytes.
type listCache struct {
	mu      sync.Mutex // held while building, so concurrent fetches build once
	built   bool
	version uint64 // of the state the body was built from
	plain   []byte
	gz      []byte // nil until asked for
}

// listJSON is the JSON of GET /api/presence.
type listJSON struct {
	OnlineCount int               `json:"online_count"`
	Users       []wire.OnlineUser `json:"users"`
}

// listBody is the body of GET /api/presence, gzipped if gz.
func (s *Service) listBody(gz bool) ([]byte, error) {
	lc := &s.lists
	lc.mu.Lock()
	defer lc.mu.Unlock()
	s.mu.Lock()
	if !lc.built || lc.version != s.st.version {
		users := s.st.list()
		lc.version = s.st.version
		s.mu.Unlock()
		plain, err := json.Marshal(listJSON{OnlineCount: len(users), Users: users})
		if err != nil {
			return nil, err
		}
		lc.built, lc.plain, lc.gz = true, plain, nil
		s.m.listBuilt()
	} else {
		s.mu.Unlock()
	}
	if !gz {
		return lc.plain, nil
	}
	if lc.gz == nil {
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		if _, err := w.Write(lc.plain); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		lc.gz = b.Bytes()
	}
	return lc.gz, nil
}
