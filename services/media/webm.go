package media

import (
	"encoding/binary"
	"math"
	"math/bits"
	"time"
)

// EBML element IDs (Matroska/WebM) the duration check reads.
const (
	idEBML          = 0x1A45DFA3
	idDocType       = 0x4282
	idSegment       = 0x18538067
	idInfo          = 0x1549A966
	idTimecodeScale = 0x2AD7B1
	idDuration      = 0x4489
	idTracks        = 0x1654AE6B
	idTrackEntry    = 0xAE
	idCodecID       = 0x86
	idCluster       = 0x1F43B675
)

// element is one EBML element: its ID and its body b[start:end].
type element struct {
	id         uint64
	start, end int
}

// vint reads an EBML variable-length integer at i: its value (with the
// length marker kept for IDs, dropped for sizes), its width, and whether
// every value bit is 1 (the size "unknown").
func vint(b []byte, i int, keepMarker bool) (v uint64, width int, allOnes bool, ok bool) {
	if i >= len(b) || b[i] == 0 {
		return 0, 0, false, false
	}
	width = bits.LeadingZeros8(b[i]) + 1
	if i+width > len(b) {
		return 0, 0, false, false
	}
	v = uint64(b[i])
	if !keepMarker {
		v &^= 1 << (8 - width)
	}
	for _, c := range b[i+1 : i+width] {
		v = v<<8 | uint64(c)
	}
	return v, width, v == 1<<(7*width)-1, true
}

// elements calls fn for each element of b[i:end]; an element of unknown
// size ends at end. fn returns false to stop.
func elements(b []byte, i, end int, fn func(e element) (bool, error)) error {
	for i < end {
		id, w, _, ok := vint(b, i, true)
		if !ok || w > 4 {
			return invalid("ebml id at %d", i)
		}
		size, sw, unknown, ok := vint(b, i+w, false)
		if !ok {
			return invalid("ebml size at %d", i)
		}
		e := element{id: id, start: i + w + sw, end: end}
		if !unknown {
			if size > uint64(end-e.start) {
				return invalid("ebml element 0x%X larger than its parent", id)
			}
			e.end = e.start + int(size)
		}
		more, err := fn(e)
		if err != nil || !more {
			return err
		}
		i = e.end
	}
	return nil
}

// webmDuration checks a WebM file whose tracks are all Opus and returns
// the Segment Info Duration (0 when there is none, as in recordings from
// Chrome's MediaRecorder). Info and Tracks precede the first Cluster.
func webmDuration(b []byte) (time.Duration, error) {
	var docType string
	var body element
	err := elements(b, 0, len(b), func(e element) (bool, error) {
		switch e.id {
		case idEBML:
			return true, elements(b, e.start, e.end, func(c element) (bool, error) {
				if c.id == idDocType {
					docType = string(b[c.start:c.end])
				}
				return true, nil
			})
		case idSegment:
			body = e
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return 0, err
	}
	if docType != "webm" {
		return 0, errVoiceUnsupported
	}
	if body.id != idSegment {
		return 0, invalid("webm without a segment")
	}
	scale, duration := uint64(1_000_000), 0.0
	var codecs []string
	err = elements(b, body.start, body.end, func(e element) (bool, error) {
		switch e.id {
		case idInfo:
			return true, elements(b, e.start, e.end, func(c element) (bool, error) {
				switch c.id {
				case idTimecodeScale:
					scale = beUint(b[c.start:c.end])
				case idDuration:
					duration = beFloat(b[c.start:c.end])
				}
				return true, nil
			})
		case idTracks:
			return true, elements(b, e.start, e.end, func(t element) (bool, error) {
				if t.id != idTrackEntry {
					return true, nil
				}
				return true, elements(b, t.start, t.end, func(c element) (bool, error) {
					if c.id == idCodecID {
						codecs = append(codecs, string(b[c.start:c.end]))
					}
					return true, nil
				})
			})
		case idCluster:
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return 0, err
	}
	if len(codecs) == 0 {
		return 0, invalid("webm without tracks")
	}
	for _, c := range codecs {
		if c != "A_OPUS" {
			return 0, errVoiceUnsupported
		}
	}
	ns := duration * float64(scale)
	if math.IsNaN(ns) || ns <= 0 {
		return 0, nil
	}
	return time.Duration(min(ns, float64(24*time.Hour))), nil
}

func beUint(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

func beFloat(b []byte) float64 {
	switch len(b) {
	case 4:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b)))
	case 8:
		return math.Float64frombits(binary.BigEndian.Uint64(b))
	}
	return 0
}
