package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/services/auth"
	"github.com/webchatroom/chatroom/services/chat"
	"github.com/webchatroom/chatroom/services/history"
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
	"media":    {needs: []dependency{needNATS, needMongo, needS3}, bodyLimit: 12 << 20, start: startOnBus("media", needMongo, needS3)},
	"history":  {needs: []dependency{needNATS, needMongo}, start: startHistory},
	"web":      {start: func(context.Context, *runtime, *platform.App) error { return nil }},
}

func bodyLimit(names []string) int {
	limit := 1 << 20
	for _, n := range names {
		limit = max(limit, services[n].bodyLimit)
	}
	return limit
}

func startAuth(ctx context.Context, rt *runtime, app *platform.App) error {
	conn, err := rt.bus("auth")
	if err != nil {
		return err
	}
	var store auth.Store
	if db, err := rt.mongo(ctx); err != nil {
		return err
	} else if db != nil {
		if store, err = auth.OpenMongo(ctx, db); err != nil {
			return err
		}
	} else {
		s, err := auth.OpenSQLite(ctx, filepath.Join(rt.cfg.Data, "auth.db"))
		if err != nil {
			return err
		}
		rt.onClose(func() { s.Close() })
		store = s
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

func startChat(ctx context.Context, rt *runtime, app *platform.App) error {
	conn, err := rt.bus("chat")
	if err != nil {
		return err
	}
	l := rt.cfg.Chat
	svc, err := chat.New(chat.Config{Bus: conn, App: app, Log: rt.log, FrameBytes: l.FrameBytes, RateCount: l.RateCount,
		RateWindow: l.RateWindow, QueueFrames: l.QueueFrames, QueueBytes: l.QueueBytes, WriteDelay: l.WriteDelay})
	if err != nil {
		return err
	}
	if err := svc.Subscribe(); err != nil {
		return fmt.Errorf("chat subscribe: %w", err)
	}
	svc.Routes(app)
	app.AddCheck("chat_nats", svc.Ping)
	go svc.Run(ctx)
	return nil
}

func startPresence(ctx context.Context, rt *runtime, app *platform.App) error {
	conn, err := rt.bus("presence")
	if err != nil {
		return err
	}
	svc := presence.New(presence.Config{Bus: conn, Log: rt.log, Registry: app.Registry()})
	if err := svc.Subscribe(); err != nil {
		return fmt.Errorf("presence subscribe: %w", err)
	}
	svc.Routes(app)
	app.AddCheck("presence_nats", svc.Ping)
	go svc.Run(ctx)
	return nil
}

func startHistory(ctx context.Context, rt *runtime, app *platform.App) error {
	conn, err := rt.bus("history")
	if err != nil {
		return err
	}
	var store history.Store
	if db, err := rt.mongo(ctx); err != nil {
		return err
	} else if db != nil {
		if store, err = history.OpenMongo(ctx, db); err != nil {
			return err
		}
	} else {
		s, err := history.OpenSQLite(ctx, filepath.Join(rt.cfg.Data, "history.db"))
		if err != nil {
			return err
		}
		rt.onClose(func() { s.Close() })
		store = s
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

// startOnBus starts a service whose features land in later issues: it joins
// the bus and reports ready once its dependencies answer.
func startOnBus(name string, needs ...dependency) func(ctx context.Context, rt *runtime, app *platform.App) error {
	return func(ctx context.Context, rt *runtime, app *platform.App) error {
		conn, err := rt.bus(name)
		if err != nil {
			return err
		}
		app.AddCheck(name+"_nats", conn.Ping)
		for _, d := range needs {
			switch d {
			case needMongo:
				db, err := rt.mongo(ctx)
				if err != nil {
					return err
				}
				if db != nil {
					app.AddCheck(name+"_mongo", func(ctx context.Context) error { return db.Client().Ping(ctx, nil) })
				}
			case needS3:
				blobs, err := rt.blobs(ctx)
				if err != nil {
					return err
				}
				app.AddCheck(name+"_storage", blobs.Ping)
			}
		}
		return nil
	}
}
