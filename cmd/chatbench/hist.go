package main

import (
	"math"
	"math/bits"
)

// Latencies are counted in log-linear microsecond buckets (like HDR
// histograms): exact below 128 µs, then 64 buckets per power of two, so a
// bucket is at most 1/64 (1.6 %) wide. Counts add exactly across
// connections and processes.
const (
	histSubBits = 6
	histMaxBits = 38 // values are capped below 2^38 µs (76 hours)
	histBuckets = (histMaxBits - histSubBits - 1 + 2) << histSubBits
)

func histIndex(us uint64) int {
	if us >= 1<<histMaxBits {
		us = 1<<histMaxBits - 1
	}
	shift := max(bits.Len64(us)-(histSubBits+1), 0)
	return (shift+1)<<histSubBits + int(us>>shift) - 1<<histSubBits
}

// histUpper is the largest value that lands in bucket i.
func histUpper(i int) uint64 {
	if i < 2<<histSubBits {
		return uint64(i)
	}
	shift := i>>histSubBits - 1
	m := uint64(i&(1<<histSubBits-1)) + 1<<histSubBits
	return (m+1)<<shift - 1
}

// hist is one goroutine's histogram (no locks: each connection has its own).
type hist struct {
	counts [histBuckets]uint32
	n      uint64
	max    uint64
}

func (h *hist) add(us uint64) {
	h.counts[histIndex(us)]++
	h.n++
	h.max = max(h.max, us)
}

// histData is a merged histogram as it travels between processes: sparse
// [bucket, count] pairs.
type histData struct {
	Buckets [][2]uint64 `json:"buckets,omitempty"`
	N       uint64      `json:"n"`
	Max     uint64      `json:"max_us"`
}

// merged adds histograms into dense form.
type merged struct {
	counts [histBuckets]uint64
	n, max uint64
}

func (m *merged) addHist(h *hist) {
	if h == nil {
		return
	}
	for i, c := range h.counts {
		m.counts[i] += uint64(c)
	}
	m.n += h.n
	m.max = max(m.max, h.max)
}

func (m *merged) addData(d histData) {
	for _, b := range d.Buckets {
		if b[0] < histBuckets {
			m.counts[b[0]] += b[1]
		}
	}
	m.n += d.N
	m.max = max(m.max, d.Max)
}

func (m *merged) data() histData {
	d := histData{N: m.n, Max: m.max}
	for i, c := range m.counts {
		if c > 0 {
			d.Buckets = append(d.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return d
}

// quantile returns the value (µs) below or at which a fraction q of the
// samples lie: the upper edge of its bucket, never above the maximum.
func (m *merged) quantile(q float64) uint64 {
	if m.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(m.n)))
	rank = min(max(rank, 1), m.n)
	var seen uint64
	for i, c := range m.counts {
		seen += c
		if seen >= rank {
			return min(histUpper(i), m.max)
		}
	}
	return m.max
}

// Latency is a summary of a histogram, in milliseconds.
type Latency struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

func (m *merged) summary() Latency {
	ms := func(us uint64) float64 { return math.Round(float64(us)) / 1000 }
	return Latency{Count: m.n, P50: ms(m.quantile(0.50)), P90: ms(m.quantile(0.90)), P99: ms(m.quantile(0.99)),
		P999: ms(m.quantile(0.999)), Max: ms(m.max)}
}
