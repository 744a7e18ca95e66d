package ids_test

import (
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"testing"

	"github.com/webchatroom/chatroom/internal/ids"
)

func TestNew(t *testing.T) {
	hexID := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := make(map[string]bool, 10000)
	for range 10000 {
		id := ids.New()
		if !hexID.MatchString(id) {
			t.Fatalf("New() = %q, want 32 lowercase hex characters", id)
		}
		if seen[id] {
			t.Fatalf("New() repeated %q", id)
		}
		seen[id] = true
	}
	if b, err := hex.DecodeString(ids.New()); err != nil || len(b) != 16 {
		t.Fatalf("New() decodes to %d bytes (%v), want 16 (128 bits)", len(b), err)
	}
}

func TestToken(t *testing.T) {
	b64url := regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	seen := make(map[string]bool, 1000)
	for range 1000 {
		tok := ids.Token()
		if !b64url.MatchString(tok) {
			t.Fatalf("Token() = %q, want 43 base64url characters without padding", tok)
		}
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("Token() %q decodes to %d bytes (%v), want 32", tok, len(raw), err)
		}
		if seen[tok] {
			t.Fatalf("Token() repeated %q", tok)
		}
		seen[tok] = true
	}
}
