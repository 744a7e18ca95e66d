// Package web serves the built Vue app embedded in the binary.
package web

import (
	"embed"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

//go:embed all:dist
var dist embed.FS

// notBuilt is served when the binary was built without the UI.
const notBuilt = `<!doctype html><meta charset="utf-8"><title>WebChatRoom</title>
<p>The web UI is not part of this build. Run <code>make build</code> (or <code>make run</code>) to build it.</p>`

// Mount serves the UI: files from the build with long caching for hashed
// assets, and index.html for every other path that is not an API path, so
// the app's own routes survive a reload.
func Mount(r fiber.Router) {
	files, _ := fs.Sub(dist, "dist")
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		index = []byte(notBuilt)
	}
	r.Use(func(c *fiber.Ctx) error {
		if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
			return c.Next()
		}
		p := strings.TrimPrefix(path.Clean("/"+c.Path()), "/")
		if strings.HasPrefix(p, "api/") || p == "ws" {
			return c.Next()
		}
		if p != "" && p != "index.html" {
			if b, err := fs.ReadFile(files, p); err == nil {
				if ct := mime.TypeByExtension(path.Ext(p)); ct != "" {
					c.Set(fiber.HeaderContentType, ct)
				}
				if strings.HasPrefix(p, "assets/") {
					c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
				} else {
					c.Set(fiber.HeaderCacheControl, "no-cache")
				}
				return c.Send(b)
			}
			if path.Ext(p) != "" {
				return fiber.ErrNotFound
			}
		}
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		c.Set(fiber.HeaderCacheControl, "no-cache")
		return c.Send(index)
	})
}
