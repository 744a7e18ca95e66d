package platform

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/wire"
)

// fiberCodes maps Fiber's own errors (routing, body limit) to contract codes.
var fiberCodes = map[int]string{
	fiber.StatusNotFound:              apperr.NotFound,
	fiber.StatusMethodNotAllowed:      "method_not_allowed",
	fiber.StatusRequestEntityTooLarge: apperr.TooLarge,
	fiber.StatusUnsupportedMediaType:  apperr.Unsupported,
	fiber.StatusTooManyRequests:       apperr.RateLimited,
	fiber.StatusServiceUnavailable:    apperr.Unavailable,
}

// errorHandler writes err as the contract's JSON error.
func (a *App) errorHandler(c *fiber.Ctx, err error) error {
	e := toAppErr(err)
	setSecurityHeaders(c)
	if apperr.IsInternal(e) {
		a.log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
	}
	return c.Status(apperr.Status(e.Code)).JSON(fiber.Map{"error": wire.ErrorBody{Code: e.Code, Message: e.Message, Field: e.Field}})
}

func toAppErr(err error) *apperr.Error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, ok := fiberCodes[fe.Code]
		if !ok {
			code = apperr.Invalid
			if fe.Code >= 500 {
				code = apperr.Internal
			}
		}
		msg := fe.Message
		if code == apperr.NotFound {
			msg = "Not found."
		}
		return &apperr.Error{Code: code, Message: msg}
	}
	return apperr.As(err)
}
