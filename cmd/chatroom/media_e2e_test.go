package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/chattest"
	"github.com/webchatroom/chatroom/internal/testaudio"
	"github.com/webchatroom/chatroom/internal/testenv"
	"github.com/webchatroom/chatroom/internal/testimage"
)

// upload posts a file to /api/media with the session cookie.
func upload(t *testing.T, s *chatSite, cookie string, fields []string, file []byte) (int, map[string]any) {
	t.Helper()
	body, contentType := chattest.Multipart(fields, "file", "upload", file)
	req, _ := http.NewRequest("POST", s.URL+"/api/media", body)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// fetch GETs a media URL with the cookie ("" for logged out) and headers.
func fetch(t *testing.T, s *chatSite, cookie, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// testMedia: a picture in a direct conversation and a voice message in the
// lobby, uploaded, sent over the WebSocket, delivered with their media and
// fetched; a third user gets 404 for the DM picture and cannot send it.
func testMedia(t *testing.T, s *chatSite) {
	annCookie, bobCookie, eveCookie := s.MustLogin(t, uniq("ann")), s.MustLogin(t, uniq("bob")), s.MustLogin(t, uniq("eve"))
	a, b, e := s.MustDial(t, annCookie), s.MustDial(t, bobCookie), s.MustDial(t, eveCookie)
	_, body := s.Do(t, annCookie, "POST", "/api/conversations/direct", map[string]any{"user_id": b.Me})
	dm := body["conversation"].(map[string]any)["id"].(string)

	photo := testimage.PhoneJPEG(t, testimage.Halves(640, 480), 6)
	status, body := upload(t, s, annCookie, []string{"kind", "image", "conversation_id", dm}, photo)
	if status != 201 {
		t.Fatalf("upload picture: %d %v", status, body)
	}
	pic := body["media"].(map[string]any)
	if pic["width"] != 480.0 || pic["height"] != 640.0 {
		t.Fatalf("picture %v: not upright", pic)
	}
	a.Send(t, map[string]any{"type": "send", "client_id": "pic-1", "conversation_id": dm, "kind": "image", "media_id": pic["id"]})
	if f := a.Answer(t, "pic-1"); f["type"] != "ack" || f["message"].(map[string]any)["media"].(map[string]any)["id"] != pic["id"] {
		t.Fatalf("send picture: %v", f)
	}
	got := b.Next(t, "message")["message"].(map[string]any)
	if got["kind"] != "image" || got["media"].(map[string]any)["thumbnail_url"] != pic["thumbnail_url"] {
		t.Fatalf("bob got %v", got)
	}
	for _, path := range []string{pic["url"].(string), pic["thumbnail_url"].(string)} {
		resp, data := fetch(t, s, bobCookie, path)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || bytes.Contains(data, []byte(testimage.GPSMarker)) {
			t.Fatalf("bob fetches %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for who, cookie := range map[string]string{"a third user": eveCookie, "someone logged out": ""} {
			if resp, _ := fetch(t, s, cookie, path); resp.StatusCode != 404 {
				t.Fatalf("%s fetches the DM's %s: %d", who, path, resp.StatusCode)
			}
		}
	}
	e.Send(t, map[string]any{"type": "send", "client_id": "steal", "conversation_id": "lobby", "kind": "image", "media_id": pic["id"]})
	if f := e.Answer(t, "steal"); f["code"] != "media_not_found" {
		t.Fatalf("a third user sends the DM picture: %v", f)
	}

	rec := testaudio.WebM(testaudio.Options{Duration: 3 * time.Second, NoDuration: true})
	status, body = upload(t, s, annCookie, []string{"kind", "voice", "conversation_id", "lobby", "duration_ms", "3000", "waveform", "[1,2,3]"}, rec)
	if status != 201 {
		t.Fatalf("upload voice: %d %v", status, body)
	}
	voice := body["media"].(map[string]any)
	a.Send(t, map[string]any{"type": "send", "client_id": "voice-1", "conversation_id": "lobby", "kind": "voice", "media_id": voice["id"]})
	if f := a.Answer(t, "voice-1"); f["type"] != "ack" {
		t.Fatalf("send voice: %v", f)
	}
	heard := e.Next(t, "message")["message"].(map[string]any)
	if heard["kind"] != "voice" || heard["media"].(map[string]any)["duration_ms"] != 3000.0 {
		t.Fatalf("eve got %v", heard)
	}
	resp, data := fetch(t, s, eveCookie, voice["url"].(string), "Range", "bytes=0-99")
	if resp.StatusCode != 206 || !bytes.Equal(data, rec[:100]) || resp.Header.Get("Content-Type") != "audio/webm" {
		t.Fatalf("voice range: %d %s", resp.StatusCode, resp.Header.Get("Content-Range"))
	}
}

// TestAllDeletesUnsentUploads runs `chatroom all` with --media-unsent-ttl
// 1s: a picture never sent is deleted (404, and a log line says so), one
// sent in a message before it stays.
func TestAllDeletesUnsentUploads(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	p := MustStart(t, nil, "all", "--addr", addr, "--data", t.TempDir(), "--media-unsent-ttl", "1s")
	s := &chatSite{Site: chattest.Site{URL: "http://" + addr}}
	testenv.WaitHTTP(t, s.URL+"/readyz", 30*time.Second)
	cookie := s.MustLogin(t, uniq("ann"))
	a := s.MustDial(t, cookie)
	photo := testimage.PhoneJPEG(t, testimage.Halves(64, 48), 6)
	pics := make([]string, 2)
	for i := range pics {
		status, body := upload(t, s, cookie, []string{"kind", "image", "conversation_id", "lobby"}, photo)
		if status != 201 {
			t.Fatalf("upload picture: %d %v", status, body)
		}
		pics[i] = body["media"].(map[string]any)["url"].(string)
		if i == 0 { // sent, and older than the unsent one: the sweep that takes that one passed it by
			a.Send(t, map[string]any{"type": "send", "client_id": "pic-1", "conversation_id": "lobby", "kind": "image",
				"media_id": body["media"].(map[string]any)["id"]})
			if f := a.Answer(t, "pic-1"); f["type"] != "ack" {
				t.Fatalf("send picture: %v", f)
			}
		}
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, _ := fetch(t, s, cookie, pics[1])
		if resp.StatusCode == 404 && strings.Contains(p.stderr.String(), "deleted unsent media") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the unsent picture: %d 15 s after upload, want 404 and a log line", resp.StatusCode)
		}
	}
	if resp, _ := fetch(t, s, cookie, pics[0]); resp.StatusCode != 200 {
		t.Fatalf("the sent picture: %d, want 200", resp.StatusCode)
	}
}
