package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/mongo"

	"github.com/webchatroom/chatroom/internal/blob"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/mongodb"
)

// dependency is an external system a service needs when it runs alone.
type dependency int

const (
	needNATS dependency = iota
	needMongo
	needS3
)

// runtime holds what the services of one process share: the bus (embedded
// or external), the MongoDB database, the object storage, and what must be
// closed at the end.
type runtime struct {
	cmd string
	cfg Config
	log *slog.Logger

	embedded *bus.Embedded
	db       *mongo.Database
	store    blob.Store
	mu       sync.Mutex
	closers  []func()
}

func newRuntime(cmd string, cfg Config, log *slog.Logger) (*runtime, error) {
	rt := &runtime{cmd: cmd, cfg: cfg, log: log}
	if cmd == "all" && cfg.NATSURL == "" {
		e, err := bus.StartEmbedded()
		if err != nil {
			return nil, err
		}
		rt.embedded = e
		log.Info("nats: in-process server")
	}
	return rt, nil
}

// check fails early, with the flag to set, when a service that runs alone
// lacks an external dependency.
func (rt *runtime) check(names []string) error {
	if rt.cmd == "all" {
		return nil
	}
	var missing []string
	for _, d := range services[rt.cmd].needs {
		switch {
		case d == needNATS && rt.cfg.NATSURL == "":
			missing = append(missing, "NATS (--nats-url or CHATROOM_NATS_URL)")
		case d == needMongo && rt.cfg.MongoURI == "":
			missing = append(missing, "MongoDB (--mongo-uri or CHATROOM_MONGO_URI)")
		case d == needS3 && rt.cfg.S3.Endpoint == "":
			missing = append(missing, "S3 object storage (--s3-endpoint or CHATROOM_S3_ENDPOINT, with --s3-bucket and keys)")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%q runs alone and needs %s; to run everything on one machine without them use `chatroom all`",
			rt.cmd, strings.Join(missing, ", "))
	}
	return nil
}

func (rt *runtime) onClose(f func()) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.closers = append(rt.closers, f)
}

// close runs the closers in reverse order, then stops the embedded NATS.
func (rt *runtime) close() {
	rt.mu.Lock()
	closers := rt.closers
	rt.closers = nil
	rt.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	if rt.embedded != nil {
		rt.embedded.Shutdown()
	}
}

// bus opens a bus connection for one service; every service has its own,
// also in `all`, so none knows whether its peers share its process.
func (rt *runtime) bus(service string) (*bus.Conn, error) {
	conn, err := bus.Connect(bus.Options{URL: rt.cfg.NATSURL, Embedded: rt.embedded, Prefix: rt.cfg.NATSPrefix,
		Name: "chatroom-" + service, Log: rt.log.With("service", service)})
	if err != nil {
		return nil, err
	}
	rt.onClose(conn.Close)
	return conn, nil
}

// mongo opens the MongoDB database once per process; nil when no URI is set
// (then `all` uses SQLite).
func (rt *runtime) mongo(ctx context.Context) (*mongo.Database, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.db != nil || rt.cfg.MongoURI == "" {
		return rt.db, nil
	}
	db, err := mongodb.Open(ctx, rt.cfg.MongoURI, rt.cfg.MongoDB)
	if err != nil {
		return nil, err
	}
	rt.db = db
	rt.closers = append(rt.closers, func() { _ = db.Client().Disconnect(context.Background()) })
	return db, nil
}

// blobs opens the object storage once per process: S3 when an endpoint is
// set, else the folder <data>/blobs.
func (rt *runtime) blobs(ctx context.Context) (blob.Store, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.store != nil {
		return rt.store, nil
	}
	var err error
	if rt.cfg.S3.Endpoint != "" {
		rt.store, err = blob.OpenS3(ctx, rt.cfg.S3)
	} else {
		rt.store, err = blob.OpenDir(filepath.Join(rt.cfg.Data, "blobs"))
	}
	return rt.store, err
}
