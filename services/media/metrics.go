package media

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webchatroom/chatroom/internal/apperr"
)

// metrics count uploads by kind and outcome, the bytes stored, downloads
// by what was asked for and the answer, and uploads deleted unsent.
type metrics struct {
	uploads   *prometheus.CounterVec
	stored    *prometheus.CounterVec
	downloads *prometheus.CounterVec
	swept     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	m := &metrics{
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatroom_media_uploads_total", Help: "Uploads by kind and result (ok or the error code).",
		}, []string{"kind", "result"}),
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatroom_media_stored_bytes_total", Help: "Bytes written to object storage, files and thumbnails.",
		}, []string{"kind"}),
		downloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatroom_media_downloads_total", Help: "Downloads by part (file or thumbnail) and HTTP status.",
		}, []string{"part", "status"}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatroom_media_unsent_deleted_total", Help: "Uploads deleted, file and thumbnail, because no message was sent with them in time.",
		}),
	}
	if reg == nil {
		return m
	}
	for _, c := range []prometheus.Collector{m.uploads, m.stored, m.downloads, m.swept} {
		if err := reg.Register(c); err != nil {
			log.Warn("register media metric", "err", err)
		}
	}
	return m
}

// uploaded counts one upload by its outcome.
func (m *metrics) uploaded(kind string, err error) {
	if kind != "image" && kind != "voice" {
		kind = "other"
	}
	result := "ok"
	if err != nil {
		result = apperr.Code(err)
	}
	m.uploads.WithLabelValues(kind, result).Inc()
}
