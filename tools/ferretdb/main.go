// Command ferretdb-test runs an embedded FerretDB (SQLite backend) for tests.
//
// It prints exactly one line, "ready mongodb://127.0.0.1:<port>/", to stdout
// once it accepts connections, logs to stderr at warn level, and exits
// cleanly on SIGINT or SIGTERM. By default clients reach FerretDB through a
// proxy that runs one command at a time (see serialize.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "TCP address to listen on (port 0 picks a free one)")
	dir := flag.String("dir", "", "SQLite data folder (required; created if missing)")
	serialize := flag.Bool("serialize", true, "run one command at a time, so updates of one document are atomic as in MongoDB")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(*listen, *dir, *serialize, logger); err != nil {
		logger.Error("ferretdb-test failed", "error", err)
		os.Exit(1)
	}
}

func run(listen, dir string, serialize bool, logger *slog.Logger) error {
	if dir == "" {
		return fmt.Errorf("--dir is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return err
	}
	// The SQLite backend wants a "file:" URI of an existing folder ending in "/".
	sqliteURL := (&url.URL{Scheme: "file", Path: abs + "/"}).String()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var proxy net.Listener
	ferretListen := listen
	if serialize {
		if proxy, err = net.Listen("tcp", listen); err != nil {
			return err
		}
		ferretListen = "127.0.0.1:0"
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: ferretListen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return err
	}

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// New already bound the listener; MongoDBURI resolves a port of 0 to the real one.
	uri := f.MongoDBURI()
	u, err := url.Parse(uri)
	if err != nil {
		return err
	}
	if serialize {
		s := &serializer{backend: u.Host, logger: logger}
		go s.serve(ctx, proxy)
		u.Host = proxy.Addr().String()
		uri = u.String()
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		return fmt.Errorf("self-check of %s: %w", u.Host, err)
	}
	conn.Close()

	fmt.Println("ready " + uri)

	return <-done
}
