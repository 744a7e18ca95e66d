package auth_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/wire"
)

func TestWrongPasswordAndUnknownUserLookTheSame(t *testing.T) {
	s := MustServe(t)
	c := s.Client(t)
	c.MustRegisterAndLogin("dora")
	timed := func(user string) (response, time.Duration) {
		start := time.Now()
		r := s.Client(t).Login(user, "wrong-password-42")
		return r, time.Since(start)
	}
	var wrongT, unknownT []time.Duration
	var wrong, unknown response
	for i := 0; i < 3; i++ {
		var d time.Duration
		wrong, d = timed("dora")
		wrongT = append(wrongT, d)
		unknown, d = timed("nobody_here")
		unknownT = append(unknownT, d)
	}
	if wrong.Status != 401 || unknown.Status != 401 || !bytes.Equal(wrong.Body, unknown.Body) {
		t.Fatalf("wrong password: %d %s; unknown user: %d %s — must be identical", wrong.Status, wrong.Body, unknown.Status, unknown.Body)
	}
	if wrong.ErrorCode() != "invalid_credentials" {
		t.Fatalf("code %q", wrong.ErrorCode())
	}
	// an unknown user still pays for an argon2id hash: not measurably cheaper
	w, u := median(wrongT), median(unknownT)
	if u < w/2 {
		t.Fatalf("unknown user answered in %v, wrong password in %v: usernames can be probed by timing", u, w)
	}
	t.Logf("median: wrong password %v, unknown user %v", w, u)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func TestLoginThrottling(t *testing.T) {
	s := MustServe(t)
	s.Client(t).MustRegisterAndLogin("erin")
	c := s.Client(t)
	for i := 1; i <= 5; i++ {
		if r := c.Login("erin", "not-her-password"); r.Status != 401 {
			t.Fatalf("failure %d: %d %s", i, r.Status, r.Body)
		}
	}
	// the sixth try is refused even with the right password
	r := c.Login("ERIN", goodPassword)
	if r.Status != 429 || r.ErrorCode() != "too_many_attempts" {
		t.Fatalf("after 5 failures: %d %s", r.Status, r.Body)
	}
	// another IP is not blocked by this one's failures
	if r := fromIP(t, s, "127.0.0.2").Login("erin", goodPassword); r.Status != 200 {
		t.Fatalf("other IP: %d %s", r.Status, r.Body)
	}
	// another username from the same IP is not blocked
	s.Client(t).MustRegisterAndLogin("frank")
	if r := c.Login("frank", goodPassword); r.Status != 200 {
		t.Fatalf("other user, same IP: %d %s", r.Status, r.Body)
	}
	// 15 minutes later erin may try again
	s.Clock.Advance(14 * time.Minute)
	if r := c.Login("erin", goodPassword); r.Status != 429 {
		t.Fatalf("after 14 minutes: %d", r.Status)
	}
	s.Clock.Advance(2 * time.Minute)
	if r := c.Login("erin", goodPassword); r.Status != 200 {
		t.Fatalf("after 16 minutes: %d %s", r.Status, r.Body)
	}
	// a success clears the count: four more failures are still allowed
	for i := 0; i < 4; i++ {
		c.Login("erin", "nope-nope-nope")
	}
	if r := c.Login("erin", goodPassword); r.Status != 200 {
		t.Fatalf("count not cleared by success: %d", r.Status)
	}
}

// fromIP is a client whose connections come from a given loopback address.
func fromIP(t *testing.T, s *server, ip string) *client {
	c := s.Client(t)
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	jar, _ := cookiejar.New(nil)
	c.http = &http.Client{Jar: jar, Transport: &http.Transport{DialContext: dialer.DialContext}}
	return c
}

func TestRegistrationThrottling(t *testing.T) {
	s := MustServe(t)
	c := s.Client(t)
	// 120 registrations per IP per hour: refused forms count too (they cost
	// the server work), so the limit is reached without 120 argon2 hashes
	for i := 0; i < 120; i++ {
		if r := c.Register(form{Username: "x", Nickname: "X", Password: "short"}); r.Status != 400 {
			t.Fatalf("attempt %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	r := c.Register(form{Username: "latecomer", Nickname: "L", Password: goodPassword})
	if r.Status != 429 || r.ErrorCode() != "too_many_attempts" {
		t.Fatalf("121st registration: %d %s", r.Status, r.Body)
	}
	if r := fromIP(t, s, "127.0.0.3").Register(form{Username: "latecomer", Nickname: "L", Password: goodPassword}); r.Status != 201 {
		t.Fatalf("other IP: %d %s", r.Status, r.Body)
	}
	s.Clock.Advance(61 * time.Minute)
	if r := c.Register(form{Username: "later", Nickname: "L", Password: goodPassword}); r.Status != 201 {
		t.Fatalf("an hour later: %d %s", r.Status, r.Body)
	}
}

func TestLogoutKillsSession(t *testing.T) {
	s := MustServe(t)
	c := s.Client(t)
	c.MustRegisterAndLogin("gina")
	token := sessionToken(t, c)
	revoked := make(chan wire.SessionRevoked, 1)
	if _, err := bus.Subscribe(s.Bus, wire.SubjectSessionRevoked, func(e wire.SessionRevoked) { revoked <- e }); err != nil {
		t.Fatal(err)
	}
	v, err := bus.Request[wire.SessionVerifyRequest, wire.SessionVerifyReply](context.Background(), s.Bus, wire.SubjectSessionVerify, wire.SessionVerifyRequest{Token: token})
	if err != nil || v.User.Username != "gina" {
		t.Fatalf("verify before logout: %+v %v", v, err)
	}
	r := c.do("POST", "/api/auth/logout", "", nil)
	if r.Status != 204 {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if !strings.Contains(r.Header.Get("Set-Cookie"), "chatroom_session=;") {
		t.Errorf("logout does not clear the cookie: %q", r.Header.Get("Set-Cookie"))
	}
	select {
	case e := <-revoked:
		if e.SessionID != v.SessionID || e.UserID != v.User.ID {
			t.Fatalf("revoked event %+v, want session %s", e, v.SessionID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no auth.session.revoked event: gateways would keep the WebSockets open")
	}
	// the old token is dead on the server, not just forgotten by the browser
	stale := s.Client(t)
	stale.header.Set("Cookie", "chatroom_session="+token)
	if r := stale.Get("/api/auth/me"); r.Status != 401 || r.ErrorCode() != "unauthorized" {
		t.Fatalf("me with the old token: %d %s", r.Status, r.Body)
	}
	_, err = bus.Request[wire.SessionVerifyRequest, wire.SessionVerifyReply](context.Background(), s.Bus, wire.SubjectSessionVerify, wire.SessionVerifyRequest{Token: token})
	if apperr.Code(err) != apperr.Unauthorized {
		t.Fatalf("verify after logout: %v, want unauthorized", err)
	}
	// logging out again is harmless
	if r := c.do("POST", "/api/auth/logout", "", nil); r.Status != 204 {
		t.Fatalf("second logout: %d", r.Status)
	}
}

func TestSessionExpires(t *testing.T) {
	s := MustServe(t)
	c := s.Client(t)
	c.MustRegisterAndLogin("hank")
	s.Clock.Advance(29 * 24 * time.Hour)
	if r := c.Get("/api/auth/me"); r.Status != 200 {
		t.Fatalf("after 29 days: %d", r.Status)
	}
	s.Clock.Advance(25 * time.Hour)
	if r := c.Get("/api/auth/me"); r.Status != 401 {
		t.Fatalf("after 30 days: %d, want 401", r.Status)
	}
}

func sessionToken(t *testing.T, c *client) string {
	t.Helper()
	req, _ := http.NewRequest("GET", c.base, nil)
	for _, ck := range c.http.Jar.Cookies(req.URL) {
		if ck.Name == "chatroom_session" {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

func TestCrossOriginPostRefused(t *testing.T) {
	s := MustServe(t)
	s.Client(t).MustRegisterAndLogin("ivan")
	evil := s.Client(t)
	evil.header.Set("Origin", "https://evil.example")
	r := evil.Login("ivan", goodPassword)
	if r.Status != 403 || r.ErrorCode() != "forbidden_origin" {
		t.Fatalf("cross-origin login: %d %s", r.Status, r.Body)
	}
	if r.Header.Get("Set-Cookie") != "" {
		t.Fatal("a refused cross-origin login set a cookie")
	}
	if r := evil.Register(form{Username: "sneaky", Nickname: "S", Password: goodPassword}); r.Status != 403 {
		t.Fatalf("cross-origin register: %d", r.Status)
	}
	fetch := s.Client(t)
	fetch.header.Set("Sec-Fetch-Site", "cross-site")
	if r := fetch.Login("ivan", goodPassword); r.Status != 403 {
		t.Fatalf("Sec-Fetch-Site cross-site: %d", r.Status)
	}
	for _, origin := range []string{s.URL, "https://chat.example.com"} {
		ok := s.Client(t)
		ok.header.Set("Origin", origin)
		ok.header.Set("Sec-Fetch-Site", "same-origin")
		if r := ok.Login("ivan", goodPassword); r.Status != 200 {
			t.Fatalf("login from %s: %d %s", origin, r.Status, r.Body)
		}
	}
	if r := s.Client(t).Login("sneaky", goodPassword); r.Status != 401 {
		t.Fatal("the refused cross-origin registration created an account")
	}
}

func TestLoginBadRequests(t *testing.T) {
	s := MustServe(t)
	c := s.Client(t)
	for name, body := range map[string]string{
		"not JSON":       "{",
		"empty":          "{}",
		"no password":    `{"username":"x"}`,
		"blank username": `{"username":"  ","password":"x"}`,
	} {
		r := c.do("POST", "/api/auth/login", "application/json", strings.NewReader(body))
		if r.Status != 400 || r.ErrorCode() != "invalid_input" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
}

func TestUserDirectory(t *testing.T) {
	s := MustServe(t)
	c := s.Client(t)
	if r := c.Get("/api/users"); r.Status != 401 {
		t.Fatalf("directory without login: %d", r.Status)
	}
	me := c.MustRegisterAndLogin("judy")
	for _, n := range []string{"kate", "leo", "王芳芳"} {
		s.Client(t).MustRegisterAndLogin(n)
	}
	var seen []string
	cursor := ""
	for page := 0; page < 5; page++ {
		r := c.Get("/api/users?limit=3&cursor=" + cursor)
		if r.Status != 200 {
			t.Fatalf("page %d: %d %s", page, r.Status, r.Body)
		}
		body := r.JSON(t)
		for _, u := range body["users"].([]any) {
			seen = append(seen, u.(map[string]any)["username"].(string))
		}
		cursor = body["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if strings.Join(seen, ",") != "judy,kate,leo,王芳芳" {
		t.Fatalf("paged directory = %v", seen)
	}
	r := c.Get("/api/users?q=" + "%E7%8E%8B") // 王
	if users := r.JSON(t)["users"].([]any); len(users) != 1 || users[0].(map[string]any)["username"] != "王芳芳" {
		t.Fatalf("q=王: %s", r.Body)
	}
	if users := c.Get("/api/users?q=NICK%20K").JSON(t)["users"].([]any); len(users) != 1 {
		t.Fatalf("nickname search ignoring case: %v", users)
	}
	for _, bad := range []string{"limit=0", "limit=201", "limit=x", "cursor=%%%"} {
		if r := c.Get("/api/users?" + bad); r.Status != 400 {
			t.Errorf("%s: %d %s", bad, r.Status, r.Body)
		}
	}
	one := c.Get("/api/users/" + me["id"].(string))
	if one.Status != 200 || one.JSON(t)["user"].(map[string]any)["username"] != "judy" {
		t.Fatalf("get user: %d %s", one.Status, one.Body)
	}
	if r := c.Get("/api/users/does-not-exist"); r.Status != 404 || r.ErrorCode() != "not_found" {
		t.Fatalf("unknown user: %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(one.Body), "password") {
		t.Fatal("the user object leaks the password hash")
	}
}

func TestUsersOverNATS(t *testing.T) {
	s := MustServe(t)
	a := s.Client(t).MustRegisterAndLogin("mia")
	b := s.Client(t).MustRegisterAndLogin("ned")
	got, err := bus.Request[wire.UsersGetRequest, wire.UsersGetReply](context.Background(), s.Bus, wire.SubjectUsersGet,
		wire.UsersGetRequest{IDs: []string{a["id"].(string), "missing", b["id"].(string)}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range got.Users {
		names = append(names, u.Username+"|"+u.Nickname)
		if !strings.HasPrefix(u.AvatarURL, "/api/users/"+u.ID+"/avatar?v=") {
			t.Errorf("avatar_url %q", u.AvatarURL)
		}
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "mia|Nick mia,ned|Nick ned" {
		t.Fatalf("users.get = %v", names)
	}
	_, err = bus.Request[wire.SessionVerifyRequest, wire.SessionVerifyReply](context.Background(), s.Bus, wire.SubjectSessionVerify, wire.SessionVerifyRequest{Token: "forged"})
	if apperr.Code(err) != apperr.Unauthorized {
		t.Fatalf("forged token: %v", err)
	}
}
