package media_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/blob"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/testaudio"
	"github.com/webchatroom/chatroom/internal/testimage"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/media"
)

// testSweep is the part of the backend contract that deletes uploads never
// sent: the whole service on the backend, its clock moved by the test.
func testSweep(t *testing.T, open func(t *testing.T) backend) {
	ctx := context.Background()

	t.Run("old unsent uploads go with their objects; sent and young ones stay", func(t *testing.T) {
		b := open(t)
		s := MustServeOn(t, b.Store, b.Blobs)
		u := s.MustUser(t, "uploader")
		photo := testimage.PhoneJPEG(t, testimage.Halves(60, 40), 8)
		unsent := s.MustUpload(t, u, form{Kind: "image", Conversation: wire.LobbyID, File: photo})
		sent := s.MustUpload(t, u, form{Kind: "image", Conversation: wire.LobbyID, File: photo})
		if _, err := s.Claim(wire.MediaClaimRequest{MediaID: sent.ID, SenderID: u.ID, ConversationID: wire.LobbyID,
			Kind: wire.KindImage, ClientID: "c1"}); err != nil {
			t.Fatal(err)
		}
		s.Clock.Advance(23 * time.Hour)
		young := s.MustUpload(t, u, form{Kind: "voice", Conversation: wire.LobbyID, File: testaudio.MP4(testaudio.Options{Duration: time.Second}),
			DurationMS: "1000"})
		old, err := b.Store.Get(ctx, unsent.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.Media.Sweep(ctx); n != 0 || err != nil {
			t.Fatalf("sweep at 23 h: %d %v, want nothing deleted", n, err)
		}
		s.Clock.Advance(time.Hour + time.Millisecond)
		if n, err := s.Media.Sweep(ctx); n != 1 || err != nil {
			t.Fatalf("sweep past 24 h: %d %v, want 1", n, err)
		}

		if _, err := b.Store.Get(ctx, unsent.ID); apperr.Code(err) != apperr.NotFound {
			t.Fatalf("record of the unsent upload: %v, want not_found", err)
		}
		for _, key := range []string{old.Key, old.ThumbKey} {
			if _, err := b.Blobs.Get(ctx, key); apperr.Code(err) != apperr.NotFound {
				t.Fatalf("object %s of the unsent upload: %v, want not_found", key, err)
			}
		}
		for _, path := range []string{unsent.URL, unsent.ThumbnailURL} {
			if r := s.Get(t, u, path); r.Status != 404 {
				t.Fatalf("%s after the sweep: %d, want 404", path, r.Status)
			}
		}
		if _, err := s.Claim(wire.MediaClaimRequest{MediaID: unsent.ID, SenderID: u.ID, ConversationID: wire.LobbyID,
			Kind: wire.KindImage, ClientID: "c2"}); apperr.Code(err) != "media_not_found" {
			t.Fatalf("sending the swept upload: %v, want media_not_found", err)
		}
		for _, path := range []string{sent.URL, sent.ThumbnailURL, young.URL} {
			if r := s.Get(t, u, path); r.Status != 200 || len(r.Body) == 0 {
				t.Fatalf("%s after the sweep: %d, want 200", path, r.Status)
			}
		}
		if r := s.Get(t, user{}, "/metrics"); !strings.Contains(string(r.Body), "\nchatroom_media_unsent_deleted_total 1\n") {
			t.Fatalf("metrics lack one unsent upload deleted:\n%s", r.Body)
		}
		if n, err := s.Media.Sweep(ctx); n != 0 || err != nil {
			t.Fatalf("second sweep: %d %v, want nothing left to delete", n, err)
		}
	})

	// History claims an upload when a message names it; a sweep may be
	// deleting it at that moment. Either the claim wins and the item keeps
	// its record and bytes, or the sweep wins and the claim is refused as
	// media_not_found, never a message naming a deleted item. The sweep
	// goes oldest first and the claims newest first, so they meet while
	// both run: the claims before the meeting land on items the sweep has
	// already picked and not yet deleted.
	t.Run("claims racing a sweep: every claimed item keeps its record and bytes", func(t *testing.T) {
		b := open(t)
		s := MustServeOn(t, b.Store, b.Blobs)
		owner := ids.New()
		old := s.Clock.Now().Add(-25 * time.Hour).UTC().Truncate(time.Millisecond)
		items := make([]*media.Item, 40)
		for i := range items {
			items[i] = mustSave(t, b, owner, old.Add(time.Duration(i)*time.Millisecond))
		}
		claims := make([]error, len(items))
		var swept int
		var sweepErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			swept, sweepErr = s.Media.Sweep(ctx)
		}()
		go func() {
			defer wg.Done()
			for i := len(items) - 1; i >= 0; i-- {
				_, claims[i] = s.Claim(wire.MediaClaimRequest{MediaID: items[i].ID, SenderID: owner, ConversationID: wire.LobbyID,
					Kind: wire.KindImage, ClientID: fmt.Sprint("c", i)})
			}
		}()
		wg.Wait()
		if sweepErr != nil {
			t.Fatal(sweepErr)
		}
		claimed := 0
		for i, it := range items {
			switch apperr.Code(claims[i]) {
			case "":
				claimed++
				got, err := b.Store.Get(ctx, it.ID)
				if err != nil || got.ClaimedBy != fmt.Sprint(owner, "/c", i) {
					t.Errorf("claimed item %d: %+v %v", i, got, err)
				}
				for _, key := range []string{it.Key, it.ThumbKey} {
					if obj, err := b.Blobs.Get(ctx, key); err != nil {
						t.Errorf("claimed item %d lost object %s: %v", i, key, err)
					} else {
						obj.Close()
					}
				}
			case "media_not_found":
				if _, err := b.Store.Get(ctx, it.ID); apperr.Code(err) != apperr.NotFound {
					t.Errorf("refused claim %d, yet the item is there: %v", i, err)
				}
			default:
				t.Errorf("claim %d: %v", i, claims[i])
			}
		}
		if claimed+swept != len(items) {
			t.Fatalf("%d claimed + %d swept, want %d", claimed, swept, len(items))
		}
		t.Logf("%d claimed, %d swept", claimed, swept)
	})
}

// mustSave stores a picture of owner's in the lobby, created at created,
// as an upload does: its file and thumbnail, then its record.
func mustSave(tb testing.TB, b backend, owner string, created time.Time) *media.Item {
	tb.Helper()
	ctx := context.Background()
	it := &media.Item{ID: ids.New(), OwnerID: owner, ConversationID: wire.LobbyID, Kind: wire.KindImage, Mime: "image/png", Size: 3,
		Key: "media/" + ids.New(), ThumbKey: "media/" + ids.New(), ThumbMime: "image/png", CreatedAt: created.UTC().Truncate(time.Millisecond)}
	for _, key := range []string{it.Key, it.ThumbKey} {
		if err := b.Blobs.Put(ctx, key, bytes.NewReader([]byte("png")), 3, "image/png"); err != nil {
			tb.Fatal(err)
		}
	}
	if err := b.Store.Create(ctx, it); err != nil {
		tb.Fatal(err)
	}
	return it
}

// TestSweepDeletesEveryOldUpload: one sweep deletes all old unsent uploads
// and their objects, however many store calls that takes.
func TestSweepDeletesEveryOldUpload(t *testing.T) {
	dir := t.TempDir()
	blobs, err := blob.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := backend{Store: MustOpenSQLite(t), Blobs: blobs}
	s := MustServeOn(t, b.Store, b.Blobs)
	owner := ids.New()
	for range 250 {
		mustSave(t, b, owner, s.Clock.Now())
	}
	s.Clock.Advance(25 * time.Hour)
	if n, err := s.Media.Sweep(context.Background()); n != 250 || err != nil {
		t.Fatalf("sweep: %d %v, want 250", n, err)
	}
	if n := objects(t, dir); n != 0 {
		t.Fatalf("%d objects left, want none", n)
	}
}

// TestRunSweepsAtStartUntilStopped: Run deletes an upload already old when
// it starts, without waiting for its hourly tick, and ends with its context.
func TestRunSweepsAtStartUntilStopped(t *testing.T) {
	s := MustServe(t)
	u := s.MustUser(t, "ann")
	m := s.MustUpload(t, u, form{Kind: "image", Conversation: wire.LobbyID, File: testimage.PhoneJPEG(t, testimage.Halves(60, 40), 8)})
	s.Clock.Advance(25 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.Media.Run(ctx)
		close(done)
	}()
	for deadline := time.Now().Add(10 * time.Second); s.Get(t, u, m.URL).Status != 404; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the old unsent upload is still served after Run started")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end with its context")
	}
}

// TestUnsentTTLZeroKeepsUploads: with no time to live, Run has nothing to
// do and returns, and a sweep deletes nothing however old.
func TestUnsentTTLZeroKeepsUploads(t *testing.T) {
	s := MustServe(t, func(l *media.Limits) { l.UnsentTTL = 0 })
	u := s.MustUser(t, "ann")
	m := s.MustUpload(t, u, form{Kind: "image", Conversation: wire.LobbyID, File: testimage.PhoneJPEG(t, testimage.Halves(60, 40), 8)})
	s.Clock.Advance(10 * 365 * 24 * time.Hour)
	done := make(chan struct{})
	go func() {
		s.Media.Run(context.Background())
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run with UnsentTTL 0 keeps running")
	}
	if n, err := s.Media.Sweep(context.Background()); n != 0 || err != nil {
		t.Fatalf("sweep: %d %v, want nothing deleted", n, err)
	}
	if r := s.Get(t, u, m.URL); r.Status != 200 {
		t.Fatalf("upload after ten years: %d, want 200", r.Status)
	}
}
