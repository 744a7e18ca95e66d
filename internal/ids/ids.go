// Package ids makes identifiers and secrets: random, unguessable, URL-safe.
package ids

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
)

// New returns a random 128-bit identifier as 32 lowercase hex characters.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Token returns a random 256-bit secret, base64url without padding.
func Token() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
