import { describe, expect, it } from 'vitest'
import { analyseRecording, formatDuration, formatElapsed, peaksFromChannels, peaksFromLevels, resample, toBytes } from './waveform'

function isByteArray(values: number[]): boolean {
  return values.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)
}

describe('waveform', () => {
  it('scales peaks to whole numbers 0–255 with the loudest at 255', () => {
    expect(toBytes([0, 0.25, 0.5, 1])).toEqual([0, 64, 128, 255])
    expect(toBytes([0, 0, 0])).toEqual([0, 0, 0])
    expect(toBytes([NaN, -1, 2])).toEqual([0, 0, 255])
  })

  it('takes the peak of each of 128 slices of decoded audio, across channels', () => {
    const length = 128 * 100
    const left = new Float32Array(length)
    const right = new Float32Array(length)
    // Slice 0 silent, slice 1 a click of 0.5 on the left, slice 2 a click of -1 on the right (the loudest).
    left[100 + 37] = 0.5
    right[200 + 99] = -1
    for (let b = 3; b < 128; b++) left[b * 100] = 0.25
    const w = peaksFromChannels([left, right])
    expect(w).toHaveLength(128)
    expect(isByteArray(w)).toBe(true)
    expect(w.slice(0, 4)).toEqual([0, 128, 255, 64])
  })

  it('never gives more values than samples, nor more than 128', () => {
    expect(peaksFromChannels([new Float32Array([0.1, -0.2, 0.4])])).toEqual([64, 128, 255])
    expect(peaksFromChannels([new Float32Array(1_000_000).fill(0.3)], 500)).toHaveLength(128)
    expect(peaksFromChannels([])).toEqual([])
  })

  it('reduces levels sampled while recording to at most 128 bytes', () => {
    const levels = Array.from({ length: 600 }, (_, i) => (i % 60) / 60) // 60 s at 10 Hz
    const w = peaksFromLevels(levels)
    expect(w).toHaveLength(128)
    expect(isByteArray(w)).toBe(true)
    expect(Math.max(...w)).toBe(255)
    expect(peaksFromLevels([0.1, 0.2])).toEqual([128, 255])
  })

  it('resamples to any number of bars by the peak of each slice, or stretches few values', () => {
    expect(resample([1, 5, 2, 8, 3, 0], 3)).toEqual([5, 8, 3])
    expect(resample([10, 20], 4)).toEqual([10, 10, 20, 20])
    expect(resample([], 4)).toEqual([])
  })

  it('measures a recording by decoding it', async () => {
    const decoded = {
      duration: 3.04,
      numberOfChannels: 1,
      getChannelData: () => Float32Array.from({ length: 48_000 }, (_, i) => Math.sin(i / 10) * (i / 48_000)),
    }
    const got = await analyseRecording(new Blob(['x']), async () => decoded)
    expect(got?.durationMs).toBe(3040)
    expect(got?.waveform).toHaveLength(128)
    expect(got!.waveform[127]).toBe(255) // getting louder towards the end
    expect(got!.waveform[0]).toBeLessThan(10)
  })

  it('gives up (null) when the browser cannot decode', async () => {
    expect(await analyseRecording(new Blob(['x']), async () => Promise.reject(new Error('EncodingError')))).toBeNull()
    expect(await analyseRecording(new Blob(['x']), null)).toBeNull()
  })

  it('formats lengths as m:ss', () => {
    expect(formatDuration(3040)).toBe('0:03')
    expect(formatDuration(59_750)).toBe('1:00')
    expect(formatElapsed(59_750)).toBe('0:59')
    expect(formatElapsed(61_000)).toBe('1:01')
  })
})
