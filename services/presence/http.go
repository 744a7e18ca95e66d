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
	body, err := s.lists.body(s, gz)
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
// body is 3.9 MB and takes ~50 ms to encode; after a burst every client
// fetches it within seconds, and all but the first get these bytes.
type listCache struct {
	mu      sync.Mutex // held while building, so concurrent fetches build once
	built   bool
	version uint64
	plain   []byte
	gz      []byte
	builds  func() // counts a build (metrics)
}

// listBody is the JSON of GET /api/presence.
type listBody struct {
	OnlineCount int               `json:"online_count"`
	Users       []wire.OnlineUser `json:"users"`
}

func (lc *listCache) body(s *Service, gz bool) ([]byte, error) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	s.mu.Lock()
	if !lc.built || lc.version != s.st.version {
		users := s.st.list()
		lc.version = s.st.version
		s.mu.Unlock()
		plain, err := json.Marshal(listBody{OnlineCount: len(users), Users: users})
		if err != nil {
			return nil, err
		}
		lc.built, lc.plain, lc.gz = true, plain, nil
		if lc.builds != nil {
			lc.builds()
		}
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
