package media_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/testaudio"
	"github.com/webchatroom/chatroom/internal/testimage"
)

// TestRangeRequests: single byte ranges are served as 206 with
// Content-Range (Safari asks for audio this way); a range past the end is
// 416; several ranges or a malformed header get the whole file.
func TestRangeRequests(t *testing.T) {
	s := MustServe(t)
	u := s.MustUser(t, "listener")
	file := testaudio.WebM(testaudio.Options{Duration: 2 * time.Second})
	m := s.MustUpload(t, u, form{Kind: "voice", Conversation: "lobby", File: file, DurationMS: "2000"})
	n := len(file)
	for _, c := range []struct {
		name, header string
		status       int
		from, to     int // the bytes expected, file[from:to]
	}{
		{"first 100 bytes", "bytes=0-99", 206, 0, 100},
		{"Safari's probe", "bytes=0-1", 206, 0, 2},
		{"from the middle", fmt.Sprintf("bytes=%d-%d", n/2, n/2+9), 206, n / 2, n/2 + 10},
		{"open-ended", "bytes=100-", 206, 100, n},
		{"suffix", "bytes=-50", 206, n - 50, n},
		{"suffix longer than the file", fmt.Sprintf("bytes=-%d", n+10), 206, 0, n},
		{"end past the file", fmt.Sprintf("bytes=10-%d", n+1000), 206, 10, n},
		{"the last byte", fmt.Sprintf("bytes=%d-", n-1), 206, n - 1, n},
		{"no range", "", 200, 0, n},
		{"two ranges", "bytes=0-1,5-6", 200, 0, n},
		{"malformed", "bytes=abc", 200, 0, n},
		{"backwards", "bytes=9-2", 200, 0, n},
		{"another unit", "items=0-1", 200, 0, n},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r response
			if c.header == "" {
				r = s.Get(t, u, m.URL)
			} else {
				r = s.Get(t, u, m.URL, "Range", c.header)
			}
			if r.Status != c.status || !bytes.Equal(r.Body, file[c.from:c.to]) {
				t.Fatalf("%d with %d bytes, want %d with file[%d:%d]", r.Status, len(r.Body), c.status, c.from, c.to)
			}
			if r.Header.Get("Content-Type") != "audio/webm" || r.Header.Get("Content-Length") != fmt.Sprint(c.to-c.from) {
				t.Fatalf("headers %v", r.Header)
			}
			want := ""
			if c.status == 206 {
				want = fmt.Sprintf("bytes %d-%d/%d", c.from, c.to-1, n)
			}
			if got := r.Header.Get("Content-Range"); got != want {
				t.Fatalf("Content-Range %q, want %q", got, want)
			}
		})
	}
	for _, header := range []string{fmt.Sprintf("bytes=%d-", n), fmt.Sprintf("bytes=%d-%d", n+5, n+10), "bytes=-0"} {
		r := s.Get(t, u, m.URL, "Range", header)
		if r.Status != 416 || r.ErrorCode() != "range_not_satisfiable" || r.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", n) {
			t.Errorf("%s: %d %q %s", header, r.Status, r.Header.Get("Content-Range"), r.Body)
		}
	}
	// a picture's thumbnail takes ranges too
	pic := s.MustUpload(t, u, form{Kind: "image", Conversation: "lobby", File: testimage.PNG(t, testimage.Halves(600, 400))})
	whole := s.Get(t, u, pic.ThumbnailURL)
	r := s.Get(t, u, pic.ThumbnailURL, "Range", "bytes=8-15")
	if r.Status != 206 || !bytes.Equal(r.Body, whole.Body[8:16]) || r.Header.Get("Content-Range") != fmt.Sprintf("bytes 8-15/%d", len(whole.Body)) {
		t.Fatalf("thumbnail range: %d %q", r.Status, r.Header.Get("Content-Range"))
	}
}
