package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Errors of Bucket operations that lost a race or found nothing.
var (
	ErrKeyExists   = errors.New("kv: key exists")                      // Create: someone created it first
	ErrKeyNotFound = errors.New("kv: key not found")                   // Get: no such key, or deleted
	ErrRevision    = errors.New("kv: key changed since that revision") // Delete: someone changed it first
)

// Bucket is a JetStream key-value bucket of this deployment: state that
// replicas of a service share, changed with compare-and-set so that of two
// replicas making the same change exactly one succeeds.
type Bucket struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg jetstream.KeyValueConfig

	mu sync.Mutex
	kv jetstream.KeyValue
}

// Bucket opens the bucket <prefix>_<name>, creating it (file storage, one
// value per key) when missing. The NATS server must have JetStream.
func (c *Conn) Bucket(ctx context.Context, name, description string) (*Bucket, error) {
	js, err := jetstream.New(c.nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	b := &Bucket{nc: c.nc, js: js, cfg: jetstream.KeyValueConfig{
		Bucket: bucketName(c.prefix + "_" + name), Description: description, History: 1, Storage: jetstream.FileStorage,
	}}
	if _, err := b.open(ctx, nil); err != nil {
		return nil, err
	}
	return b, nil
}

// bucketName keeps the characters a bucket name may hold (letters,
// digits, '-', '_') and turns the others into '_'.
func bucketName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

// open returns the bucket's handle, (re)creating the bucket when there is
// none yet or when stale is the current one (its stream was lost, e.g. a
// NATS server restarted without its store).
func (b *Bucket) open(ctx context.Context, stale jetstream.KeyValue) (jetstream.KeyValue, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.kv != nil && b.kv != stale {
		return b.kv, nil
	}
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, b.cfg)
	if err != nil {
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, fmt.Errorf("kv bucket %s: the NATS server needs JetStream (nats-server -js): %w", b.cfg.Bucket, err)
		}
		return nil, fmt.Errorf("kv bucket %s: %w", b.cfg.Bucket, err)
	}
	b.kv = kv
	return kv, nil
}

// do runs op on the bucket, once more on a recreated bucket when the
// bucket's stream is gone (a NATS server that restarted without its
// store: a write then waits for the context to end). It fails at once
// while NATS is unreachable rather than waiting for the context.
func (b *Bucket) do(ctx context.Context, op func(context.Context, jetstream.KeyValue) error) error {
	if !b.nc.IsConnected() {
		return errors.New("nats not connected")
	}
	kv, err := b.open(ctx, nil)
	if err != nil {
		return err
	}
	err = op(ctx, kv)
	if err == nil || !b.lost(err) {
		return err
	}
	retry, cancel := context.WithTimeout(context.Background(), retryTimeout)
	defer cancel()
	if kv, err = b.open(retry, kv); err != nil {
		return err
	}
	return op(retry, kv)
}

// retryTimeout bounds the second try of an operation on a lost bucket.
const retryTimeout = 3 * time.Second

// lost reports whether err means the bucket's stream is gone.
func (b *Bucket) lost(err error) bool {
	if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrNoStreamResponse) {
		return true
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), retryTimeout)
	defer cancel()
	_, err = b.js.KeyValue(ctx, b.cfg.Bucket)
	return errors.Is(err, jetstream.ErrBucketNotFound)
}

// Create stores value under key unless the key holds a value already
// (ErrKeyExists); it returns the new revision.
func (b *Bucket) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	var rev uint64
	err := b.do(ctx, func(ctx context.Context, kv jetstream.KeyValue) error {
		var err error
		rev, err = kv.Create(ctx, key, value)
		return err
	})
	if errors.Is(err, jetstream.ErrKeyExists) || isWrongLastSeq(err) {
		return 0, ErrKeyExists // a racing Create of a deleted key fails this way
	}
	if err != nil {
		return 0, fmt.Errorf("kv create %s: %w", key, err)
	}
	return rev, nil
}

// Get returns the value under key and its revision; ErrKeyNotFound when
// there is none.
func (b *Bucket) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	var e jetstream.KeyValueEntry
	err := b.do(ctx, func(ctx context.Context, kv jetstream.KeyValue) error {
		var err error
		e, err = kv.Get(ctx, key)
		return err
	})
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, 0, ErrKeyNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("kv get %s: %w", key, err)
	}
	return e.Value(), e.Revision(), nil
}

// Delete removes key if its value is still at revision rev; ErrRevision
// when it changed (or was deleted) since.
func (b *Bucket) Delete(ctx context.Context, key string, rev uint64) error {
	err := b.do(ctx, func(ctx context.Context, kv jetstream.KeyValue) error {
		return kv.Delete(ctx, key, jetstream.LastRevision(rev))
	})
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || isWrongLastSeq(err) {
		return ErrRevision
	}
	if err != nil {
		return fmt.Errorf("kv delete %s: %w", key, err)
	}
	return nil
}

// Keys lists the keys that hold a value.
func (b *Bucket) Keys(ctx context.Context) ([]string, error) {
	var keys []string
	err := b.do(ctx, func(ctx context.Context, kv jetstream.KeyValue) error {
		keys = keys[:0]
		l, err := kv.ListKeys(ctx)
		if err != nil {
			return err
		}
		for k := range l.Keys() {
			keys = append(keys, k)
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("kv keys: %w", err)
	}
	return keys, nil
}

// Destroy deletes the bucket and everything in it.
func (b *Bucket) Destroy(ctx context.Context) error {
	if err := b.js.DeleteKeyValue(ctx, b.cfg.Bucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return fmt.Errorf("kv bucket %s: %w", b.cfg.Bucket, err)
	}
	return nil
}

// isWrongLastSeq reports a compare-and-set that lost: JetStream's "wrong
// last sequence" (10071; 10164 on replicated streams).
func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}
