// Package wire holds the types and NATS subjects that cross service
// boundaries: what one service sends and another receives.
package wire

import "time"

// TimeFormat is the contract's time format: RFC 3339, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Time is a time.Time that marshals in TimeFormat, always in UTC.
type Time struct{ time.Time }

// NewTime wraps t, truncated to milliseconds, in UTC.
func NewTime(t time.Time) Time { return Time{t.UTC().Truncate(time.Millisecond)} }

// MarshalJSON writes the time in TimeFormat.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(TimeFormat) + `"`), nil
}

// UnmarshalJSON reads an RFC 3339 time or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(`"`+time.RFC3339Nano+`"`, string(b))
	if err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}

// User is a person as every service and the UI see them.
type User struct {
	ID        string `json:"id"`
	Username  string `json:"username"`
	Nickname  string `json:"nickname"`
	AvatarURL string `json:"avatar_url"`
	CreatedAt Time   `json:"created_at"`
}

// ErrorBody is the error object of the contract, over HTTP and NATS.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// SessionVerifyRequest asks auth whether a session token is live.
type SessionVerifyRequest struct {
	Token string `json:"token"`
}

// SessionVerifyReply names the session's user; an unknown or expired token
// is the error code "unauthorized".
type SessionVerifyReply struct {
	SessionID string `json:"session_id"`
	User      User   `json:"user"`
	ExpiresAt Time   `json:"expires_at"`
}

// UsersGetRequest asks auth for users by ID.
type UsersGetRequest struct {
	IDs []string `json:"ids"`
}

// UsersGetReply holds the users found, in no particular order; unknown IDs
// are left out.
type UsersGetReply struct {
	Users []User `json:"users"`
}

// SessionRevoked is published when a session ends (logout or expiry), so
// gateways close its WebSockets.
type SessionRevoked struct {
	SessionID string `json:"session_id"`
	UserID    string `json:"user_id"`
}
