package media_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/chattest"
	"github.com/webchatroom/chatroom/internal/testaudio"
	"github.com/webchatroom/chatroom/internal/testimage"
	"github.com/webchatroom/chatroom/internal/wire"
)

// TestClaimOverTheBus asks media.claim as history does: only the
// uploader, for the conversation and kind it was uploaded for, and once.
func TestClaimOverTheBus(t *testing.T) {
	s := MustServe(t)
	ann, bob := s.MustUser(t, "ann"), s.MustUser(t, "bob")
	dm := s.MustDirect(t, ann, bob)
	m := s.MustUpload(t, ann, form{Kind: "voice", Conversation: dm, File: testaudio.Ogg(testaudio.Options{Duration: 2 * time.Second}),
		DurationMS: "2000", Waveform: "[9,8,7]"})
	claim := s.Claim
	ok := wire.MediaClaimRequest{MediaID: m.ID, SenderID: ann.ID, ConversationID: dm, Kind: wire.KindVoice, ClientID: "c1"}
	for name, r := range map[string]wire.MediaClaimRequest{
		"another user":         {MediaID: m.ID, SenderID: bob.ID, ConversationID: dm, Kind: wire.KindVoice, ClientID: "c1"},
		"another conversation": {MediaID: m.ID, SenderID: ann.ID, ConversationID: wire.LobbyID, Kind: wire.KindVoice, ClientID: "c1"},
		"another kind":         {MediaID: m.ID, SenderID: ann.ID, ConversationID: dm, Kind: wire.KindImage, ClientID: "c1"},
		"unknown media":        {MediaID: "0123456789abcdef0123456789abcdef", SenderID: ann.ID, ConversationID: dm, Kind: wire.KindVoice, ClientID: "c1"},
		"no media":             {SenderID: ann.ID, ConversationID: dm, Kind: wire.KindVoice, ClientID: "c1"},
		"no client id":         {MediaID: m.ID, SenderID: ann.ID, ConversationID: dm, Kind: wire.KindVoice},
	} {
		if _, err := claim(r); apperr.Code(err) != "media_not_found" {
			t.Errorf("%s: %v, want media_not_found", name, err)
		}
	}
	got, err := claim(ok)
	if err != nil || fmt.Sprintf("%+v", got.Media) != fmt.Sprintf("%+v", m) {
		t.Fatalf("claim: %+v %v, want %+v", got.Media, err, m)
	}
	if _, err := claim(ok); err != nil {
		t.Fatalf("the same message again (a resend): %v", err)
	}
	again := ok
	again.ClientID = "c2"
	if _, err := claim(again); apperr.Code(err) != "media_already_sent" {
		t.Fatalf("another message: %v, want media_already_sent", err)
	}
}

// sendMedia writes a send frame of an image or voice message.
func sendMedia(t *testing.T, c *chattest.Client, conv, clientID, kind, mediaID string) {
	t.Helper()
	c.Send(t, map[string]any{"type": "send", "client_id": clientID, "conversation_id": conv, "kind": kind, "media_id": mediaID})
}

// TestSendMediaOverWebSocket sends pictures and voice messages the way the
// browser does, over the real WebSocket: the stored, acknowledged and
// delivered message carries the media, and history pages too; another
// user's upload, one for another conversation, or one sent already is
// refused.
func TestSendMediaOverWebSocket(t *testing.T) {
	s := MustServe(t)
	ann, bob, eve := s.MustUser(t, "ann"), s.MustUser(t, "bob"), s.MustUser(t, "eve")
	dm := s.MustDirect(t, ann, bob)
	a, b, e := s.MustDial(t, ann.Cookie), s.MustDial(t, bob.Cookie), s.MustDial(t, eve.Cookie)

	pic := s.MustUpload(t, ann, form{Kind: "image", Conversation: dm, File: testimage.PNG(t, testimage.Halves(120, 80))})
	sendMedia(t, a, dm, "p-1", "image", pic.ID)
	f := a.Answer(t, "p-1")
	if f["type"] != "ack" {
		t.Fatalf("send picture: %v", f)
	}
	acked := f["message"].(map[string]any)
	got := acked["media"].(map[string]any)
	if acked["kind"] != "image" || acked["text"] != "" || got["id"] != pic.ID || got["url"] != pic.URL ||
		got["thumbnail_url"] != pic.ThumbnailURL || got["width"] != 120.0 || got["height"] != 80.0 || got["mime"] != "image/png" {
		t.Fatalf("acked %v", acked)
	}
	delivered := b.Next(t, "message")["message"].(map[string]any)
	if delivered["id"] != acked["id"] || fmt.Sprint(delivered["media"]) != fmt.Sprint(got) {
		t.Fatalf("delivered %v, acked %v", delivered, acked)
	}
	e.None(t, "message", 300*time.Millisecond)

	// a resend (the ack was lost) returns the stored message
	sendMedia(t, a, dm, "p-1", "image", pic.ID)
	if f := a.Answer(t, "p-1"); f["type"] != "ack" || f["message"].(map[string]any)["id"] != acked["id"] {
		t.Fatalf("resend: %v", f)
	}
	// the same upload in another message
	sendMedia(t, a, dm, "p-2", "image", pic.ID)
	if f := a.Answer(t, "p-2"); f["code"] != "media_already_sent" {
		t.Fatalf("sent twice: %v", f)
	}

	lobbyVoice := s.MustUpload(t, ann, form{Kind: "voice", Conversation: "lobby", File: testaudio.WebM(testaudio.Options{Duration: 3 * time.Second, NoDuration: true}),
		DurationMS: "3100", Waveform: "[0,128,255]"})
	dmVoice := s.MustUpload(t, ann, form{Kind: "voice", Conversation: dm, File: testaudio.MP3(2 * time.Second), DurationMS: "2000"})
	for _, c := range []struct {
		name           string
		from           *chattest.Client
		conv, kind, id string
		code           string
	}{
		{"another user's upload", e, "lobby", "voice", lobbyVoice.ID, "media_not_found"},
		{"an upload for another conversation", a, "lobby", "voice", dmVoice.ID, "media_not_found"},
		{"a voice upload sent as a picture", a, "lobby", "image", lobbyVoice.ID, "media_not_found"},
		{"an upload that does not exist", a, "lobby", "voice", "0123456789abcdef0123456789abcdef", "media_not_found"},
		{"no media_id", a, "lobby", "voice", "", "invalid_input"},
		{"a conversation the sender is not in", e, dm, "voice", dmVoice.ID, "not_found"},
	} {
		sendMedia(t, c.from, c.conv, "bad-"+c.name, c.kind, c.id)
		if f := c.from.Answer(t, "bad-"+c.name); f["type"] != "error" || f["code"] != c.code {
			t.Errorf("%s: %v, want %s", c.name, f, c.code)
		}
	}
	a.Send(t, map[string]any{"type": "send", "client_id": "captioned", "conversation_id": "lobby", "kind": "voice", "media_id": lobbyVoice.ID, "text": "listen"})
	if f := a.Answer(t, "captioned"); f["code"] != "invalid_input" {
		t.Fatalf("voice with text: %v", f)
	}

	// the refused sends did not use up the uploads
	sendMedia(t, a, "lobby", "v-1", "voice", lobbyVoice.ID)
	if f := a.Answer(t, "v-1"); f["type"] != "ack" {
		t.Fatalf("send voice: %v", f)
	}
	heard := e.Next(t, "message")["message"].(map[string]any)["media"].(map[string]any)
	if heard["duration_ms"] != 3100.0 || fmt.Sprint(heard["waveform"]) != "[0 128 255]" || heard["mime"] != "audio/webm" || heard["thumbnail_url"] != nil {
		t.Fatalf("voice delivered as %v", heard)
	}

	// history pages and the conversation list carry the media, without
	// asking media again
	status, page := s.Do(t, bob.Cookie, "GET", "/api/conversations/"+dm+"/messages", nil)
	msgs, _ := page["messages"].([]any)
	if status != 200 || len(msgs) != 1 || fmt.Sprint(msgs[0].(map[string]any)["media"]) != fmt.Sprint(got) {
		t.Fatalf("history page: %d %v", status, page)
	}
	_, list := s.Do(t, eve.Cookie, "GET", "/api/conversations", nil)
	last := list["conversations"].([]any)[0].(map[string]any)["last_message"].(map[string]any)
	if last["kind"] != "voice" || last["media"].(map[string]any)["id"] != lobbyVoice.ID {
		t.Fatalf("lobby's last message %v", last)
	}
	// and the picture is still only the DM's
	if r := s.Get(t, eve, pic.URL); r.Status != 404 {
		t.Fatalf("a third user fetched the DM picture: %d", r.Status)
	}
}
