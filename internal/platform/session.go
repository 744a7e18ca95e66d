package platform

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/wire"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "chatroom_session"

// Verifier checks a session token and names its user.
type Verifier func(ctx context.Context, token string) (wire.SessionVerifyReply, error)

type localsKey int

const sessionKey localsKey = 0

// RequireUser refuses requests without a live session (401) and makes the
// session available to handlers through Session.
func RequireUser(verify Verifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		token := c.Cookies(SessionCookie)
		if token == "" {
			return apperr.Errorf(apperr.Unauthorized, "Please log in.")
		}
		ctx, cancel := context.WithTimeout(c.UserContext(), 5*time.Second)
		defer cancel()
		s, err := verify(ctx, token)
		if err != nil {
			return err
		}
		c.Locals(sessionKey, s)
		return c.Next()
	}
}

// Session returns the verified session of a request behind RequireUser.
func Session(c *fiber.Ctx) (wire.SessionVerifyReply, bool) {
	s, ok := c.Locals(sessionKey).(wire.SessionVerifyReply)
	return s, ok
}

// BusVerifier checks sessions by asking the auth service over the bus:
// what every service but auth uses.
func BusVerifier(conn *bus.Conn) Verifier {
	return func(ctx context.Context, token string) (wire.SessionVerifyReply, error) {
		return bus.Request[wire.SessionVerifyRequest, wire.SessionVerifyReply](ctx, conn, wire.SubjectSessionVerify, wire.SessionVerifyRequest{Token: token})
	}
}
