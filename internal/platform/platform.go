// Package platform is the HTTP ground every service stands on: a Fiber app
// with contract JSON errors, security headers, a same-origin check on unsafe
// methods, request logs, health, readiness and Prometheus metrics.
package platform

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config shapes one HTTP app.
type Config struct {
	Name           string   // service name for logs and metrics, e.g. "auth" or "all"
	PublicOrigins  []string // extra origins allowed besides the request's own, e.g. https://chat.example.com
	TrustedProxies []string // IPs/CIDRs whose X-Forwarded-For is believed
	BodyLimit      int      // largest request body in bytes
	Log            *slog.Logger
}

// Check is one readiness probe: a dependency that must answer.
type Check struct {
	Name string
	Fn   func(context.Context) error
}

// App is a Fiber app with the platform's middleware and endpoints.
type App struct {
	*fiber.App
	cfg      Config
	log      *slog.Logger
	registry *prometheus.Registry

	mu     sync.Mutex
	checks []Check
}

// New builds the app: middleware first, then /healthz, /readyz and /metrics.
// Services add their routes after.
func New(cfg Config) *App {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.BodyLimit == 0 {
		cfg.BodyLimit = 4 << 20
	}
	a := &App{cfg: cfg, log: cfg.Log, registry: prometheus.NewRegistry()}
	fc := fiber.Config{
		AppName:               "chatroom-" + cfg.Name,
		BodyLimit:             cfg.BodyLimit,
		DisableStartupMessage: true,
		ErrorHandler:          a.errorHandler,
		ReadTimeout:           60 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
	}
	if len(cfg.TrustedProxies) > 0 {
		fc.EnableTrustedProxyCheck = true
		fc.TrustedProxies = cfg.TrustedProxies
		fc.ProxyHeader = fiber.HeaderXForwardedFor
	}
	a.App = fiber.New(fc)
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.Use(a.observe(newHTTPMetrics(a.registry, cfg.Name)))
	a.Use(recover.New(recover.Config{EnableStackTrace: true}))
	a.Use(securityHeaders)
	a.Use(a.sameOrigin)
	a.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	a.Get("/readyz", a.ready)
	// a collector that fails (the process collector reads /proc while
	// sockets open and close) must not hide every other metric
	a.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError, ErrorLog: slogPrinter{cfg.Log},
	})))
	return a
}

// Registry is where services register their own metrics.
func (a *App) Registry() *prometheus.Registry { return a.registry }

// Log is the app's logger.
func (a *App) Log() *slog.Logger { return a.log }

// AddCheck adds a readiness probe.
func (a *App) AddCheck(name string, fn func(context.Context) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.checks = append(a.checks, Check{Name: name, Fn: fn})
}

// Finish adds the catch-all 404 for unknown /api paths; call it after every
// route is mounted.
func (a *App) Finish() {
	a.Use("/api", func(c *fiber.Ctx) error {
		return fiber.ErrNotFound
	})
}

// ServeListener serves on ln until Shutdown.
func (a *App) ServeListener(ln net.Listener) error { return a.Listener(ln) }

// ready runs every check with a short deadline; any failure is 503.
func (a *App) ready(c *fiber.Ctx) error {
	a.mu.Lock()
	checks := append([]Check(nil), a.checks...)
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	status := fiber.Map{}
	ok := true
	for _, ch := range checks {
		if err := ch.Fn(ctx); err != nil {
			ok = false
			status[ch.Name] = err.Error()
			a.log.Warn("not ready", "check", ch.Name, "err", err)
		} else {
			status[ch.Name] = "ok"
		}
	}
	if !ok {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "checks": status})
	}
	return c.JSON(fiber.Map{"status": "ok", "checks": status})
}

// observe logs each request and records its metrics.
func (a *App) observe(m *httpMetrics) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			if herr := a.errorHandler(c, err); herr != nil {
				a.log.Error("write error response", "err", herr)
			}
		}
		status := c.Response().StatusCode()
		route := c.Route().Path
		if status == fiber.StatusNotFound && route == "/" {
			route = "unmatched"
		}
		d := time.Since(start)
		m.observe(strings.Clone(c.Method()), route, status, d) // c.Method aliases a reused buffer; the metric keeps the label
		level := slog.LevelInfo
		if strings.HasPrefix(c.Path(), "/healthz") || strings.HasPrefix(c.Path(), "/readyz") || c.Path() == "/metrics" || strings.HasPrefix(c.Path(), "/assets/") {
			level = slog.LevelDebug
		}
		a.log.Log(c.UserContext(), level, "http", "method", c.Method(), "path", c.Path(), "status", status, "ms", float64(d.Microseconds())/1000, "ip", c.IP())
		return nil
	}
}

// slogPrinter hands promhttp's error lines to the app's logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("metrics", "err", fmt.Sprint(v...)) }
