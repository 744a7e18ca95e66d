package media

import "context"

// Sweep deletes the uploads never sent and older than UnsentTTL now, as
// Run does every hour, so tests with a settable clock decide what is old;
// it returns how many it deleted.
func (s *Service) Sweep(ctx context.Context) (int, error) { return s.sweep(ctx) }
