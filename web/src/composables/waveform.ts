// Waveforms of voice messages: computed in the browser when recording (at most 128 values
// 0–255, sent with the upload), and resampled to as many bars as a bubble shows.

import { WAVEFORM_MAX } from '@/api/mediaRules'

/** Scales peaks (any non-negative scale) to integers 0–255, the loudest at 255. */
export function toBytes(peaks: readonly number[]): number[] {
  let max = 0
  for (const p of peaks) if (Number.isFinite(p) && p > max) max = p
  if (max <= 0) return peaks.map(() => 0)
  return peaks.map((p) => (Number.isFinite(p) && p > 0 ? Math.min(255, Math.round((p / max) * 255)) : 0))
}

/**
 * The peak of each of `buckets` equal slices of decoded audio (every channel), as bytes.
 * Shorter audio than `buckets` samples gives one value per sample.
 */
export function peaksFromChannels(channels: readonly Float32Array[], buckets = WAVEFORM_MAX): number[] {
  const length = channels.reduce((n, c) => Math.max(n, c.length), 0)
  if (length === 0) return []
  const n = Math.max(1, Math.min(buckets, WAVEFORM_MAX, length))
  const peaks = new Array<number>(n).fill(0)
  for (let b = 0; b < n; b++) {
    const from = Math.floor((b * length) / n)
    const to = Math.max(from + 1, Math.floor(((b + 1) * length) / n))
    let peak = 0
    for (const data of channels) {
      for (let i = from; i < to && i < data.length; i++) {
        const v = Math.abs(data[i]!)
        if (v > peak) peak = v
      }
    }
    peaks[b] = peak
  }
  return toBytes(peaks)
}

/** Levels sampled while recording (0–1), reduced to at most `buckets` values by their peak, as bytes. */
export function peaksFromLevels(levels: readonly number[], buckets = WAVEFORM_MAX): number[] {
  return toBytes(resample(levels, Math.min(buckets, WAVEFORM_MAX, levels.length)))
}

/**
 * `count` bars from any number of values: each bar the highest value of its slice (or, with
 * fewer values than bars, each value stretched over several bars).
 */
export function resample(values: readonly number[], count: number): number[] {
  if (values.length === 0 || count <= 0) return []
  if (values.length <= count) {
    if (values.length === count) return [...values]
    return Array.from({ length: count }, (_, i) => values[Math.min(values.length - 1, Math.floor((i * values.length) / count))]!)
  }
  const out = new Array<number>(count)
  for (let b = 0; b < count; b++) {
    const from = Math.floor((b * values.length) / count)
    const to = Math.max(from + 1, Math.floor(((b + 1) * values.length) / count))
    let peak = 0
    for (let i = from; i < to; i++) if (values[i]! > peak) peak = values[i]!
    out[b] = peak
  }
  return out
}

/** The parts of a decoded AudioBuffer the waveform needs. */
export type DecodedAudio = Pick<AudioBuffer, 'duration' | 'numberOfChannels' | 'getChannelData'>

/** Decodes audio and returns its length and waveform, or null when the browser cannot decode it. */
export async function analyseRecording(
  blob: Blob,
  decode: ((data: ArrayBuffer) => Promise<DecodedAudio>) | null,
): Promise<{ durationMs: number; waveform: number[] } | null> {
  if (!decode) return null
  try {
    const buffer = await decode(await blob.arrayBuffer())
    const channels: Float32Array[] = []
    for (let c = 0; c < buffer.numberOfChannels; c++) channels.push(buffer.getChannelData(c))
    const durationMs = Math.round(buffer.duration * 1000)
    if (!Number.isFinite(durationMs) || durationMs <= 0) return null
    return { durationMs, waveform: peaksFromChannels(channels) }
  } catch {
    return null
  }
}

/** m:ss for a duration (rounded to the nearest second). */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000))
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`
}

/** m:ss for a running clock (whole seconds passed). */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000))
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`
}
