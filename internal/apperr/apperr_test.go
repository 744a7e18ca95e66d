package apperr_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
)

func TestStatus(t *testing.T) {
	for code, want := range map[string]int{
		apperr.Invalid:           http.StatusBadRequest,
		apperr.Unauthorized:      http.StatusUnauthorized,
		apperr.Forbidden:         http.StatusForbidden,
		apperr.ForbiddenOrigin:   http.StatusForbidden,
		apperr.NotFound:          http.StatusNotFound,
		apperr.Conflict:          http.StatusConflict,
		apperr.TooLarge:          http.StatusRequestEntityTooLarge,
		apperr.Unsupported:       http.StatusUnsupportedMediaType,
		apperr.TooMany:           http.StatusTooManyRequests,
		apperr.RateLimited:       http.StatusTooManyRequests,
		apperr.Internal:          http.StatusInternalServerError,
		apperr.Unavailable:       http.StatusServiceUnavailable,
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
		"media_not_found":        http.StatusNotFound,
		"media_already_sent":     http.StatusConflict,
		"range_not_satisfiable":  http.StatusRequestedRangeNotSatisfiable,
		"method_not_allowed":     http.StatusMethodNotAllowed,
		"some_new_service_code":  http.StatusBadRequest, // unknown codes are client errors
		"":                       http.StatusBadRequest,
	} {
		if got := apperr.Status(code); got != want {
			t.Errorf("Status(%q) = %d, want %d", code, got, want)
		}
	}
}

func TestErrorfAndFieldErrorf(t *testing.T) {
	e := apperr.Errorf(apperr.NotFound, "no user %q", "bob")
	if e.Code != apperr.NotFound || e.Message != `no user "bob"` || e.Field != "" || e.Err != nil {
		t.Fatalf("Errorf = %+v", e)
	}
	if got := e.Error(); got != `not_found: no user "bob"` {
		t.Errorf("Error() = %q", got)
	}

	fe := apperr.FieldErrorf("username", apperr.Invalid, "at most %d characters", 32)
	if fe.Field != "username" || fe.Code != apperr.Invalid || fe.Message != "at most 32 characters" {
		t.Fatalf("FieldErrorf = %+v", fe)
	}
	// The field survives wrapping and As.
	wrapped := fmt.Errorf("register: %w", fe)
	if got := apperr.As(wrapped); got != fe || got.Field != "username" {
		t.Errorf("As(wrapped field error) = %+v, want the same error with its field", got)
	}
}

func TestAsForeignError(t *testing.T) {
	cause := errors.New("disk on fire at /var/lib/chatroom")
	e := apperr.As(cause)
	if e.Code != apperr.Internal {
		t.Errorf("code = %q, want internal", e.Code)
	}
	if strings.Contains(e.Message, "disk") || e.Message == "" {
		t.Errorf("message %q must be generic and not leak the cause", e.Message)
	}
	if !errors.Is(e, cause) {
		t.Error("As of a foreign error must keep the cause for logs")
	}
}

func TestAsAndCodeThroughWrapping(t *testing.T) {
	base := apperr.Errorf(apperr.Conflict, "Username taken.")
	err := fmt.Errorf("store: %w", fmt.Errorf("insert: %w", base))
	if got := apperr.As(err); got != base {
		t.Errorf("As = %+v, want the innermost *Error", got)
	}
	if got := apperr.Code(err); got != apperr.Conflict {
		t.Errorf("Code = %q, want conflict", got)
	}
	if got := apperr.Code(nil); got != "" {
		t.Errorf("Code(nil) = %q, want empty", got)
	}
	if got := apperr.Code(fs.ErrNotExist); got != apperr.Internal {
		t.Errorf("Code(foreign) = %q, want internal", got)
	}
	// errors.As works on *Error directly, too.
	var target *apperr.Error
	if !errors.As(err, &target) || target.Code != apperr.Conflict {
		t.Errorf("errors.As = %v", target)
	}
}

func TestWrap(t *testing.T) {
	if apperr.Wrap(nil, "ctx") != nil {
		t.Fatal("Wrap(nil) must be nil")
	}

	// A foreign error becomes internal, keeps the cause and the context, hides both from users.
	cause := errors.New("sql: connection refused")
	err := apperr.Wrap(cause, "load user")
	e := apperr.As(err)
	if e.Code != apperr.Internal {
		t.Errorf("code = %q, want internal", e.Code)
	}
	if strings.Contains(e.Message, "sql") || strings.Contains(e.Message, "load user") {
		t.Errorf("user message %q leaks internals", e.Message)
	}
	if !errors.Is(err, cause) {
		t.Error("Wrap must keep the cause for errors.Is")
	}
	if !strings.Contains(err.Error(), "load user") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("log text %q must carry context and cause", err.Error())
	}

	// An *Error keeps its code, message and field through Wrap.
	nf := apperr.FieldErrorf("id", apperr.NotFound, "No such conversation.")
	err = apperr.Wrap(nf, "get conversation")
	if got := apperr.As(err); got != nf {
		t.Errorf("As(Wrap(*Error)) = %+v, want the original", got)
	}
	if apperr.Code(err) != apperr.NotFound || apperr.As(err).Field != "id" {
		t.Errorf("Wrap lost the code or field: %v", err)
	}
	if !strings.Contains(err.Error(), "get conversation") {
		t.Errorf("Wrap dropped the context: %q", err.Error())
	}
}

func TestTimeoutsAreUnavailableNotInternal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	var dnsTimeout error = &net.DNSError{Err: "i/o timeout", IsTimeout: true}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"a passed deadline, wrapped", apperr.Wrap(ctx.Err(), "wait for sqlite commit")},
		{"a passed deadline, bare", fmt.Errorf("find messages: %w", context.DeadlineExceeded)},
		{"a network timeout", apperr.Wrap(dnsTimeout, "mongo")},
		{"os.ErrDeadlineExceeded", fmt.Errorf("read: %w", os.ErrDeadlineExceeded)},
	} {
		e := apperr.As(tc.err)
		if e.Code != apperr.Unavailable || apperr.Status(e.Code) != 503 {
			t.Errorf("%s: code %q (status %d), want unavailable (503)", tc.name, e.Code, apperr.Status(e.Code))
		}
		if !strings.Contains(e.Message, "try again") || strings.Contains(e.Message, "deadline") {
			t.Errorf("%s: message %q should ask to try again and hide the cause", tc.name, e.Message)
		}
		if !errors.Is(tc.err, context.DeadlineExceeded) && !errors.Is(tc.err, dnsTimeout) && !errors.Is(tc.err, os.ErrDeadlineExceeded) {
			t.Errorf("%s: the cause is lost", tc.name)
		}
	}
	// a cancelled request is not a timeout: it stays internal
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if code := apperr.Code(apperr.Wrap(cctx.Err(), "x")); code != apperr.Internal {
		t.Errorf("cancelled: code %q, want internal", code)
	}
}

func TestUnwrapAndErrorText(t *testing.T) {
	cause := errors.New("boom")
	e := &apperr.Error{Code: apperr.Internal, Message: "Oops.", Err: cause}
	if !errors.Is(e, cause) || errors.Unwrap(e) != cause {
		t.Error("Unwrap must return the cause")
	}
	if got := e.Error(); got != "internal: Oops.: boom" {
		t.Errorf("Error() = %q", got)
	}
}

func TestIsInternal(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("plain"), true},
		{apperr.Wrap(errors.New("x"), "y"), true},
		{apperr.Errorf(apperr.Internal, "x"), true},
		{apperr.Errorf(apperr.Unavailable, "x"), true},
		{apperr.Errorf(apperr.NotFound, "x"), false},
		{apperr.Errorf(apperr.Invalid, "x"), false},
		{fmt.Errorf("ctx: %w", apperr.Errorf(apperr.Unauthorized, "x")), false},
		{apperr.Errorf("image_invalid", "x"), false},
	} {
		if got := apperr.IsInternal(tc.err); got != tc.want {
			t.Errorf("IsInternal(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
