package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/blob"
	"github.com/webchatroom/chatroom/internal/testenv"
)

// testStore is the contract every blob.Store keeps.
func testStore(t *testing.T, s blob.Store) {
	t.Run("PutGetRoundTrip", func(t *testing.T) {
		data := []byte("voice bytes \x00\x01\x02 你好")
		MustPut(t, s, "media/abc123/original", data)
		if got := MustRead(t, s, "media/abc123/original"); !bytes.Equal(got, data) {
			t.Errorf("Get returned %q, want %q", got, data)
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		MustPut(t, s, "avatars/u1", []byte("old avatar, longer than the new one"))
		MustPut(t, s, "avatars/u1", []byte("new"))
		if got := MustRead(t, s, "avatars/u1"); string(got) != "new" {
			t.Errorf("after overwrite Get = %q, want %q", got, "new")
		}
	})

	t.Run("GetMissingIsNotFound", func(t *testing.T) {
		obj, err := s.Get(context.Background(), "no/such/key")
		if code := apperr.Code(err); code != apperr.NotFound {
			if obj != nil {
				obj.Close()
			}
			t.Fatalf("Get(missing) code = %q (%v), want not_found", code, err)
		}
	})

	t.Run("GetPrefixOfOtherKeysIsNotFound", func(t *testing.T) {
		// "dir" is only a prefix of "dir/child": as an object it does not exist.
		MustPut(t, s, "dir/child", []byte("x"))
		obj, err := s.Get(context.Background(), "dir")
		if code := apperr.Code(err); code != apperr.NotFound {
			if obj != nil {
				obj.Close()
			}
			t.Fatalf("Get of a key that is only a prefix: code %q (%v), want not_found", code, err)
		}
	})

	t.Run("DeleteThenGet", func(t *testing.T) {
		MustPut(t, s, "to/delete", []byte("bye"))
		if err := s.Delete(context.Background(), "to/delete"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		_, err := s.Get(context.Background(), "to/delete")
		if code := apperr.Code(err); code != apperr.NotFound {
			t.Fatalf("Get after Delete code = %q (%v), want not_found", code, err)
		}
	})

	t.Run("DeleteMissingIsFine", func(t *testing.T) {
		if err := s.Delete(context.Background(), "never/was"); err != nil {
			t.Errorf("Delete(missing) = %v, want nil", err)
		}
	})

	t.Run("DeletePrefixLeavesOthers", func(t *testing.T) {
		MustPut(t, s, "keep/me", []byte("still here"))
		if err := s.Delete(context.Background(), "keep"); err != nil {
			t.Errorf("Delete of a key that does not exist (only a prefix) = %v, want nil", err)
		}
		if got := MustRead(t, s, "keep/me"); string(got) != "still here" {
			t.Errorf("keep/me = %q after deleting its prefix", got)
		}
	})

	t.Run("InvalidKeysRefused", func(t *testing.T) {
		ctx := context.Background()
		for _, key := range []string{
			"../x", "a/../../etc/passwd", "/abs", "A/Upper", "a//b", "", "a/", ".hidden", "a/.b", "a\\b", "a b",
			strings.Repeat("a", 600),
			strings.Repeat(strings.Repeat("l", 99)+"/", 5) + strings.Repeat("z", 13), // 513 characters
		} {
			name := key
			if len(name) > 20 {
				name = name[:20] + "…"
			}
			err := s.Put(ctx, key, strings.NewReader("x"), 1, "text/plain")
			if code := apperr.Code(err); code != apperr.Invalid {
				t.Errorf("Put(%q) code = %q (%v), want invalid_input", name, code, err)
			}
			obj, err := s.Get(ctx, key)
			if code := apperr.Code(err); code != apperr.Invalid {
				if obj != nil {
					obj.Close()
				}
				t.Errorf("Get(%q) code = %q (%v), want invalid_input", name, code, err)
			}
			if code := apperr.Code(s.Delete(ctx, key)); code != apperr.Invalid {
				t.Errorf("Delete(%q) code = %q, want invalid_input", name, code)
			}
		}
	})

	t.Run("ValidKeyShapes", func(t *testing.T) {
		for _, key := range []string{
			// Distinct first segments: no key is a prefix of another (a
			// folder or posix-backed S3 cannot hold both "a" and "a/b").
			"k", "0", "media/0123abcd/thumb.jpg", "x_y-z/a.b-c_d", "a/b/c/d/e/f",
			// 512 characters in segments of 100: the longest key allowed.
			strings.Repeat(strings.Repeat("l", 99)+"/", 5) + strings.Repeat("z", 12),
		} {
			if len(key) > 512 {
				t.Fatalf("test key of %d characters", len(key))
			}
			MustPut(t, s, key, []byte(key))
			if got := MustRead(t, s, key); string(got) != key {
				t.Errorf("key %q round-tripped as %q", key, got)
			}
		}
	})

	t.Run("LongSegmentWorksOrIsInvalid", func(t *testing.T) {
		// A key the key rules accept must work on every backend; if a
		// backend cannot store it, the rules must refuse it as invalid_input.
		key := strings.Repeat("s", 300)
		err := s.Put(context.Background(), key, strings.NewReader("x"), 1, "text/plain")
		switch apperr.Code(err) {
		case "":
			if got := MustRead(t, s, key); string(got) != "x" {
				t.Errorf("Get = %q, want x", got)
			}
		case apperr.Invalid:
		default:
			t.Errorf("Put of a 300-character key = %v: neither stored nor refused as invalid_input", err)
		}
	})

	t.Run("Seek", func(t *testing.T) {
		data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
		MustPut(t, s, "seek/me", data)
		obj := MustGet(t, s, "seek/me")
		defer obj.Close()
		if obj.Size() != int64(len(data)) {
			t.Fatalf("Size = %d, want %d", obj.Size(), len(data))
		}
		if pos, err := obj.Seek(10, io.SeekStart); err != nil || pos != 10 {
			t.Fatalf("Seek(10, start) = %d, %v", pos, err)
		}
		mid := make([]byte, 6)
		if _, err := io.ReadFull(obj, mid); err != nil || string(mid) != "abcdef" {
			t.Fatalf("read after Seek = %q, %v; want abcdef", mid, err)
		}
		if pos, err := obj.Seek(-4, io.SeekEnd); err != nil || pos != int64(len(data)-4) {
			t.Fatalf("Seek(-4, end) = %d, %v", pos, err)
		}
		tail, err := io.ReadAll(obj)
		if err != nil || string(tail) != "wxyz" {
			t.Fatalf("tail after Seek(-4, end) = %q, %v", tail, err)
		}
		if _, err := obj.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		all, err := io.ReadAll(obj)
		if err != nil || !bytes.Equal(all, data) {
			t.Fatalf("full read after rewinding = %q, %v", all, err)
		}
	})

	t.Run("Ping", func(t *testing.T) {
		if err := s.Ping(context.Background()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})

	t.Run("ConcurrentPuts", func(t *testing.T) {
		const n = 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				data := bytes.Repeat([]byte{byte('a' + i)}, 1000+i)
				if err := s.Put(context.Background(), fmt.Sprintf("many/k%02d", i), bytes.NewReader(data), int64(len(data)), "application/octet-stream"); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent Put: %v", err)
		}
		for i := range n {
			want := bytes.Repeat([]byte{byte('a' + i)}, 1000+i)
			if got := MustRead(t, s, fmt.Sprintf("many/k%02d", i)); !bytes.Equal(got, want) {
				t.Errorf("many/k%02d holds %d bytes of %q, want %d of %q", i, len(got), got[:min(1, len(got))], len(want), want[:1])
			}
		}
	})

	// An S3 client retries a failed upload with backoff for seconds; the
	// deadline only bounds that; a Put that wrongly succeeds returns at once.
	t.Run("ShortReaderIsErrorAndLeavesNothing", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := s.Put(ctx, "short/one", strings.NewReader("only ten b"), 100, "application/octet-stream")
		if err == nil {
			t.Fatal("Put with a reader shorter than size succeeded")
		}
		obj, err := s.Get(context.Background(), "short/one")
		if code := apperr.Code(err); code != apperr.NotFound {
			if obj != nil {
				obj.Close()
			}
			t.Fatalf("after a short Put, Get code = %q (%v), want not_found", code, err)
		}
	})

	t.Run("ShortReaderKeepsOldObject", func(t *testing.T) {
		MustPut(t, s, "short/two", []byte("intact"))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := s.Put(ctx, "short/two", strings.NewReader("trunc"), 50, "text/plain"); err == nil {
			t.Fatal("Put with a reader shorter than size succeeded")
		}
		if got := MustRead(t, s, "short/two"); string(got) != "intact" {
			t.Errorf("after a failed overwrite the object is %q, want the old %q", got, "intact")
		}
	})
}

// MustPut stores data under key.
func MustPut(tb testing.TB, s blob.Store, key string, data []byte) {
	tb.Helper()
	if err := s.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), "application/octet-stream"); err != nil {
		tb.Fatalf("Put(%q): %v", key, err)
	}
}

// MustGet opens key, failing the test if it cannot.
func MustGet(tb testing.TB, s blob.Store, key string) blob.Object {
	tb.Helper()
	obj, err := s.Get(context.Background(), key)
	if err != nil {
		tb.Fatalf("Get(%q): %v", key, err)
	}
	return obj
}

// MustRead returns the whole object under key and checks its Size.
func MustRead(tb testing.TB, s blob.Store, key string) []byte {
	tb.Helper()
	obj := MustGet(tb, s, key)
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		tb.Fatalf("read %q: %v", key, err)
	}
	if obj.Size() != int64(len(b)) {
		tb.Errorf("%q: Size() = %d but %d bytes read", key, obj.Size(), len(b))
	}
	return b
}

func randomHex(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func TestDir(t *testing.T) {
	s, err := blob.OpenDir(filepath.Join(t.TempDir(), "blobs", "nested"))
	if err != nil {
		t.Fatal(err)
	}
	testStore(t, s)
}

func TestS3(t *testing.T) {
	srv := testenv.VersityGW(t)
	ctx := context.Background()
	cfg := blob.S3Config{
		Endpoint:  srv.Endpoint,
		Bucket:    "test-" + randomHex(t),
		AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey,
		Region:    srv.Region,
	}
	s, err := blob.OpenS3(ctx, cfg)
	if err != nil {
		t.Fatalf("OpenS3: %v", err)
	}
	testStore(t, s)

	t.Run("ReopenExistingBucket", func(t *testing.T) {
		s2, err := blob.OpenS3(ctx, cfg)
		if err != nil {
			t.Fatalf("OpenS3 on an existing bucket: %v", err)
		}
		if got := MustRead(t, s2, "media/abc123/original"); len(got) == 0 {
			t.Error("a second store on the same bucket does not see the first one's objects")
		}
	})

	t.Run("WrongCredentialsFail", func(t *testing.T) {
		bad := cfg
		bad.SecretKey = "wrong-secret"
		if _, err := blob.OpenS3(ctx, bad); err == nil {
			t.Error("OpenS3 with a wrong secret succeeded")
		}
	})
}

func TestOpenS3NeedsEndpointAndBucket(t *testing.T) {
	for _, c := range []blob.S3Config{{Bucket: "b"}, {Endpoint: "127.0.0.1:1"}} {
		if _, err := blob.OpenS3(context.Background(), c); err == nil {
			t.Errorf("OpenS3(%+v) succeeded", c)
		}
	}
}

// failingReader yields its data, then fails: an upload cut off halfway.
type failingReader struct{ data []byte }

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, errors.New("connection reset by peer")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestDirInterruptedWriteKeepsOldObject(t *testing.T) {
	root := t.TempDir()
	s, err := blob.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	old := bytes.Repeat([]byte("old "), 1000)
	MustPut(t, s, "media/m1/original", old)

	half := bytes.Repeat([]byte("NEW!"), 500)
	err = s.Put(context.Background(), "media/m1/original", &failingReader{data: half}, 4000, "image/png")
	if err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	if got := MustRead(t, s, "media/m1/original"); !bytes.Equal(got, old) {
		t.Fatalf("after an interrupted overwrite the object has %d bytes starting %q; want the old content intact", len(got), got[:min(8, len(got))])
	}
	// Nor does a first write that fails leave anything at its key.
	if err := s.Put(context.Background(), "media/m2/original", &failingReader{data: half}, 4000, "image/png"); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	if _, err := s.Get(context.Background(), "media/m2/original"); apperr.Code(err) != apperr.NotFound {
		t.Fatalf("after an interrupted first write Get = %v, want not_found", err)
	}
	// No temporary files are left behind.
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), ".") {
			t.Errorf("leftover temporary file %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDirPingFailsWhenFolderGone(t *testing.T) {
	root := filepath.Join(t.TempDir(), "store")
	s, err := blob.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err == nil {
		t.Error("Ping succeeded with the folder gone")
	}
}
