package auth

import (
	_ "embed"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/webchatroom/chatroom/internal/apperr"
)

// Limits are the bounds of DESIGN §5 the auth service enforces.
type Limits struct {
	UsernameMin, UsernameMax int
	NicknameMax              int
	PasswordMin, PasswordMax int
	AvatarBytes              int64
	AvatarPixels             int64
	LoginFailures            int           // failures per username+IP …
	LoginWindow              time.Duration // … within this window, then 429
	Registrations            int           // registrations per IP …
	RegistrationWindow       time.Duration // … within this window, then 429
	SessionTTL               time.Duration // a session's life
}

// DefaultLimits returns the limits of DESIGN §5.
func DefaultLimits() Limits {
	return Limits{
		UsernameMin: 3, UsernameMax: 32,
		NicknameMax: 32,
		PasswordMin: 8, PasswordMax: 128,
		AvatarBytes:   5 << 20,
		AvatarPixels:  40_000_000,
		LoginFailures: 5, LoginWindow: 15 * time.Minute,
		Registrations: 120, RegistrationWindow: time.Hour,
		SessionTTL: 30 * 24 * time.Hour,
	}
}

// foldKey is the comparison form of a name: NFKC (so full-width letters
// equal their plain forms) and lower case.
func foldKey(s string) string { return strings.ToLower(norm.NFKC.String(s)) }

// checkUsername returns the username in NFC and its unique key. Letters of
// every script, digits and "_" are allowed, so are Chinese names.
func (l Limits) checkUsername(raw string) (name, key string, err error) {
	name = norm.NFC.String(strings.TrimSpace(raw))
	n := utf8.RuneCountInString(name)
	bad := n < l.UsernameMin || n > l.UsernameMax
	for i, r := range name {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || (i > 0 && unicode.IsMark(r))
		if !ok {
			bad = true
		}
	}
	if bad {
		return "", "", apperr.FieldErrorf("username", "username_invalid",
			"A username has %d to %d letters, digits or underscores.", l.UsernameMin, l.UsernameMax)
	}
	return name, foldKey(name), nil
}

// checkNickname trims the nickname and refuses control and bidi-override
// characters.
func (l Limits) checkNickname(raw string) (string, error) {
	nick := norm.NFC.String(strings.TrimSpace(raw))
	n := utf8.RuneCountInString(nick)
	bad := n < 1 || n > l.NicknameMax || !utf8.ValidString(nick)
	for _, r := range nick {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) && r != '\u200d' || r == utf8.RuneError {
			bad = true
		}
	}
	if bad {
		return "", apperr.FieldErrorf("nickname", "nickname_invalid",
			"A nickname has 1 to %d characters and no control characters.", l.NicknameMax)
	}
	return nick, nil
}

//go:embed common-passwords.txt
var commonPasswordList string

var commonPasswords = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, line := range strings.Split(commonPasswordList, "\n") {
		if p := strings.TrimSpace(line); p != "" && !strings.HasPrefix(p, "#") {
			m[strings.ToLower(p)] = struct{}{}
		}
	}
	return m
}()

// checkPassword enforces length, the common-password list, and refuses a
// password that is the username or one repeated or sequential run.
func (l Limits) checkPassword(password, usernameKey string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < l.PasswordMin:
		return apperr.FieldErrorf("password", "password_too_short", "A password has at least %d characters.", l.PasswordMin)
	case n > l.PasswordMax:
		return apperr.FieldErrorf("password", "password_too_long", "A password has at most %d characters.", l.PasswordMax)
	}
	lower := strings.ToLower(password)
	if usernameKey != "" && foldKey(password) == usernameKey {
		return apperr.FieldErrorf("password", "password_same_as_username", "The password must not be your username.")
	}
	if _, common := commonPasswords[lower]; common || isRun(lower) {
		return apperr.FieldErrorf("password", "password_common", "This password is too common; choose another.")
	}
	return nil
}

// isRun reports whether s is one character repeated or a run of
// consecutive characters up or down ("aaaaaaaa", "abcdefgh", "98765432").
func isRun(s string) bool {
	rs := []rune(s)
	if len(rs) < 2 {
		return true
	}
	for _, step := range []rune{0, 1, -1} {
		run := true
		for i := 1; i < len(rs); i++ {
			if rs[i]-rs[i-1] != step {
				run = false
				break
			}
		}
		if run {
			return true
		}
	}
	return false
}

func errUsernameTaken() error {
	return apperr.FieldErrorf("username", "username_taken", "This username is taken.")
}

func errUserNotFound() error { return apperr.Errorf(apperr.NotFound, "User not found.") }
