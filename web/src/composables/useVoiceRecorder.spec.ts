import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope } from 'vue'
import { FakeRecorder, fakeRecorderEnv as setup } from '@/test/fakeRecorder'
import { microphoneError, useVoiceRecorder, type RecorderEnv, type VoiceRecorder } from './useVoiceRecorder'

let scope: ReturnType<typeof effectScope>
function recorder(env: RecorderEnv): VoiceRecorder {
  scope = effectScope()
  return scope.run(() => useVoiceRecorder(env))!
}

async function text(blob: Blob): Promise<string> {
  return new Response(blob).text()
}

beforeEach(() => {
  vi.useFakeTimers()
  FakeRecorder.all = []
})
afterEach(() => {
  scope?.stop()
  vi.useRealTimers()
})

describe('voice recorder', () => {
  it('records in the preferred format with a running clock and a live level', async () => {
    const s = setup({ isTypeSupported: (m) => m.startsWith('audio/ogg') || m === 'audio/mp4' })
    const rec = recorder(s.env)
    await rec.start()
    expect(rec.state.value).toBe('recording')
    expect(FakeRecorder.last.requested).toBe('audio/ogg;codecs=opus')
    expect(FakeRecorder.last.timeslice).toBeGreaterThan(0)
    await vi.advanceTimersByTimeAsync(1500)
    expect(rec.elapsedMs.value).toBe(1500)
    expect(rec.level.value).toBe(0.5)
    expect(rec.recentLevels.value).toHaveLength(15)
    expect(rec.warning.value).toBe(false)
  })

  it('Stop keeps the recording: every chunk, the decoded length and waveform; the microphone is released', async () => {
    const decoded = { duration: 2.96, numberOfChannels: 1, getChannelData: () => new Float32Array([0.1, 0.5, 0.2]) }
    const s = setup({ decode: decoded })
    const rec = recorder(s.env)
    await rec.start()
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(1000)
      FakeRecorder.last.feed(`<${i}>`)
    }
    const stopped = rec.stop()
    expect(rec.state.value).toBe('processing')
    await vi.advanceTimersByTimeAsync(10)
    await stopped
    expect(rec.state.value).toBe('recorded')
    const r = rec.recording.value!
    expect(await text(r.blob)).toBe('<0><1><2><tail>')
    expect(r.mime).toBe('audio/webm;codecs=opus')
    expect(r.durationMs).toBe(2960)
    expect(r.waveform).toEqual([51, 255, 102])
    expect(r.capped).toBe(false)
    expect(s.streams[0]!.track.stopped).toBe(true)
    expect(s.contexts.every((c) => c.closed)).toBe(true)
    // Handed over once.
    expect(rec.take()).toBe(r)
    expect(rec.state.value).toBe('idle')
    expect(rec.take()).toBeNull()
  })

  it('warns from 50 s and stops by itself at 60 s, keeping everything recorded', async () => {
    const s = setup({ decode: null })
    const rec = recorder(s.env)
    await rec.start()
    const r0 = FakeRecorder.last
    for (let sec = 1; sec <= 49; sec++) {
      await vi.advanceTimersByTimeAsync(1000)
      r0.feed(`[${sec}]`)
    }
    expect(rec.warning.value).toBe(false)
    await vi.advanceTimersByTimeAsync(1000)
    r0.feed('[50]')
    expect(rec.warning.value).toBe(true)
    expect(rec.remainingMs.value).toBe(10_000)
    for (let sec = 51; sec <= 59; sec++) {
      await vi.advanceTimersByTimeAsync(1000)
      r0.feed(`[${sec}]`)
    }
    expect(rec.state.value).toBe('recording')
    await vi.advanceTimersByTimeAsync(1000) // the cap: nobody pressed anything
    expect(r0.state).toBe('inactive')
    await vi.advanceTimersByTimeAsync(10)
    expect(rec.state.value).toBe('recorded')
    const r = rec.recording.value!
    expect(r.capped).toBe(true)
    const got = await text(r.blob)
    for (let sec = 1; sec <= 59; sec++) expect(got).toContain(`[${sec}]`)
    expect(got.endsWith('<tail>')).toBe(true)
    expect(r.durationMs).toBeGreaterThanOrEqual(59_000)
    expect(r.durationMs).toBeLessThanOrEqual(60_000)
    // No decoder: the waveform comes from the levels measured while recording.
    expect(r.waveform.length).toBeGreaterThan(0)
    expect(r.waveform.length).toBeLessThanOrEqual(128)
    expect(r.waveform.every((v) => v === 255)).toBe(true)
    expect(s.streams[0]!.track.stopped).toBe(true)
    // The clock has stopped.
    const at = rec.elapsedMs.value
    await vi.advanceTimersByTimeAsync(5000)
    expect(rec.elapsedMs.value).toBe(at)
  })

  it('says why when there is no microphone or permission is refused, and can try again', async () => {
    const s = setup({ manualPermission: true })
    const rec = recorder(s.env)
    const first = rec.start()
    expect(rec.state.value).toBe('starting')
    s.permission!.reject(new DOMException('denied', 'NotAllowedError'))
    await first
    expect([rec.state.value, rec.error.value]).toEqual(['error', 'mic_denied'])
    const second = rec.start()
    s.permission!.reject(new DOMException('none', 'NotFoundError'))
    await second
    expect([rec.state.value, rec.error.value]).toEqual(['error', 'mic_not_found'])
    const third = rec.start()
    s.permission!.resolve()
    await third
    expect(rec.state.value).toBe('recording')
    expect(rec.error.value).toBeNull()
  })

  it('without getUserMedia it reports an unsupported browser or an insecure page', async () => {
    const s = setup()
    const rec = recorder({ ...s.env, getUserMedia: null })
    await rec.start()
    expect(rec.error.value).toBe('mic_unsupported')
    scope.stop()
    const insecure = recorder({ ...s.env, getUserMedia: null, secure: false })
    await insecure.start()
    expect(insecure.error.value).toBe('mic_insecure')
  })

  it('maps the browser errors', () => {
    expect(microphoneError(new DOMException('', 'SecurityError'))).toBe('mic_denied')
    expect(microphoneError(new DOMException('', 'OverconstrainedError'))).toBe('mic_not_found')
    expect(microphoneError(new DOMException('', 'NotReadableError'))).toBe('mic_busy')
    expect(microphoneError('weird')).toBe('mic_failed')
  })

  it('Cancel while the browser asks: the microphone is let go as soon as it comes', async () => {
    const s = setup({ manualPermission: true })
    const rec = recorder(s.env)
    const started = rec.start()
    rec.cancel()
    expect(rec.state.value).toBe('idle')
    s.permission!.resolve()
    await started
    expect(rec.state.value).toBe('idle')
    expect(s.streams[0]!.track.stopped).toBe(true)
    expect(FakeRecorder.all).toHaveLength(0)
  })

  it('the audio context starts at the click, so a slow permission answer still gets a live meter', async () => {
    const s = setup({ manualPermission: true })
    const rec = recorder(s.env)
    const started = rec.start()
    // still asking: the context exists and was resumed within the click's gesture
    expect(s.contexts).toHaveLength(1)
    expect(s.contexts[0]!.resumed).toBe(true)
    s.permission!.resolve()
    await started
    expect(s.contexts).toHaveLength(1) // the meter uses that context
    await vi.advanceTimersByTimeAsync(500)
    expect(rec.level.value).toBe(0.5)
    rec.cancel()
    expect(s.contexts[0]!.closed).toBe(true)
  })

  it('Cancel while the browser asks also closes the audio context', async () => {
    const s = setup({ manualPermission: true })
    const rec = recorder(s.env)
    const started = rec.start()
    rec.cancel()
    s.permission!.resolve()
    await started
    expect(s.contexts.every((c) => c.closed)).toBe(true)
  })

  it('Cancel while recording throws it away and releases everything', async () => {
    const s = setup()
    const rec = recorder(s.env)
    await rec.start()
    await vi.advanceTimersByTimeAsync(2000)
    FakeRecorder.last.feed()
    rec.cancel()
    await vi.advanceTimersByTimeAsync(100)
    expect(rec.state.value).toBe('idle')
    expect(rec.recording.value).toBeNull()
    expect(rec.elapsedMs.value).toBe(0)
    expect(s.streams[0]!.track.stopped).toBe(true)
    expect(s.contexts.every((c) => c.closed)).toBe(true)
  })

  it('a slip of the finger is too short to send', async () => {
    const s = setup({ decode: null })
    const rec = recorder(s.env)
    await rec.start()
    await vi.advanceTimersByTimeAsync(200)
    const stopped = rec.stop()
    await vi.advanceTimersByTimeAsync(10)
    await stopped
    expect([rec.state.value, rec.error.value]).toEqual(['error', 'voice_too_short'])
  })

  it('leaving the page (scope end) releases the microphone', async () => {
    const s = setup()
    const rec = recorder(s.env)
    await rec.start()
    scope.stop()
    expect(s.streams[0]!.track.stopped).toBe(true)
    expect(rec.state.value).toBe('idle')
  })
})
