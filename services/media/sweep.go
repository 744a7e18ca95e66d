package media

import (
	"context"
	"time"
)

// sweepEvery is how often uploads never sent are looked for (more often
// when they are kept less long, but at most once a second).
const sweepEvery = time.Hour

// sweepBatch is how many items one store call deletes.
const sweepBatch = 100

// Run deletes uploads never sent in a message once they are older than
// Limits.UnsentTTL: at once, then every sweepEvery until ctx ends. With no
// UnsentTTL it returns at once.
func (s *Service) Run(ctx context.Context) {
	ttl := s.limits.UnsentTTL
	if ttl <= 0 {
		return
	}
	t := time.NewTicker(min(sweepEvery, max(ttl, time.Second)))
	defer t.Stop()
	for {
		_, _ = s.sweep(ctx) // logged
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweep deletes the unclaimed items created more than UnsentTTL ago, each
// record first and its objects after, so a message never names an item
// whose bytes are gone (objects left by a failure are harmless). It
// returns how many items it deleted; with no UnsentTTL, none.
func (s *Service) sweep(ctx context.Context) (int, error) {
	if s.limits.UnsentTTL <= 0 {
		return 0, nil
	}
	before := s.now().Add(-s.limits.UnsentTTL)
	n := 0
	var err error
	for {
		var items []*Item
		items, err = s.store.DeleteUnsent(ctx, before, sweepBatch)
		for _, it := range items {
			s.deleteBlobs(it)
		}
		n += len(items)
		if err != nil || len(items) < sweepBatch {
			break
		}
	}
	s.metrics.swept.Add(float64(n))
	if err != nil && ctx.Err() == nil {
		s.log.Error("delete unsent media", "err", err)
	}
	if n > 0 {
		s.log.Info("deleted unsent media", "count", n, "older_than", s.limits.UnsentTTL)
	}
	return n, err
}
