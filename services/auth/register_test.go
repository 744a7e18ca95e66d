package auth_test

import (
	"bytes"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"strings"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/testimage"
)

// MustPNG is a w×h PNG of the red/blue halves picture.
func MustPNG(t testing.TB, w, h int) []byte { return testimage.PNG(t, testimage.Halves(w, h)) }

func TestRegisterAndLogin(t *testing.T) {
	s := MustServe(t)
	c := s.Client(t)
	r := c.Register(form{Username: "张伟_88", Nickname: "  小张 Zhang  ", Password: goodPassword, Avatar: MustPNG(t, 300, 200)})
	if r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	u := r.JSON(t)["user"].(map[string]any)
	if u["username"] != "张伟_88" || u["nickname"] != "小张 Zhang" {
		t.Fatalf("user = %v (nickname must be trimmed)", u)
	}
	if _, err := time.Parse(time.RFC3339, u["created_at"].(string)); err != nil || !strings.HasSuffix(u["created_at"].(string), "Z") {
		t.Fatalf("created_at %v is not RFC 3339 UTC", u["created_at"])
	}
	if c.Get("/api/auth/me").Status != 401 {
		t.Fatal("registering must not log in by itself")
	}
	r = c.Login("张伟_88", goodPassword)
	if r.Status != 200 {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	cookie := r.Header.Get("Set-Cookie")
	for _, want := range []string{"chatroom_session=", "HttpOnly", "SameSite=Lax", "path=/", "max-age=2592000"} {
		if !strings.Contains(strings.ToLower(cookie), strings.ToLower(want)) {
			t.Errorf("cookie %q lacks %q", cookie, want)
		}
	}
	if strings.Contains(strings.ToLower(cookie), "secure") {
		t.Errorf("cookie %q is Secure on plain HTTP; the browser would drop it", cookie)
	}
	me := c.Get("/api/auth/me")
	if me.Status != 200 || me.JSON(t)["user"].(map[string]any)["id"] != u["id"] {
		t.Fatalf("me: %d %s", me.Status, me.Body)
	}
	// the username is found ignoring case and width
	other := s.Client(t)
	if r := other.Login("张伟_88", goodPassword); r.Status != 200 {
		t.Fatalf("second login: %d %s", r.Status, r.Body)
	}

	// the avatar is stored, square, in two sizes, for logged-in users
	for size, want := range map[string]int{"": 256, "&size=64": 64, "&size=32": 64} {
		a := c.Get(u["avatar_url"].(string) + size)
		if a.Status != 200 {
			t.Fatalf("avatar %q: %d %s", size, a.Status, a.Body)
		}
		img, format, err := image.Decode(bytes.NewReader(a.Body))
		if err != nil || img.Bounds().Dx() != want || img.Bounds().Dy() != want {
			t.Fatalf("avatar %q: %v %v %v, want %dx%d", size, format, img.Bounds(), err, want, want)
		}
		if ct := a.Header.Get("Content-Type"); ct != "image/"+format {
			t.Errorf("avatar content type %q, decoded %s", ct, format)
		}
		if a.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(a.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("avatar served without nosniff and a sandbox CSP: %v", a.Header)
		}
		if !strings.Contains(a.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("versioned avatar URL not cached: %q", a.Header.Get("Cache-Control"))
		}
	}
	if r := s.Client(t).Get(u["avatar_url"].(string)); r.Status != 401 {
		t.Fatalf("avatar without login: %d", r.Status)
	}
}

func TestRegisterWithoutAvatarGetsIdenticon(t *testing.T) {
	s := MustServe(t)
	c := s.Client(t)
	c.MustRegisterAndLogin("bob")
	r := s.Client(t).Register(form{Username: "noavatar", Nickname: "No Avatar", Password: goodPassword})
	if r.Status != 201 {
		t.Fatalf("register without avatar: %d %s", r.Status, r.Body)
	}
	u := r.JSON(t)["user"].(map[string]any)
	a := c.Get(u["avatar_url"].(string))
	img, _, err := image.Decode(bytes.NewReader(a.Body))
	if a.Status != 200 || err != nil || img.Bounds().Dx() != 256 {
		t.Fatalf("identicon: %d %v", a.Status, err)
	}
}

func TestRegisterRefusesBadInput(t *testing.T) {
	s := MustServe(t)
	c := s.Client(t)
	if r := c.Register(form{Username: "Alice", Nickname: "Alice", Password: goodPassword}); r.Status != 201 {
		t.Fatalf("first alice: %d %s", r.Status, r.Body)
	}
	png := MustPNG(t, 64, 64)
	tooLarge := append(bytes.Clone(png), make([]byte, 5<<20)...)
	cases := []struct {
		name   string
		form   form
		status int
		code   string
	}{
		{"duplicate", form{Username: "Alice", Nickname: "A", Password: goodPassword}, 409, "username_taken"},
		{"duplicate differing in case", form{Username: "aLICE", Nickname: "A", Password: goodPassword}, 409, "username_taken"},
		{"duplicate in full width", form{Username: "ＡＬＩＣＥ", Nickname: "A", Password: goodPassword}, 409, "username_taken"},
		{"username too short", form{Username: "ab", Nickname: "A", Password: goodPassword}, 400, "username_invalid"},
		{"username too long", form{Username: strings.Repeat("a", 33), Nickname: "A", Password: goodPassword}, 400, "username_invalid"},
		{"username with space", form{Username: "a b c", Nickname: "A", Password: goodPassword}, 400, "username_invalid"},
		{"username with punctuation", form{Username: "bob!", Nickname: "A", Password: goodPassword}, 400, "username_invalid"},
		{"username with markup", form{Username: "<b>x</b>", Nickname: "A", Password: goodPassword}, 400, "username_invalid"},
		{"empty nickname", form{Username: "carol", Nickname: "   ", Password: goodPassword}, 400, "nickname_invalid"},
		{"nickname too long", form{Username: "carol", Nickname: strings.Repeat("名", 33), Password: goodPassword}, 400, "nickname_invalid"},
		{"nickname with control character", form{Username: "carol", Nickname: "a\x07b", Password: goodPassword}, 400, "nickname_invalid"},
		{"nickname with bidi override", form{Username: "carol", Nickname: "evil\u202Egnp.exe", Password: goodPassword}, 400, "nickname_invalid"},
		{"short password", form{Username: "carol", Nickname: "C", Password: "k7#pQ2x"}, 400, "password_too_short"},
		{"long password", form{Username: "carol", Nickname: "C", Password: strings.Repeat("x9", 65)}, 400, "password_too_long"},
		{"common password", form{Username: "carol", Nickname: "C", Password: "password123"}, 400, "password_common"},
		{"common password any case", form{Username: "carol", Nickname: "C", Password: "IloveYou1"}, 400, "password_common"},
		{"common Chinese password", form{Username: "carol", Nickname: "C", Password: "woaini1314"}, 400, "password_common"},
		{"repeated character", form{Username: "carol", Nickname: "C", Password: "zzzzzzzzzz"}, 400, "password_common"},
		{"sequence", form{Username: "carol", Nickname: "C", Password: "23456789"}, 400, "password_common"},
		{"password is the username", form{Username: "carol_1234", Nickname: "C", Password: "Carol_1234"}, 400, "password_same_as_username"},
		{"text file posing as PNG", form{Username: "carol", Nickname: "C", Password: goodPassword, Avatar: []byte("hello, I am a text file"), Filename: "me.png"}, 415, "avatar_unsupported"},
		{"SVG", form{Username: "carol", Nickname: "C", Password: goodPassword, Avatar: []byte(testimage.SVG), Filename: "me.svg"}, 415, "avatar_unsupported"},
		{"HTML", form{Username: "carol", Nickname: "C", Password: goodPassword, Avatar: []byte("<html><script>alert(1)</script>"), Filename: "me.jpg"}, 415, "avatar_unsupported"},
		{"truncated PNG", form{Username: "carol", Nickname: "C", Password: goodPassword, Avatar: png[:40]}, 422, "avatar_invalid"},
		{"oversize file", form{Username: "carol", Nickname: "C", Password: goodPassword, Avatar: tooLarge}, 413, "avatar_too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Register(tc.form)
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
			if msg, _ := r.JSON(t)["error"].(map[string]any)["message"].(string); msg == "" {
				t.Fatalf("no message in %s", r.Body)
			}
		})
	}
	// nothing was created by any refused form
	c.MustRegisterAndLogin("viewer")
	list := c.Get("/api/users?limit=200").JSON(t)["users"].([]any)
	if len(list) != 2 {
		t.Fatalf("refused forms created accounts: %v", list)
	}
	// and carol can still register afterwards
	if r := s.Client(t).Register(form{Username: "carol", Nickname: "C", Password: goodPassword, Avatar: png}); r.Status != 201 {
		t.Fatalf("carol after refusals: %d %s", r.Status, r.Body)
	}
}

func TestRegisterRefusesPixelBombFast(t *testing.T) {
	s := MustServe(t)
	bomb := testimage.PNGBomb(t, 30000, 30000)
	if len(bomb) > 5<<20 {
		t.Fatalf("bomb is %d bytes: it must pass the size limit to test the pixel limit", len(bomb))
	}
	start := time.Now()
	r := s.Client(t).Register(form{Username: "bomber", Nickname: "B", Password: goodPassword, Avatar: bomb})
	took := time.Since(start)
	if r.Status != 422 || r.ErrorCode() != "avatar_too_many_pixels" {
		t.Fatalf("bomb: %d %s", r.Status, r.Body)
	}
	// decoding 900 megapixels takes many seconds and gigabytes; refusing
	// from the header takes milliseconds
	if took > time.Second {
		t.Fatalf("bomb refused after %v: was it decoded?", took)
	}
	t.Logf("30000×30000 PNG (%d KB) refused in %v", len(bomb)>>10, took)
}

func TestRegisterBodyOverLimit(t *testing.T) {
	s := MustServe(t)
	huge := append(MustPNG(t, 10, 10), make([]byte, 7<<20)...)
	// Past the body limit the server answers 413 and closes the connection
	// without reading the rest; the client sees the 413 or, when the close
	// races its upload, a reset. Either way nothing is stored.
	c := s.Client(t)
	if r, err := c.TryRegister(form{Username: "huge", Nickname: "H", Password: goodPassword, Avatar: huge}); err == nil {
		if r.Status != 413 || r.ErrorCode() != "payload_too_large" {
			t.Fatalf("7 MiB upload: %d %s", r.Status, r.Body)
		}
	} else if !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "broken pipe") {
		t.Fatalf("7 MiB upload: %v", err)
	}
	if r := c.Login("huge", goodPassword); r.Status != 401 {
		t.Fatalf("the refused upload created an account: %d", r.Status)
	}
}

func TestAvatarDropsGPSAndTurnsUpright(t *testing.T) {
	s := MustServe(t)
	// stored 300×200 with red on top; orientation 6 means "rotate 90° clockwise
	// to display", so upright the red half is on the right.
	photo := testimage.PhoneJPEG(t, testimage.Halves(300, 200), 6)
	if !bytes.Contains(photo, []byte(testimage.GPSMarker)) {
		t.Fatal("fixture lacks its GPS block")
	}
	c := s.Client(t)
	if r := c.Register(form{Username: "traveller", Nickname: "T", Password: goodPassword, Avatar: photo, Filename: "IMG_0001.JPG"}); r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	c.MustRegisterAndLogin("viewer")
	list := c.Get("/api/users?q=traveller").JSON(t)["users"].([]any)
	url := list[0].(map[string]any)["avatar_url"].(string)
	for _, size := range []string{"", "&size=64"} {
		a := c.Get(url + size)
		if bytes.Contains(a.Body, []byte("Exif")) || bytes.Contains(a.Body, []byte(testimage.GPSMarker)) || bytes.Contains(a.Body, []byte("GPS")) {
			t.Fatalf("served avatar %q still carries EXIF/GPS", size)
		}
		img, _, err := image.Decode(bytes.NewReader(a.Body))
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()
		left := img.At(b.Dx()/8, b.Dy()/2)
		right := img.At(b.Dx()*7/8, b.Dy()/2)
		if !near(left, testimage.Blue) || !near(right, testimage.Red) {
			t.Fatalf("avatar %q not upright: left %v right %v, want blue then red", size, left, right)
		}
	}
}

func near(c interface{ RGBA() (r, g, b, a uint32) }, want interface{ RGBA() (r, g, b, a uint32) }) bool {
	r1, g1, b1, _ := c.RGBA()
	r2, g2, b2, _ := want.RGBA()
	d := func(a, b uint32) bool { return a>>8+40 >= b>>8 && b>>8+40 >= a>>8 }
	return d(r1, r2) && d(g1, g2) && d(b1, b2)
}
