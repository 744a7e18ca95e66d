package auth_test

import (
	"fmt"
	"testing"

	"github.com/webchatroom/chatroom/internal/testimage"
	"github.com/webchatroom/chatroom/services/auth"
)

// BenchmarkLogin is a full login over HTTP on loopback: throttle check,
// argon2id (19 MiB, t=2, p=1), session insert into SQLite, cookie. Run with
// -cpu 1,2 to see how logins scale on the cores there are.
func BenchmarkLogin(b *testing.B) {
	s := MustServe(b)
	s.Client(b).MustRegisterAndLogin("bench")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := s.Client(b)
		for pb.Next() {
			if r := c.Login("bench", goodPassword); r.Status != 200 {
				b.Errorf("login: %d %s", r.Status, r.Body)
				return
			}
		}
	})
}

// BenchmarkRegisterWithPhoto registers accounts with a 12-megapixel phone
// photo (4000×3000 JPEG, EXIF orientation 6): sniff, decode, orient, crop,
// two sizes, argon2id, SQLite insert, two files written.
func BenchmarkRegisterWithPhoto(b *testing.B) {
	s := MustServe(b, func(l *auth.Limits) { l.Registrations = 1 << 30 })
	photo := testimage.PhoneJPEG(b, testimage.Halves(4000, 3000), 6)
	b.SetBytes(int64(len(photo)))
	c := s.Client(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := c.Register(form{Username: fmt.Sprintf("user%d", i), Nickname: "N", Password: goodPassword, Avatar: photo})
		if r.Status != 201 {
			b.Fatalf("register: %d %s", r.Status, r.Body)
		}
	}
}
