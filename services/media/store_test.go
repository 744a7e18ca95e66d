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

// backend is where media keeps things: metadata and objects.
type backend struct {
	Store media.Store
	Blobs blob.Store
}

// testStore is the contract every media backend passes: SQLite with a
// folder, MongoDB with S3. open returns a fresh, empty backend.
func testStore(t *testing.T, open func(t *testing.T) backend) {
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 10, 0, 0, 123e6, time.UTC)
	voice := func() *media.Item {
		return &media.Item{ID: ids.New(), OwnerID: ids.New(), ConversationID: wire.LobbyID, Kind: wire.KindVoice, Mime: "audio/webm",
			Size: 1234, DurationMS: 3500, Waveform: []int{0, 17, 255, 3}, Key: "media/" + ids.New(), CreatedAt: at}
	}

	t.Run("create and get", func(t *testing.T) {
		b := open(t)
		pic := &media.Item{ID: ids.New(), OwnerID: ids.New(), ConversationID: "dm-a-b", Kind: wire.KindImage, Mime: "image/jpeg",
			Size: 99999, Width: 800, Height: 1200, Key: "media/" + ids.New(), ThumbKey: "media/" + ids.New(), ThumbMime: "image/png", CreatedAt: at}
		for _, it := range []*media.Item{pic, voice()} {
			if err := b.Store.Create(ctx, it); err != nil {
				t.Fatal(err)
			}
			got, err := b.Store.Get(ctx, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", it) {
				t.Fatalf("Get = %+v, want %+v", got, it)
			}
		}
		if _, err := b.Store.Get(ctx, "nope"); apperr.Code(err) != apperr.NotFound {
			t.Fatalf("missing: %v, want not_found", err)
		}
		dup := voice()
		dup.ID = pic.ID
		if err := b.Store.Create(ctx, dup); apperr.Code(err) != apperr.Conflict {
			t.Fatalf("id in use: %v, want conflict", err)
		}
		if got, _ := b.Store.Get(ctx, pic.ID); got.Kind != wire.KindImage {
			t.Fatalf("the refused duplicate replaced the item: %+v", got)
		}
	})

	t.Run("claimed once, again only by the same message", func(t *testing.T) {
		b := open(t)
		it := voice()
		if err := b.Store.Create(ctx, it); err != nil {
			t.Fatal(err)
		}
		got, err := b.Store.Claim(ctx, it.ID, "alice/c1")
		if err != nil || got.ClaimedBy != "alice/c1" || got.DurationMS != 3500 {
			t.Fatalf("first claim: %+v %v", got, err)
		}
		if got, err := b.Store.Claim(ctx, it.ID, "alice/c1"); err != nil || got.ClaimedBy != "alice/c1" {
			t.Fatalf("the same message again: %+v %v", got, err)
		}
		if _, err := b.Store.Claim(ctx, it.ID, "alice/c2"); apperr.Code(err) != "media_already_sent" {
			t.Fatalf("another message: %v, want media_already_sent", err)
		}
		if got, _ := b.Store.Get(ctx, it.ID); got.ClaimedBy != "alice/c1" {
			t.Fatalf("claim after a refused one: %q", got.ClaimedBy)
		}
		if _, err := b.Store.Claim(ctx, "nope", "alice/c3"); apperr.Code(err) != apperr.NotFound {
			t.Fatalf("missing: %v, want not_found", err)
		}
	})

	t.Run("racing claims: one message wins", func(t *testing.T) {
		b := open(t)
		it := voice()
		if err := b.Store.Create(ctx, it); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var won []string
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				claim := fmt.Sprintf("alice/c%d", i)
				_, err := b.Store.Claim(ctx, it.ID, claim)
				switch apperr.Code(err) {
				case "":
					mu.Lock()
					won = append(won, claim)
					mu.Unlock()
				case "media_already_sent":
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, _ := b.Store.Get(ctx, it.ID)
		if len(won) != 1 || got.ClaimedBy != won[0] {
			t.Fatalf("winners %v, stored claim %q", won, got.ClaimedBy)
		}
	})

	t.Run("delete unsent: old and never claimed only, oldest first", func(t *testing.T) {
		b := open(t)
		cutoff := at.Add(24 * time.Hour)
		item := func(created time.Time) *media.Item {
			it := voice()
			it.CreatedAt = created
			if err := b.Store.Create(ctx, it); err != nil {
				t.Fatal(err)
			}
			return it
		}
		old3, old1, sent, young, old2 := item(at.Add(2*time.Minute)), item(at), item(at), item(cutoff), item(at.Add(time.Minute))
		if _, err := b.Store.Claim(ctx, sent.ID, "alice/c1"); err != nil {
			t.Fatal(err)
		}
		for _, want := range [][]*media.Item{{old1, old2}, {old3}, {}} {
			got, err := b.Store.DeleteUnsent(ctx, cutoff, 2)
			if err != nil || itemsString(got) != itemsString(want) {
				t.Fatalf("DeleteUnsent = %s %v, want %s", itemsString(got), err, itemsString(want))
			}
		}
		for _, it := range []*media.Item{old1, old2, old3} {
			if _, err := b.Store.Get(ctx, it.ID); apperr.Code(err) != apperr.NotFound {
				t.Fatalf("deleted item still there: %v", err)
			}
		}
		if got, err := b.Store.Get(ctx, sent.ID); err != nil || got.ClaimedBy != "alice/c1" {
			t.Fatalf("sent item: %+v %v", got, err)
		}
		if _, err := b.Store.Get(ctx, young.ID); err != nil {
			t.Fatalf("an item created at the cutoff is not older than it: %v", err)
		}
	})

	t.Run("sweep", func(t *testing.T) { testSweep(t, open) })

	t.Run("ping", func(t *testing.T) {
		b := open(t)
		if err := b.Store.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Blobs.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})

	// the whole service on this backend: bytes into the object storage and
	// back, whole and in ranges, metadata into the store and back
	t.Run("service", func(t *testing.T) {
		b := open(t)
		s := MustServeOn(t, b.Store, b.Blobs)
		u := s.MustUser(t, "uploader")
		photo := testimage.PhoneJPEG(t, testimage.Halves(300, 200), 8)
		rec := testaudio.MP4(testaudio.Options{Duration: 2 * time.Second})
		pic := s.MustUpload(t, u, form{Kind: "image", Conversation: "lobby", File: photo})
		snd := s.MustUpload(t, u, form{Kind: "voice", Conversation: "lobby", File: rec, DurationMS: "2000", Waveform: "[1,2,3]"})
		if pic.Width != 200 || pic.Height != 300 || snd.Mime != "audio/mp4" {
			t.Fatalf("media %+v %+v", pic, snd)
		}
		got, err := b.Store.Get(ctx, snd.ID)
		if err != nil || got.OwnerID != u.ID || got.Kind != wire.KindVoice || fmt.Sprint(got.Waveform) != "[1 2 3]" || got.Key == "" || got.Key == snd.ID {
			t.Fatalf("stored %+v %v", got, err)
		}
		if r := s.Get(t, u, snd.URL); r.Status != 200 || !bytes.Equal(r.Body, rec) {
			t.Fatalf("voice back: %d, %d bytes", r.Status, len(r.Body))
		}
		if r := s.Get(t, u, snd.URL, "Range", "bytes=10-19"); r.Status != 206 || !bytes.Equal(r.Body, rec[10:20]) {
			t.Fatalf("range: %d %q", r.Status, r.Body)
		}
		if r := s.Get(t, u, snd.URL, "Range", "bytes=-5"); r.Status != 206 || !bytes.Equal(r.Body, rec[len(rec)-5:]) {
			t.Fatalf("suffix range: %d %q", r.Status, r.Body)
		}
		for _, path := range []string{pic.URL, pic.ThumbnailURL} {
			if r := s.Get(t, u, path); r.Status != 200 || r.Header.Get("Content-Type") != "image/jpeg" || len(r.Body) < 100 {
				t.Fatalf("%s: %d %s", path, r.Status, r.Header.Get("Content-Type"))
			}
		}
		obj, err := b.Blobs.Get(ctx, got.Key)
		if err != nil {
			t.Fatalf("object under the stored key: %v", err)
		}
		obj.Close()
	})
}

// itemsString shows items in full, to compare them.
func itemsString(items []*media.Item) string {
	var b strings.Builder
	for _, it := range items {
		fmt.Fprintf(&b, "%+v\n", *it)
	}
	return b.String()
}
