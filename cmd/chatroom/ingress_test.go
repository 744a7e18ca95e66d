package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/webchatroom/chatroom/internal/testenv"
)

// route is one path of the site's Ingress (k8s/base/ingress.yaml): a
// request whose path it matches goes to service, with the nginx
// directives its Ingress's annotations ask for.
type route struct {
	path       string
	exact      bool // pathType Exact; else Prefix
	service    string
	directives []string
}

// annotationDirectives translates the ingress-nginx annotations the Ingress
// uses into nginx directives; an annotation not listed fails the test, so
// the local ingress never silently differs from the cluster's.
var annotationDirectives = map[string]func(v string) string{
	"proxy-body-size":           func(v string) string { return "client_max_body_size " + v },
	"proxy-request-buffering":   func(v string) string { return "proxy_request_buffering " + v },
	"proxy-http-version":        func(v string) string { return "proxy_http_version " + v },
	"proxy-read-timeout":        func(v string) string { return "proxy_read_timeout " + v + "s" },
	"proxy-send-timeout":        func(v string) string { return "proxy_send_timeout " + v + "s" },
	"proxy-buffering":           func(v string) string { return "proxy_buffering " + v },
	"proxy-connect-timeout":     func(v string) string { return "proxy_connect_timeout " + v + "s" },
	"proxy-next-upstream-tries": func(v string) string { return "proxy_next_upstream_tries " + v },
}

// ingressRoutes reads the routes of every Ingress in k8s/base/ingress.yaml.
func ingressRoutes(t testing.TB) []route {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "k8s", "base", "ingress.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var routes []route
	for _, doc := range strings.Split(string(data), "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var ing networkingv1.Ingress
		if err := yaml.UnmarshalStrict([]byte(doc), &ing); err != nil {
			t.Fatalf("ingress.yaml: %v", err)
		}
		if ing.Kind != "Ingress" {
			t.Fatalf("ingress.yaml holds a %s", ing.Kind)
		}
		var directives []string
		for k, v := range ing.Annotations {
			name, ok := strings.CutPrefix(k, "nginx.ingress.kubernetes.io/")
			if !ok {
				continue
			}
			d := annotationDirectives[name]
			if d == nil {
				t.Fatalf("Ingress %s: annotation %s has no nginx directive here (add it to annotationDirectives)", ing.Name, k)
			}
			directives = append(directives, d(v))
		}
		sort.Strings(directives)
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				if p.Backend.Service == nil || p.PathType == nil || *p.PathType == networkingv1.PathTypeImplementationSpecific {
					t.Fatalf("Ingress %s path %s: want a Service backend and pathType Exact or Prefix", ing.Name, p.Path)
				}
				routes = append(routes, route{path: p.Path, exact: *p.PathType == networkingv1.PathTypeExact,
					service: p.Backend.Service.Name, directives: directives})
			}
		}
	}
	return routes
}

// matchRoute is the route the Ingress picks for a request path: an Exact
// match first, then the longest Prefix match by path elements (so
// /api/auth matches /api/auth and /api/auth/login, not /api/authx).
func matchRoute(routes []route, path string) (route, bool) {
	var best route
	found := false
	for _, r := range routes {
		switch {
		case r.exact && path == r.path:
			return r, true
		case r.exact:
		case r.path == "/" || path == r.path || strings.HasPrefix(path, strings.TrimSuffix(r.path, "/")+"/"):
			if !found || len(r.path) > len(best.path) {
				best, found = r, true
			}
		}
	}
	return best, found
}

// nginxConfig is an nginx configuration serving the routes on listen, each
// service an upstream of its replicas' addresses, with what ingress-nginx
// does on every location (HTTP/1.1 and the Upgrade headers upstream, the
// client's Host and X-Forwarded-For). Files go under dir.
func nginxConfig(dir, listen string, routes []route, upstreams map[string][]string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("daemon off;")
	p("worker_processes 1;")
	if os.Geteuid() == 0 { // workers would run as nobody and could not use the temp dir
		if u, err := user.Current(); err == nil {
			p("user %s;", u.Username)
		}
	}
	p("pid %s;", filepath.Join(dir, "nginx.pid"))
	p("error_log stderr warn;") // into the test's log when it fails
	p("worker_rlimit_nofile 20000;")
	p("events { worker_connections 8192; }")
	p("http {")
	p("  access_log off;")
	for _, t := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		p("  %s_temp_path %s;", t, filepath.Join(dir, t))
	}
	p("  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }")
	names := make([]string, 0, len(upstreams))
	for name := range upstreams {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p("  upstream %s {", name)
		for _, addr := range upstreams[name] {
			// a replica that refused a connection is skipped for 2 s
			p("    server %s max_fails=1 fail_timeout=2s;", addr)
		}
		p("    keepalive 16;")
		p("  }")
	}
	p("  server {")
	p("    listen %s;", listen)
	for _, r := range routes {
		locations := []string{"= " + r.path}
		if !r.exact {
			locations = []string{"= " + r.path, strings.TrimSuffix(r.path, "/") + "/"}
			if r.path == "/" {
				locations = []string{"/"}
			}
		}
		for _, loc := range locations {
			p("    location %s {", loc)
			p("      proxy_pass http://%s;", r.service)
			p("      proxy_http_version 1.1;")
			p("      proxy_set_header Upgrade $http_upgrade;")
			p("      proxy_set_header Connection $connection_upgrade;")
			p("      proxy_set_header Host $http_host;")
			p("      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;")
			p("      proxy_set_header X-Forwarded-Proto $scheme;")
			for _, d := range r.directives {
				if !strings.HasPrefix(d, "proxy_http_version ") {
					p("      %s;", d)
				}
			}
			p("    }")
		}
	}
	p("  }")
	p("}")
	return b.String()
}

// TestIngressRoutes checks the routing the local cluster takes from the
// Ingress: each path reaches the service whose routes it is, every backend
// is a sub-command of the binary, and the WebSocket gets its long timeouts.
func TestIngressRoutes(t *testing.T) {
	routes := ingressRoutes(t)
	for path, want := range map[string]string{
		"/": "web", "/index.html": "web", "/assets/app.js": "web",
		"/ws": "chat", "/ws/other": "web",
		"/api/auth/login": "auth", "/api/auth": "auth", "/api/authx": "web", "/api/users/u1/avatar": "auth",
		"/api/presence": "presence", "/api/media/m1/thumbnail": "media",
		"/api/conversations/lobby/messages": "history", "/api/search": "history",
	} {
		r, ok := matchRoute(routes, path)
		if !ok || r.service != want {
			t.Errorf("%s goes to %q, want %q", path, r.service, want)
		}
	}
	for _, r := range routes {
		if _, ok := services[r.service]; !ok {
			t.Errorf("route %s: %q is not a sub-command of chatroom", r.path, r.service)
		}
	}
	ws, _ := matchRoute(routes, "/ws")
	for _, want := range []string{"proxy_read_timeout 3600s", "proxy_send_timeout 3600s", "proxy_buffering off"} {
		if !slices.Contains(ws.directives, want) {
			t.Errorf("/ws lacks %q: %v", want, ws.directives)
		}
	}
	conf := nginxConfig(t.TempDir(), "127.0.0.1:1", routes, map[string][]string{"chat": {"127.0.0.1:2", "127.0.0.1:3"}})
	for _, want := range []string{"location = /ws {", "location /api/auth/ {", "location = /api/auth {", "server 127.0.0.1:3 max_fails=1"} {
		if !strings.Contains(conf, want) {
			t.Errorf("nginx config lacks %q", want)
		}
	}
}
