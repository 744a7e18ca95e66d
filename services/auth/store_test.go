package auth_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/services/auth"
)

// testStore is the contract every auth.Store passes; open returns a fresh,
// empty store.
func testStore(t *testing.T, open func(t *testing.T) auth.Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 10, 0, 0, 123e6, time.UTC)
	account := func(name, nick string) *auth.Account {
		return &auth.Account{ID: ids.New(), Username: name, UsernameKey: name, Nickname: nick,
			PasswordHash: "$argon2id$x", Avatar: "v1.jpg", CreatedAt: at}
	}

	t.Run("users", func(t *testing.T) {
		s := open(t)
		a := account("alice", "Alice 爱丽丝")
		MustCreateUser(t, s, a)
		got, err := s.UserByID(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if *got != *a {
			t.Fatalf("UserByID = %+v, want %+v", got, a)
		}
		got, err = s.UserByUsernameKey(ctx, "alice")
		if err != nil || got.ID != a.ID {
			t.Fatalf("UserByUsernameKey = %v, %v", got, err)
		}
		if _, err := s.UserByID(ctx, "nope"); apperr.Code(err) != apperr.NotFound {
			t.Fatalf("missing id: %v, want not_found", err)
		}
		if _, err := s.UserByUsernameKey(ctx, "nope"); apperr.Code(err) != apperr.NotFound {
			t.Fatalf("missing username: %v, want not_found", err)
		}
		dup := account("alice", "Other")
		if err := s.CreateUser(ctx, dup); apperr.Code(err) != "username_taken" {
			t.Fatalf("duplicate username: %v, want username_taken", err)
		}
		if _, err := s.UserByID(ctx, dup.ID); apperr.Code(err) != apperr.NotFound {
			t.Fatalf("the refused duplicate was stored: %v", err)
		}
	})

	t.Run("users by ids", func(t *testing.T) {
		s := open(t)
		a, b := account("a1", "A"), account("b1", "B")
		MustCreateUser(t, s, a)
		MustCreateUser(t, s, b)
		got, err := s.UsersByIDs(ctx, []string{b.ID, "missing", a.ID})
		if err != nil {
			t.Fatal(err)
		}
		if ids := idsOf(got); fmt.Sprint(ids) != fmt.Sprint(sorted(a.ID, b.ID)) {
			t.Fatalf("UsersByIDs = %v", ids)
		}
		if got, err := s.UsersByIDs(ctx, nil); err != nil || len(got) != 0 {
			t.Fatalf("UsersByIDs(nil) = %v, %v", got, err)
		}
	})

	t.Run("list users", func(t *testing.T) {
		s := open(t)
		for _, u := range []struct{ name, nick string }{
			{"carol", "Carol"}, {"bob", "鲍勃 Bob"}, {"dave", "Dave"}, {"张伟", "小张"}, {"ann_1", "Annie%"},
		} {
			MustCreateUser(t, s, account(u.name, u.nick))
		}
		names := func(q, after string, limit int) string {
			t.Helper()
			got, err := s.ListUsers(ctx, q, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, a := range got {
				out = append(out, a.Username)
			}
			return fmt.Sprint(out)
		}
		if got := names("", "", 10); got != "[ann_1 bob carol dave 张伟]" {
			t.Errorf("all = %s", got)
		}
		if got := names("", "", 2); got != "[ann_1 bob]" {
			t.Errorf("first page = %s", got)
		}
		if got := names("", "bob", 2); got != "[carol dave]" {
			t.Errorf("second page = %s", got)
		}
		if got := names("a", "", 10); got != "[ann_1 carol dave]" {
			t.Errorf("q=a = %s", got)
		}
		if got := names("鲍", "", 10); got != "[bob]" {
			t.Errorf("q=鲍 (nickname) = %s", got)
		}
		if got := names("张", "", 10); got != "[张伟]" {
			t.Errorf("q=张 = %s", got)
		}
		if got := names("%", "", 10); got != "[ann_1]" {
			t.Errorf("q=%% must match a literal %%: %s", got)
		}
		if got := names("_", "", 10); got != "[ann_1]" {
			t.Errorf("q=_ must match a literal _: %s", got)
		}
		if got := names(".*", "", 10); got != "[]" {
			t.Errorf("q=.* must match literally: %s", got)
		}
	})

	t.Run("sessions", func(t *testing.T) {
		s := open(t)
		a := account("erin", "Erin")
		MustCreateUser(t, s, a)
		live := &auth.Session{ID: ids.New(), TokenHash: "hash-live", UserID: a.ID, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
		old := &auth.Session{ID: ids.New(), TokenHash: "hash-old", UserID: a.ID, CreatedAt: at, ExpiresAt: at.Add(-time.Second)}
		for _, se := range []*auth.Session{live, old} {
			if err := s.CreateSession(ctx, se); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.SessionByTokenHash(ctx, "hash-live")
		if err != nil {
			t.Fatal(err)
		}
		if *got != *live {
			t.Fatalf("SessionByTokenHash = %+v, want %+v", got, live)
		}
		if _, err := s.SessionByTokenHash(ctx, "nope"); apperr.Code(err) != apperr.NotFound {
			t.Fatalf("missing session: %v", err)
		}
		expired, err := s.DeleteExpiredSessions(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		if len(expired) != 1 || expired[0].ID != old.ID || expired[0].UserID != a.ID {
			t.Fatalf("DeleteExpiredSessions = %+v, want the old one", expired)
		}
		if _, err := s.SessionByTokenHash(ctx, "hash-old"); apperr.Code(err) != apperr.NotFound {
			t.Fatalf("expired session still there: %v", err)
		}
		if err := s.DeleteSession(ctx, live.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionByTokenHash(ctx, "hash-live"); apperr.Code(err) != apperr.NotFound {
			t.Fatalf("deleted session still there: %v", err)
		}
		if err := s.DeleteSession(ctx, live.ID); err != nil {
			t.Fatalf("deleting twice: %v", err)
		}
	})

	t.Run("attempts", func(t *testing.T) {
		s := open(t)
		for i := 0; i < 3; i++ {
			if err := s.AddAttempt(ctx, "k", at.Add(time.Duration(i)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddAttempt(ctx, "other", at); err != nil {
			t.Fatal(err)
		}
		count := func(key string, since time.Time) int {
			t.Helper()
			n, err := s.CountAttempts(ctx, key, since)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count("k", at); n != 3 {
			t.Fatalf("count = %d, want 3", n)
		}
		if n := count("k", at.Add(time.Minute)); n != 2 {
			t.Fatalf("count since +1m = %d, want 2 (inclusive)", n)
		}
		if err := s.PruneAttempts(ctx, at.Add(90*time.Second)); err != nil {
			t.Fatal(err)
		}
		if n := count("k", at); n != 1 {
			t.Fatalf("after prune = %d, want 1", n)
		}
		if err := s.ClearAttempts(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if n := count("k", at); n != 0 {
			t.Fatalf("after clear = %d", n)
		}
		if n := count("other", time.Time{}); n != 0 {
			t.Fatalf("prune kept an old attempt of another key: %d", n)
		}
	})

	t.Run("ping", func(t *testing.T) {
		if err := open(t).Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// MustCreateUser stores a or fails the test.
func MustCreateUser(tb testing.TB, s auth.Store, a *auth.Account) {
	tb.Helper()
	if err := s.CreateUser(context.Background(), a); err != nil {
		tb.Fatalf("create user %s: %v", a.Username, err)
	}
}

func idsOf(as []*auth.Account) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string { sort.Strings(s); return s }
