// Command chatroom runs WebChatRoom: every service in one process (`all`,
// the default for one machine) or one service per process (Kubernetes).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/web"
)

const usage = `chatroom — a self-hosted web chat room

Usage:
  chatroom all        every service in one process: in-process NATS, SQLite and
                      a folder under --data (what "make run" starts)
  chatroom auth|presence|chat|media|history
                      one service per process, on external NATS, MongoDB and S3
  chatroom web        serves the web UI only (behind the cluster's ingress)

Run "chatroom <command> -h" for the flags; each flag can also be set with the
CHATROOM_* environment variable named in its help.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd := args[0]
	if _, ok := services[cmd]; !ok && cmd != "all" {
		fmt.Fprintf(stderr, "chatroom: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	cfg, err := parseConfig(cmd, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "chatroom %s: %v\n", cmd, err)
		return 2
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "chatroom %s: %v\n", cmd, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cmd, cfg, log); err != nil {
		log.Error("stopped", "err", err)
		fmt.Fprintf(stderr, "chatroom %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

func newLogger(cfg Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", cfg.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch cfg.LogFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", cfg.LogFormat)
}

// serve starts the services of cmd on one HTTP listener and runs until ctx
// ends, then shuts down gracefully.
func serve(ctx context.Context, cmd string, cfg Config, log *slog.Logger) error {
	names := []string{cmd}
	if cmd == "all" {
		names = allServices
	}
	rt, err := newRuntime(cmd, cfg, log)
	if err != nil {
		return err
	}
	defer rt.close()
	if err := rt.check(names); err != nil {
		return err
	}
	app := platform.New(platform.Config{
		Name: cmd, PublicOrigins: cfg.PublicOrigins, TrustedProxies: cfg.TrustedProxies,
		BodyLimit: bodyLimit(names, cfg), Log: log.With("service", cmd),
	})
	for _, name := range names {
		if err := services[name].start(ctx, rt, app); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
	}
	app.Finish()
	if cmd == "all" || cmd == "web" {
		web.Mount(app)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	if cfg.DebugAddr != "" {
		if err := serveDebug(cfg.DebugAddr, log); err != nil {
			return err
		}
	}
	log.Info("listening", "service", cmd, "addr", ln.Addr().String(), "services", strings.Join(names, ","))
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "service", cmd)
	if err := app.ShutdownWithTimeout(10 * time.Second); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	return nil
}
