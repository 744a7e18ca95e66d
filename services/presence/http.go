package presence

import (
	"github.com/gofiber/fiber/v2"

	"github.com/webchatroom/chatroom/internal/platform"
)

// Routes mounts every HTTP route of the presence service.
func (s *Service) Routes(r fiber.Router) {
	requireUser := platform.RequireUser(platform.BusVerifier(s.bus))
	r.Get("/api/presence", requireUser, s.list)
}

// list is GET /api/presence: {online_count, users: [{…User, online_since}]}.
func (s *Service) list(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(s.online(false))
}
