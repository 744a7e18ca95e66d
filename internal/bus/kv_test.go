package bus_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/testenv"
)

// TestBucketComparesAndSets runs the bucket on the machine's NATS server
// (JetStream): of two replicas making the same change, one wins.
func TestBucketComparesAndSets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prefix := "t" + ids.New()[:12]
	open := func(name string) (*bus.Conn, *bus.Bucket) {
		c, err := bus.Connect(bus.Options{URL: testenv.ExternalNATS(t), Prefix: prefix, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		b, err := c.Bucket(ctx, "state", "test")
		if err != nil {
			t.Fatal(err)
		}
		return c, b
	}
	conn, a := open("a")
	_, b := open("b")
	t.Cleanup(func() { _ = a.Destroy(context.Background()) })

	rev, err := a.Create(ctx, "k", []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Create(ctx, "k", []byte("two")); !errors.Is(err, bus.ErrKeyExists) {
		t.Fatalf("second create: %v, want ErrKeyExists", err)
	}
	if v, r, err := b.Get(ctx, "k"); err != nil || string(v) != "one" || r != rev {
		t.Fatalf("get: %q %d %v", v, r, err)
	}
	if err := b.Delete(ctx, "k", rev+100); !errors.Is(err, bus.ErrRevision) {
		t.Fatalf("delete at a wrong revision: %v, want ErrRevision", err)
	}
	if err := b.Delete(ctx, "k", rev); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "k", rev); !errors.Is(err, bus.ErrRevision) {
		t.Fatalf("a second delete at the same revision: %v, want ErrRevision", err)
	}
	if _, _, err := a.Get(ctx, "k"); !errors.Is(err, bus.ErrKeyNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	// a deleted key is created again, once
	wins := 0
	for _, bk := range []*bus.Bucket{a, b} {
		if _, err := bk.Create(ctx, "k", []byte("three")); err == nil {
			wins++
		} else if !errors.Is(err, bus.ErrKeyExists) {
			t.Fatal(err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d creates of a deleted key won", wins)
	}
	if _, err := a.Create(ctx, "j", nil); err != nil {
		t.Fatal(err)
	}
	if keys, err := b.Keys(ctx); err != nil || !slices.Equal(slices.Sorted(slices.Values(keys)), []string{"j", "k"}) {
		t.Fatalf("keys %v %v", keys, err)
	}

	// the bucket's stream lost (a NATS server restarted without its
	// store): the next change makes it again
	js, err := jetstream.New(bus.RawNATS(conn))
	if err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteKeyValue(ctx, prefix+"_state"); err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second) // as presence's claims are bounded
	defer cancelShort()
	if _, err := a.Create(short, "k", []byte("four")); err != nil {
		t.Fatalf("create after the bucket was lost: %v", err)
	}
	if keys, err := b.Keys(ctx); err != nil || !slices.Equal(keys, []string{"k"}) {
		t.Fatalf("keys after the loss %v %v", keys, err)
	}
}
