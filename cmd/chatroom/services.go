package main

import (
	"context"
	"fmt"
	"path/filepath"

	"go.mongodb.org/mongo-driver/mongo"

	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/services/auth"
	"github.com/webchatroom/chatroom/services/chat"
	"github.com/webchatroom/chatroom/services/history"
	"github.com/webchatroom/chatroom/services/media"
	"github.com/webchatroom/chatroom/services/presence"
)

// service is one sub-command: what it needs and how it starts.
type service struct {
	needs     []dependency
	bodyLimit int
	start     func(ctx context.Context, rt *runtime, app *platform.App) error
}

// allServices is the start order of `chatroom all`.
var allServices = []string{"auth", "presence", "chat", "media", "history"}

var services = map[string]service{
	"auth":     {needs: []dependency{needNATS, needMongo, needS3}, bodyLimit: 6 << 20, start: startAuth},
	"presence": {needs: []dependency{needNATS}, start: startPresence},
	"chat":     {needs: []dependency{needNATS}, start: startChat},
	"media":    {needs: []dependency{needNATS, needMongo, needS3}, start: startMedia},
	"history":  {needs: []dependency{needNATS, needMongo}, start: startHistory},
	"web":      {start: func(context.Context, *runtime, *platform.App) error { return nil }},
}

// bodyLimit is the largest request body the services of one process
// accept: media's follows its upload limits, plus room for the form.
func bodyLimit(names []string, cfg Config) int {
	limit := 1 << 20
	for _, n := range names {
		limit = max(limit, services[n].bodyLimit)
		if n == "media" {
			limit = max(limit, int(max(cfg.Media.ImageBytes, cfg.Media.VoiceBytes))+1<<20)
		}
	}
	return limit
}

// openStore opens a service's store: on MongoDB when a URI is set, else
// in the SQLite file <data>/<file>, closed when the process ends.
func openStore[S interface{ Close() error }](ctx context.Context, rt *runtime, file string,
	onMongo func(context.Context, *mongo.Database) (S, error), onSQLite func(context.Context, string) (S, error)) (S, error) {
	db, err := rt.mongo(ctx)
	if err != nil {
		var zero S
		return zero, err
	}
	if db != nil {
		return onMongo(ctx, db)
	}
	s, err := onSQLite(ctx, filepath.Join(rt.cfg.Data, file))
	if err == nil {
		rt.onClose(func() { s.Close() })
	}
	return s, err
}

func startAuth(ctx context.Context, rt *runtime, app *platform.App) error {
	conn, err := rt.bus("auth")
	if err != nil {
		return err
	}
	store, err := openStore(ctx, rt, "auth.db",
		func(ctx context.Context, db *mongo.Database) (auth.Store, error) { return auth.OpenMongo(ctx, db) },
		func(ctx context.Context, path string) (auth.Store, error) { return auth.OpenSQLite(ctx, path) })
	if err != nil {
		return err
	}
	blobs, err := rt.blobs(ctx)
	if err != nil {
		return err
	}
	svc := auth.New(auth.Config{Store: store, Blobs: blobs, Bus: conn, Limits: rt.cfg.Auth, Log: rt.log})
	if err := svc.Subscribe(); err != nil {
		return fmt.Errorf("auth subscribe: %w", err)
	}
	svc.Routes(app)
	app.AddCheck("auth_nats", conn.Ping)
	app.AddCheck("auth_store", svc.Ping)
	go svc.Run(ctx)
	return nil
}

func startMedia(ctx context.Context, rt *runtime, app *platform.App) error {
	conn, err := rt.bus("media")
	if err != nil {
		return err
	}
	store, err := openStore(ctx, rt, "media.db",
		func(ctx context.Context, db *mongo.Database) (media.Store, error) { return media.OpenMongo(ctx, db) },
		func(ctx context.Context, path string) (media.Store, error) { return media.OpenSQLite(ctx, path) })
	if err != nil {
		return err
	}
	blobs, err := rt.blobs(ctx)
	if err != nil {
		return err
	}
	svc := media.New(media.Config{Store: store, Blobs: blobs, Bus: conn, Limits: rt.cfg.Media, Log: rt.log, Registry: app.Registry()})
	if err := svc.Subscribe(); err != nil {
		return fmt.Errorf("media subscribe: %w", err)
	}
	svc.Routes(app)
	app.AddCheck("media_nats", conn.Ping)
	app.AddCheck("media_store", svc.Ping)
	go svc.Run(ctx)
	return nil
}

func startChat(ctx context.Context, rt *runtime, app *platform.App) error {
	conn, err := rt.bus("chat")
	if err != nil {
		return err
	}
	l := rt.cfg.Chat
	svc, err := chat.New(chat.Config{Bus: conn, App: app, Log: rt.log, FrameBytes: l.FrameBytes, RateCount: l.RateCount,
		RateWindow: l.RateWindow, QueueFrames: l.QueueFrames, QueueBytes: l.QueueBytes, WriteDelay: l.WriteDelay, Drain: l.Drain})
	if err != nil {
		return err
	}
	if err := svc.Subscribe(); err != nil {
		return fmt.Errorf("chat subscribe: %w", err)
	}
	svc.Routes(app)
	app.AddCheck("chat_nats", svc.Ping)
	ran := make(chan struct{})
	go func() { svc.Run(ctx); close(ran) }()
	rt.onClose(func() { <-ran }) // the drain ends before the bus closes
	return nil
}

func startPresence(ctx context.Context, rt *runtime, app *platform.App) error {
	conn, err := rt.bus("presence")
	if err != nil {
		return err
	}
	cfg := presence.Config{Bus: conn, Log: rt.log, Registry: app.Registry()}
	if rt.embedded == nil {
		// On an external NATS other replicas may run: they share who is
		// online in a JetStream bucket, so each change is announced once.
		if cfg.Shared, err = conn.Bucket(ctx, "presence", "WebChatRoom: who is online (presence replicas)"); err != nil {
			return err
		}
	}
	svc := presence.New(cfg)
	if err := svc.Subscribe(); err != nil {
		return fmt.Errorf("presence subscribe: %w", err)
	}
	svc.Routes(app)
	app.AddCheck("presence_nats", svc.Ready)
	go svc.Run(ctx)
	return nil
}

func startHistory(ctx context.Context, rt *runtime, app *platform.App) error {
	conn, err := rt.bus("history")
	if err != nil {
		return err
	}
	store, err := openStore(ctx, rt, "history.db",
		func(ctx context.Context, db *mongo.Database) (history.Store, error) {
			return history.OpenMongo(ctx, db)
		},
		func(ctx context.Context, path string) (history.Store, error) { return history.OpenSQLite(ctx, path) })
	if err != nil {
		return err
	}
	svc := history.New(history.Config{Store: store, Bus: conn, Log: rt.log})
	if err := svc.Subscribe(); err != nil {
		return fmt.Errorf("history subscribe: %w", err)
	}
	svc.Routes(app)
	app.AddCheck("history_nats", conn.Ping)
	app.AddCheck("history_store", svc.Ping)
	return nil
}
