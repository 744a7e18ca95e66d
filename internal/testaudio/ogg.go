package testaudio

import (
	"bytes"
	"encoding/binary"
)

// Ogg is an Ogg Opus file (RFC 7845) like Firefox's MediaRecorder writes:
// an OpusHead page, an OpusTags page, then pages of 20 ms packets, one
// second each, whose granule positions count 48 kHz samples after the
// pre-skip. With o.NoDuration every audio page has granule -1 (no packet
// ends on it), so the file records no length. o.Codec replaces the
// "OpusHead" magic (e.g. "\x01vorbis").
func Ogg(o Options) []byte {
	const preSkip, perPacket, perPage = 312, 960, 50
	var out bytes.Buffer
	serial := uint32(0x7e57a0d1)
	seq := uint32(0)
	page := func(headerType byte, granule int64, packets ...[]byte) {
		var lacing, body []byte
		for _, p := range packets {
			n := len(p)
			for ; n >= 255; n -= 255 {
				lacing = append(lacing, 255)
			}
			lacing = append(lacing, byte(n))
			body = append(body, p...)
		}
		h := []byte("OggS\x00")
		h = append(h, headerType)
		h = binary.LittleEndian.AppendUint64(h, uint64(granule))
		h = binary.LittleEndian.AppendUint32(h, serial)
		h = binary.LittleEndian.AppendUint32(h, seq)
		h = append(h, 0, 0, 0, 0) // CRC, filled below
		h = append(h, byte(len(lacing)))
		h = append(h, lacing...)
		pg := append(h, body...)
		binary.LittleEndian.PutUint32(pg[22:], oggCRC(pg))
		out.Write(pg)
		seq++
	}
	head := opusHead(preSkip)
	if o.Codec != "" {
		head = append([]byte(o.Codec), head[8:]...)
	}
	page(0x02, 0, head)
	tags := []byte("OpusTags")
	tags = binary.LittleEndian.AppendUint32(tags, 9)
	tags = append(tags, "testaudio"...)
	tags = binary.LittleEndian.AppendUint32(tags, 0)
	page(0, 0, tags)
	packets := int(o.Duration.Milliseconds() / 20)
	for done := 0; done < packets; {
		n := min(perPage, packets-done)
		ps := make([][]byte, n)
		for i := range ps {
			ps[i] = opusSilence
		}
		done += n
		granule := int64(preSkip + done*perPacket)
		if o.NoDuration {
			granule = -1
		}
		headerType := byte(0)
		if done == packets {
			headerType = 0x04 // end of stream
		}
		page(headerType, granule, ps...)
	}
	return out.Bytes()
}

// oggCRC is Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial 0.
func oggCRC(b []byte) uint32 {
	var crc uint32
	for _, c := range b {
		crc ^= uint32(c) << 24
		for i := 0; i < 8; i++ {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04C11DB7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
