package media_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/testaudio"
	"github.com/webchatroom/chatroom/internal/testimage"
)

// TestDownloadAccess is the access matrix of DESIGN §4 and §6 for media:
// lobby and direct conversation × uploader, member, non-member, logged
// out, for the bytes and the thumbnail. Whoever may not read gets exactly
// the 404 an ID that does not exist gets.
func TestDownloadAccess(t *testing.T) {
	s := MustServe(t)
	ann, bob, eve := s.MustUser(t, "ann"), s.MustUser(t, "bob"), s.MustUser(t, "eve")
	dm := s.MustDirect(t, ann, bob)
	pic := testimage.PNG(t, testimage.Halves(40, 40))
	lobby := s.MustUpload(t, ann, form{Kind: "image", Conversation: "lobby", File: pic})
	private := s.MustUpload(t, ann, form{Kind: "image", Conversation: dm, File: pic})
	byBob := s.MustUpload(t, bob, form{Kind: "voice", Conversation: dm, File: testaudio.Ogg(testaudio.Options{Duration: time.Second}), DurationMS: "1000"})
	missing := s.Get(t, ann, "/api/media/0123456789abcdef0123456789abcdef")
	if missing.Status != 404 || missing.ErrorCode() != "not_found" {
		t.Fatalf("unknown id: %d %s", missing.Status, missing.Body)
	}
	loggedOut := user{}
	expired := user{Cookie: "chatroom_session=not-a-live-session"}
	for _, c := range []struct {
		who   string
		as    user
		path  string
		allow bool
	}{
		{"lobby, uploader", ann, lobby.URL, true},
		{"lobby, uploader, thumbnail", ann, lobby.ThumbnailURL, true},
		{"lobby, anyone logged in", eve, lobby.URL, true},
		{"lobby, anyone logged in, thumbnail", eve, lobby.ThumbnailURL, true},
		{"lobby, logged out", loggedOut, lobby.URL, false},
		{"lobby, logged out, thumbnail", loggedOut, lobby.ThumbnailURL, false},
		{"lobby, dead session", expired, lobby.URL, false},
		{"direct, uploader", ann, private.URL, true},
		{"direct, uploader, thumbnail", ann, private.ThumbnailURL, true},
		{"direct, the other member", bob, private.URL, true},
		{"direct, the other member, thumbnail", bob, private.ThumbnailURL, true},
		{"direct, non-member", eve, private.URL, false},
		{"direct, non-member, thumbnail", eve, private.ThumbnailURL, false},
		{"direct, logged out", loggedOut, private.URL, false},
		{"direct, logged out, thumbnail", loggedOut, private.ThumbnailURL, false},
		{"direct voice, the other member", ann, byBob.URL, true},
		{"direct voice, non-member", eve, byBob.URL, false},
		{"direct voice, logged out", loggedOut, byBob.URL, false},
		{"voice has no thumbnail", bob, byBob.URL + "/thumbnail", false},
	} {
		r := s.Get(t, c.as, c.path)
		if !c.allow {
			if r.Status != 404 || !bytes.Equal(r.Body, missing.Body) || r.Header.Get("Content-Type") != missing.Header.Get("Content-Type") {
				t.Errorf("%s: %d %s, want the 404 of an unknown id", c.who, r.Status, r.Body)
			}
			continue
		}
		if r.Status != 200 || len(r.Body) == 0 {
			t.Errorf("%s: %d %s", c.who, r.Status, r.Body)
			continue
		}
		h := r.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.HasPrefix(h.Get("Content-Type"), "image/") && !strings.HasPrefix(h.Get("Content-Type"), "audio/") ||
			h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "sandbox") ||
			!strings.HasPrefix(h.Get("Cache-Control"), "private") || h.Get("Accept-Ranges") != "bytes" {
			t.Errorf("%s: headers %v", c.who, h)
		}
	}
}
