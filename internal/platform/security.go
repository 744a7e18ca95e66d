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
	setSecurityHeaders(c)
	return c.Next()
}

// setSecurityHeaders sets the headers every response carries, errors
// included (Fiber answers some errors, like a too-large body, without
// running any middleware).
func setSecurityHeaders(c *fiber.Ctx) {
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
}

// sameOrigin refuses unsafe requests a browser sent from another site (see
// OriginAllowed).
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

// OriginAllowed reports whether the request comes from this site, the way
// net/http.CrossOriginProtection decides: a browser's Sec-Fetch-Site
// "same-origin" or "none" passes; any other value passes only with an
// Origin among the configured public origins. Without Sec-Fetch-Site (older
// browsers), Origin must be the request's own scheme://host or a public
// origin. With neither header the client is not a browser and passes.
func (a *App) OriginAllowed(c *fiber.Ctx) bool {
	origin := c.Get(fiber.HeaderOrigin)
	switch c.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
		return origin == "" || a.originMatches(c, origin)
	}
	return origin != "" && a.isPublicOrigin(origin)
}

// OriginMatches reports whether origin is the request's own scheme://host
// or a configured public origin: the WebSocket handshake's check (a GET, so
// the same-origin middleware does not cover it).
func (a *App) OriginMatches(c *fiber.Ctx, origin string) bool { return a.originMatches(c, origin) }

func (a *App) originMatches(c *fiber.Ctx, origin string) bool {
	origin = strings.TrimSuffix(strings.ToLower(origin), "/")
	if origin == strings.ToLower(c.Protocol()+"://"+c.Hostname()) {
		return true
	}
	return a.isPublicOrigin(origin)
}

func (a *App) isPublicOrigin(origin string) bool {
	origin = strings.TrimSuffix(strings.ToLower(origin), "/")
	for _, o := range a.cfg.PublicOrigins {
		if origin == strings.TrimSuffix(strings.ToLower(o), "/") {
			return true
		}
	}
	return false
}
