package bus

import "github.com/nats-io/nats.go"

// RawNATS exposes the underlying connection so tests can send bytes that
// Request would never produce (malformed JSON).
func RawNATS(c *Conn) *nats.Conn { return c.nc }
