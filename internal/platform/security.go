package platform

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/webchatroom/chatroom/internal/apperr"
)

// ContentSecurityPolicy is the page policy of DESIGN §6: scripts, styles and
// connections from this site only; pictures and sound also from blob: (local
// previews) and data: (Bootstrap's inline SVG icons).
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// SandboxPolicy is for user-supplied bytes: nothing in them may run.
const SandboxPolicy = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"

func securityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), geolocation=(), microphone=(self)")
	if c.Protocol() == "https" {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	return c.Next()
}

// sameOrigin refuses unsafe requests a browser sent from another site, the
// way net/http.CrossOriginProtection does: Sec-Fetch-Site first, then Origin
// against the request's own origin and the configured public origins.
// Requests with neither header do not come from a browser and pass.
func (a *App) sameOrigin(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if a.OriginAllowed(c) {
		return c.Next()
	}
	return apperr.Errorf(apperr.ForbiddenOrigin, "Cross-site request refused.")
}

// OriginAllowed reports whether the request comes from this site: the
// Origin header equals the request's own scheme://host or a configured
// public origin; without Origin, Sec-Fetch-Site decides; with neither the
// client is not a browser.
func (a *App) OriginAllowed(c *fiber.Ctx) bool {
	origin := c.Get(fiber.HeaderOrigin)
	if origin != "" {
		return a.originMatches(c, origin)
	}
	switch c.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

func (a *App) originMatches(c *fiber.Ctx, origin string) bool {
	origin = strings.TrimSuffix(strings.ToLower(origin), "/")
	if origin == strings.ToLower(c.Protocol()+"://"+c.Hostname()) {
		return true
	}
	for _, o := range a.cfg.PublicOrigins {
		if origin == strings.TrimSuffix(strings.ToLower(o), "/") {
			return true
		}
	}
	return false
}
