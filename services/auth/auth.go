// Package auth is the accounts service: registration with an avatar, login,
// sessions, the user directory, and the NATS subjects other services use to
// check a session and look up users.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/blob"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/wire"
)

// Config is what the service is built from.
type Config struct {
	Store  Store
	Blobs  blob.Store
	Bus    *bus.Conn
	Limits Limits
	Log    *slog.Logger
	Now    func() time.Time // the clock; time.Now when nil
}

// Service is the auth service.
type Service struct {
	store  Store
	blobs  blob.Store
	bus    *bus.Conn
	limits Limits
	log    *slog.Logger
	now    func() time.Time
}

// New builds the service; call Subscribe and Routes to put it to work.
func New(c Config) *Service {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Limits == (Limits{}) {
		c.Limits = DefaultLimits()
	}
	return &Service{store: c.Store, blobs: c.Blobs, bus: c.Bus, limits: c.Limits, log: c.Log.With("service", "auth"), now: c.Now}
}

// hashToken is how a session token is stored: SHA-256, hex.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Verify checks a session token and returns its session and user.
func (s *Service) Verify(ctx context.Context, token string) (wire.SessionVerifyReply, error) {
	unauthorized := apperr.Errorf(apperr.Unauthorized, "Your session has ended; please log in again.")
	if token == "" || len(token) > 128 {
		return wire.SessionVerifyReply{}, unauthorized
	}
	se, err := s.store.SessionByTokenHash(ctx, hashToken(token))
	if apperr.Code(err) == apperr.NotFound {
		return wire.SessionVerifyReply{}, unauthorized
	}
	if err != nil {
		return wire.SessionVerifyReply{}, err
	}
	if !s.now().Before(se.ExpiresAt) {
		return wire.SessionVerifyReply{}, unauthorized
	}
	a, err := s.store.UserByID(ctx, se.UserID)
	if apperr.Code(err) == apperr.NotFound {
		return wire.SessionVerifyReply{}, unauthorized
	}
	if err != nil {
		return wire.SessionVerifyReply{}, err
	}
	return wire.SessionVerifyReply{SessionID: se.ID, User: publicUser(a), ExpiresAt: wire.NewTime(se.ExpiresAt)}, nil
}

// publicUser is what everyone may see of an account.
func publicUser(a *Account) wire.User {
	return wire.User{
		ID:        a.ID,
		Username:  a.Username,
		Nickname:  a.Nickname,
		AvatarURL: "/api/users/" + a.ID + "/avatar?v=" + avatarVersion(a.Avatar),
		CreatedAt: wire.NewTime(a.CreatedAt),
	}
}

func avatarVersion(avatar string) string {
	for i := 0; i < len(avatar); i++ {
		if avatar[i] == '.' {
			return avatar[:i]
		}
	}
	return avatar
}

// Subscribe answers auth.session.verify and auth.users.get on the bus.
func (s *Service) Subscribe() error {
	if _, err := bus.Handle(s.bus, wire.SubjectSessionVerify, "auth", func(ctx context.Context, r wire.SessionVerifyRequest) (wire.SessionVerifyReply, error) {
		return s.Verify(ctx, r.Token)
	}); err != nil {
		return err
	}
	_, err := bus.Handle(s.bus, wire.SubjectUsersGet, "auth", s.usersGet)
	return err
}

// maxUsersPerRequest bounds auth.users.get.
const maxUsersPerRequest = 1000

func (s *Service) usersGet(ctx context.Context, r wire.UsersGetRequest) (wire.UsersGetReply, error) {
	if len(r.IDs) > maxUsersPerRequest {
		return wire.UsersGetReply{}, apperr.Errorf(apperr.Invalid, "at most %d ids per request", maxUsersPerRequest)
	}
	accounts, err := s.store.UsersByIDs(ctx, r.IDs)
	if err != nil {
		return wire.UsersGetReply{}, err
	}
	out := wire.UsersGetReply{Users: make([]wire.User, len(accounts))}
	for i, a := range accounts {
		out.Users[i] = publicUser(a)
	}
	return out, nil
}

// Run does the service's housekeeping until ctx ends: expired sessions are
// deleted (and announced, so their WebSockets close) and old attempts are
// forgotten.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		s.sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) sweep(ctx context.Context) {
	now := s.now()
	expired, err := s.store.DeleteExpiredSessions(ctx, now)
	if err != nil && ctx.Err() == nil {
		s.log.Error("sweep sessions", "err", err)
	}
	for _, se := range expired {
		s.announceRevoked(se)
	}
	keep := max(s.limits.LoginWindow, s.limits.RegistrationWindow)
	if err := s.store.PruneAttempts(ctx, now.Add(-keep)); err != nil && ctx.Err() == nil {
		s.log.Error("sweep attempts", "err", err)
	}
}

func (s *Service) announceRevoked(se *Session) {
	if err := s.bus.Publish(wire.SubjectSessionRevoked, wire.SessionRevoked{SessionID: se.ID, UserID: se.UserID}); err != nil {
		s.log.Warn("announce revoked session", "err", err)
	}
}

// Ping checks the store and the object storage.
func (s *Service) Ping(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return err
	}
	return s.blobs.Ping(ctx)
}
