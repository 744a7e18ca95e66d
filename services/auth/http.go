package auth

import (
	"context"
	"encoding/base64"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/internal/wire"
)

// Routes mounts every HTTP route of the auth service.
func (s *Service) Routes(r fiber.Router) {
	requireUser := platform.RequireUser(s.Verify)
	r.Post("/api/auth/register", s.register)
	r.Post("/api/auth/login", s.login)
	r.Post("/api/auth/logout", s.logout)
	r.Get("/api/auth/me", requireUser, s.me)
	r.Get("/api/users", requireUser, s.listUsers)
	r.Get("/api/users/:id", requireUser, s.getUser)
	r.Get("/api/users/:id/avatar", requireUser, s.avatar)
}

// throttled refuses the request when key has limit attempts inside window.
func (s *Service) throttled(ctx context.Context, key string, limit int, window time.Duration) error {
	n, err := s.store.CountAttempts(ctx, key, s.now().Add(-window))
	if err != nil {
		return err
	}
	if n >= limit {
		minutes := int(window.Round(time.Minute).Minutes())
		return apperr.Errorf(apperr.TooMany, "Too many attempts; try again in %d minutes.", minutes)
	}
	return nil
}

func (s *Service) register(c *fiber.Ctx) error {
	ctx := c.UserContext()
	throttleKey := "register:" + c.IP()
	if err := s.throttled(ctx, throttleKey, s.limits.Registrations, s.limits.RegistrationWindow); err != nil {
		return err
	}
	if err := s.store.AddAttempt(ctx, throttleKey, s.now()); err != nil {
		return err
	}
	username, key, err := s.limits.checkUsername(c.FormValue("username"))
	if err != nil {
		return err
	}
	nickname, err := s.limits.checkNickname(c.FormValue("nickname"))
	if err != nil {
		return err
	}
	password := c.FormValue("password")
	if err := s.limits.checkPassword(password, key); err != nil {
		return err
	}
	picture, err := s.formFile(c, "avatar")
	if err != nil {
		return err
	}
	if _, err := s.store.UserByUsernameKey(ctx, key); err == nil {
		return errUsernameTaken()
	} else if apperr.Code(err) != apperr.NotFound {
		return err
	}
	id := ids.New()
	avatar, err := s.storeAvatar(ctx, id, picture)
	if err != nil {
		return err
	}
	a := &Account{ID: id, Username: username, UsernameKey: key, Nickname: nickname,
		PasswordHash: hashPassword(password), Avatar: avatar, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	if err := s.store.CreateUser(ctx, a); err != nil {
		s.deleteAvatar(id, avatar)
		return err
	}
	s.log.Info("registered", "user", a.ID, "username", a.Username)
	if err := s.bus.Publish(wire.SubjectUserRegistered, publicUser(a)); err != nil {
		s.log.Warn("announce registration", "err", err)
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"user": publicUser(a)})
}

// formFile reads an optional uploaded file, refusing it past the avatar
// limit before reading it.
func (s *Service) formFile(c *fiber.Ctx, field string) ([]byte, error) {
	fh, err := c.FormFile(field)
	if err != nil {
		return nil, nil // no file sent: the identicon stands in
	}
	if fh.Size > s.limits.AvatarBytes {
		return nil, apperr.FieldErrorf(field, "avatar_too_large", "The picture is larger than %d MiB.", s.limits.AvatarBytes>>20)
	}
	f, err := fh.Open()
	if err != nil {
		return nil, apperr.Wrap(err, "open upload")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, s.limits.AvatarBytes+1))
	if err != nil {
		return nil, apperr.Wrap(err, "read upload")
	}
	if int64(len(data)) > s.limits.AvatarBytes {
		return nil, apperr.FieldErrorf(field, "avatar_too_large", "The picture is larger than %d MiB.", s.limits.AvatarBytes>>20)
	}
	return data, nil
}

type loginRequest struct {
	Username string `json:"username" form:"username"`
	Password string `json:"password" form:"password"`
}

func (s *Service) login(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var req loginRequest
	if err := c.BodyParser(&req); err != nil {
		return apperr.Errorf(apperr.Invalid, "Send a JSON object with username and password.")
	}
	if strings.TrimSpace(req.Username) == "" || req.Password == "" {
		return apperr.Errorf(apperr.Invalid, "Enter your username and password.")
	}
	wrong := apperr.Errorf("invalid_credentials", "Wrong username or password.")
	if len(req.Username) > 256 || len(req.Password) > 4*s.limits.PasswordMax {
		return wrong
	}
	key := foldKey(strings.TrimSpace(req.Username))
	throttleKey := "login:" + key + "|" + c.IP()
	if err := s.throttled(ctx, throttleKey, s.limits.LoginFailures, s.limits.LoginWindow); err != nil {
		return err
	}
	a, err := s.store.UserByUsernameKey(ctx, key)
	if err != nil && apperr.Code(err) != apperr.NotFound {
		return err
	}
	if a == nil {
		verifyPassword(req.Password, dummyHash()) // same cost as a real check
	}
	if a == nil || !verifyPassword(req.Password, a.PasswordHash) {
		if err := s.store.AddAttempt(ctx, throttleKey, s.now()); err != nil {
			return err
		}
		return wrong
	}
	if err := s.store.ClearAttempts(ctx, throttleKey); err != nil {
		return err
	}
	token := ids.Token()
	now := s.now().UTC().Truncate(time.Millisecond)
	se := &Session{ID: ids.New(), TokenHash: hashToken(token), UserID: a.ID, CreatedAt: now, ExpiresAt: now.Add(s.limits.SessionTTL)}
	if err := s.store.CreateSession(ctx, se); err != nil {
		return err
	}
	c.Cookie(&fiber.Cookie{
		Name: platform.SessionCookie, Value: token, Path: "/",
		Expires: se.ExpiresAt, MaxAge: int(s.limits.SessionTTL.Seconds()),
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: c.Protocol() == "https",
	})
	return c.JSON(fiber.Map{"user": publicUser(a)})
}

func (s *Service) logout(c *fiber.Ctx) error {
	if token := c.Cookies(platform.SessionCookie); token != "" && len(token) <= 128 {
		se, err := s.store.SessionByTokenHash(c.UserContext(), hashToken(token))
		switch {
		case err == nil:
			if err := s.store.DeleteSession(c.UserContext(), se.ID); err != nil {
				return err
			}
			s.announceRevoked(se)
		case apperr.Code(err) != apperr.NotFound:
			return err
		}
	}
	c.Cookie(&fiber.Cookie{Name: platform.SessionCookie, Value: "", Path: "/", MaxAge: -1,
		Expires: time.Unix(0, 0), HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: c.Protocol() == "https"})
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Service) me(c *fiber.Ctx) error {
	se, _ := platform.Session(c)
	return c.JSON(fiber.Map{"user": se.User})
}

func (s *Service) getUser(c *fiber.Ctx) error {
	a, err := s.store.UserByID(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"user": publicUser(a)})
}

func (s *Service) listUsers(c *fiber.Ctx) error {
	limit := 50
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return apperr.FieldErrorf("limit", apperr.Invalid, "limit is a number from 1 to 200.")
		}
		limit = n
	}
	after := ""
	if v := c.Query("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil {
			return apperr.FieldErrorf("cursor", apperr.Invalid, "The cursor is not valid.")
		}
		after = string(b)
	}
	q := foldKey(strings.TrimSpace(c.Query("q")))
	if len([]rune(q)) > 64 {
		return apperr.FieldErrorf("q", apperr.Invalid, "The search is too long.")
	}
	accounts, err := s.store.ListUsers(c.UserContext(), q, after, limit+1)
	if err != nil {
		return err
	}
	next := ""
	if len(accounts) > limit {
		accounts = accounts[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(accounts[limit-1].UsernameKey))
	}
	users := make([]any, len(accounts))
	for i, a := range accounts {
		users[i] = publicUser(a)
	}
	return c.JSON(fiber.Map{"users": users, "next_cursor": next})
}

func (s *Service) avatar(c *fiber.Ctx) error {
	a, err := s.store.UserByID(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	size := avatarLarge
	if c.Query("size") != "" {
		n, err := strconv.Atoi(c.Query("size"))
		if err != nil || n > avatarLarge || n < 1 {
			return apperr.FieldErrorf("size", apperr.Invalid, "size is at most %d.", avatarLarge)
		}
		if n <= avatarSmall {
			size = avatarSmall
		}
	}
	obj, err := s.blobs.Get(c.UserContext(), avatarKey(a.ID, a.Avatar, size))
	if err != nil {
		return err
	}
	_, ext, _ := strings.Cut(a.Avatar, ".")
	h := &c.Response().Header
	h.Set(fiber.HeaderContentType, mimeOfExt(ext))
	h.Set("Content-Security-Policy", platform.SandboxPolicy)
	h.Set(fiber.HeaderETag, `"`+avatarVersion(a.Avatar)+"-"+strconv.Itoa(size)+`"`)
	if c.Query("v") == avatarVersion(a.Avatar) {
		h.Set(fiber.HeaderCacheControl, "private, max-age=31536000, immutable")
	} else {
		h.Set(fiber.HeaderCacheControl, "private, no-cache")
	}
	return c.SendStream(obj, int(obj.Size()))
}
