// Package apperr is the one error type of WebChatRoom: a machine code, a safe
// human message, an optional form field and the wrapped internal cause.
package apperr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Codes shared by every service. Services may add their own, more specific
// codes; Status maps them by their general class.
const (
	Invalid         = "invalid_input"
	Unauthorized    = "unauthorized"
	Forbidden       = "forbidden"
	ForbiddenOrigin = "forbidden_origin"
	NotFound        = "not_found"
	Conflict        = "conflict"
	TooLarge        = "payload_too_large"
	Unsupported     = "unsupported_media_type"
	TooMany         = "too_many_attempts"
	RateLimited     = "rate_limited"
	Internal        = "internal"
	Unavailable     = "unavailable"
)

// status maps every code to its HTTP status. Unknown codes are 400.
var status = map[string]int{
	Invalid:         http.StatusBadRequest,
	Unauthorized:    http.StatusUnauthorized,
	Forbidden:       http.StatusForbidden,
	ForbiddenOrigin: http.StatusForbidden,
	NotFound:        http.StatusNotFound,
	Conflict:        http.StatusConflict,
	TooLarge:        http.StatusRequestEntityTooLarge,
	Unsupported:     http.StatusUnsupportedMediaType,
	TooMany:         http.StatusTooManyRequests,
	RateLimited:     http.StatusTooManyRequests,
	Internal:        http.StatusInternalServerError,
	Unavailable:     http.StatusServiceUnavailable,

	"invalid_credentials":    http.StatusUnauthorized,
	"username_taken":         http.StatusConflict,
	"avatar_too_large":       http.StatusRequestEntityTooLarge,
	"avatar_unsupported":     http.StatusUnsupportedMediaType,
	"avatar_too_many_pixels": http.StatusUnprocessableEntity,
	"avatar_invalid":         http.StatusUnprocessableEntity,
	"image_too_large":        http.StatusRequestEntityTooLarge,
	"image_unsupported":      http.StatusUnsupportedMediaType,
	"image_too_many_pixels":  http.StatusUnprocessableEntity,
	"image_invalid":          http.StatusUnprocessableEntity,
	"voice_too_large":        http.StatusRequestEntityTooLarge,
	"voice_unsupported":      http.StatusUnsupportedMediaType,
	"voice_too_long":         http.StatusUnprocessableEntity,
	"voice_invalid":          http.StatusUnprocessableEntity,
	"duration_invalid":       http.StatusBadRequest,
	"waveform_invalid":       http.StatusBadRequest,
	"media_not_found":        http.StatusNotFound,
	"media_already_sent":     http.StatusConflict,
	"range_not_satisfiable":  http.StatusRequestedRangeNotSatisfiable,
	"method_not_allowed":     http.StatusMethodNotAllowed,
}

// Error is an error a user may see: Code and Message are safe to show,
// Err is the internal cause and is only logged.
type Error struct {
	Code    string
	Message string
	Field   string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf is Errorf for a problem with one input field.
func FieldErrorf(field, code, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an internal error carrying cause; users see a generic message.
func Wrap(cause error, context string) error {
	if cause == nil {
		return nil
	}
	var e *Error
	if errors.As(cause, &e) {
		return fmt.Errorf("%s: %w", context, cause)
	}
	return foreign(fmt.Errorf("%s: %w", context, cause))
}

// foreign is the Error for an error of no code: a timeout (a deadline that
// passed, a store or network that did not answer in time) is unavailable —
// busy, worth trying again — and anything else internal.
func foreign(err error) *Error {
	var ne interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &Error{Code: Unavailable, Message: "The server is busy; try again shortly.", Err: err}
	}
	return &Error{Code: Internal, Message: "Something went wrong on our side.", Err: err}
}

// As returns the Error inside err, or an Error wrapping err: unavailable
// for a timeout, internal for anything else.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return foreign(err)
}

// Code returns the code of err, Internal for a foreign error, "" for nil.
func Code(err error) string {
	if err == nil {
		return ""
	}
	return As(err).Code
}

// Status returns the HTTP status for a code.
func Status(code string) int {
	if s, ok := status[code]; ok {
		return s
	}
	return http.StatusBadRequest
}

// IsInternal reports whether err should be logged as a server fault.
func IsInternal(err error) bool {
	return Status(Code(err)) >= 500
}
