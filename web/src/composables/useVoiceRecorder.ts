import { computed, onScopeDispose, ref, shallowRef } from 'vue'
import { VOICE_MAX_MS, VOICE_WARN_MS, checkVoice, pickVoiceMime } from '@/api/mediaRules'
import { analyseRecording, peaksFromLevels, type DecodedAudio } from './waveform'

/**
 * idle: nothing recorded · starting: asking for the microphone · recording · processing:
 * the recorder hands over its last bytes and the waveform is computed · recorded: a
 * recording waits to be sent or deleted · error: see `error` (a code of the errors table).
 */
export type RecorderState = 'idle' | 'starting' | 'recording' | 'processing' | 'recorded' | 'error'

/** A finished recording, ready to upload. */
export interface Recording {
  blob: Blob
  mime: string
  durationMs: number
  /** At most 128 values 0–255. */
  waveform: number[]
  /** Recording stopped because it reached the length cap. */
  capped: boolean
}

/** The parts of MediaRecorder the recorder uses. */
export interface RecorderLike {
  readonly state: 'inactive' | 'recording' | 'paused'
  readonly mimeType: string
  ondataavailable: ((e: { data: Blob }) => void) | null
  onstop: (() => void) | null
  onerror: ((e: Event) => void) | null
  start(timeslice?: number): void
  stop(): void
}

/** The parts of AnalyserNode the level meter uses. */
export interface AnalyserLike {
  fftSize: number
  getByteTimeDomainData(data: Uint8Array<ArrayBuffer>): void
}

/** The parts of AudioContext the recorder uses: a level meter and decoding. */
export interface AudioContextLike {
  createMediaStreamSource(stream: MediaStream): { connect(node: AnalyserLike): unknown; disconnect(): void }
  createAnalyser(): AnalyserLike
  decodeAudioData(data: ArrayBuffer): Promise<DecodedAudio>
  resume?(): Promise<void>
  close(): Promise<void>
}

/** What the recorder needs from the browser (fakes in tests). */
export interface RecorderEnv {
  getUserMedia: ((c: MediaStreamConstraints) => Promise<MediaStream>) | null
  createRecorder: ((stream: MediaStream, mime: string) => RecorderLike) | null
  isTypeSupported?: (mime: string) => boolean
  createAudioContext: () => AudioContextLike | null
  /** False on a page served over plain HTTP (not localhost): browsers hide the microphone there. */
  secure: boolean
  now: () => number
}

/** How often the clock and the level meter update (ms). */
export const TICK_MS = 100
/** The recorder hands over its bytes this often, so a cut-off loses nothing. */
const TIMESLICE_MS = 1000
/** Stop this much before the cap: the file must not come out longer than the server allows. */
export const CAP_MARGIN_MS = 250
/** How many of the latest levels `recentLevels` keeps (6 s at TICK_MS). */
const RECENT_LEVELS = 60
/** Enough for speech, and 60 s stays far below the 2 MiB limit. */
const BITS_PER_SECOND = 32_000

/** The browser's microphone, recorder and audio context. */
export function browserRecorderEnv(): RecorderEnv {
  const md = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined
  const MR = typeof MediaRecorder !== 'undefined' ? MediaRecorder : undefined
  const AC =
    typeof AudioContext !== 'undefined'
      ? AudioContext
      : ((globalThis as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext ?? undefined)
  return {
    getUserMedia: md?.getUserMedia ? (c) => md.getUserMedia(c) : null,
    createRecorder: MR
      ? (stream, mime) =>
          new MR(
            stream,
            mime ? { mimeType: mime, audioBitsPerSecond: BITS_PER_SECOND } : { audioBitsPerSecond: BITS_PER_SECOND },
          ) as unknown as RecorderLike
      : null,
    isTypeSupported: MR?.isTypeSupported ? (m) => MR.isTypeSupported(m) : undefined,
    createAudioContext: () => {
      if (!AC) return null
      try {
        return new AC() as unknown as AudioContextLike
      } catch {
        return null
      }
    },
    secure: typeof window === 'undefined' || window.isSecureContext !== false,
    now: () => performance.now(),
  }
}

/** The errors table's code for a failed getUserMedia. */
export function microphoneError(err: unknown): string {
  const name = err instanceof Error || err instanceof DOMException ? err.name : ''
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'mic_denied'
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'mic_not_found'
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'mic_busy'
    default:
      return 'mic_failed'
  }
}

/**
 * Records one voice message at a time: asks for the microphone, runs a clock and a level
 * meter, warns from 50 s and at 60 s stops by itself, keeping what was recorded (the
 * recording then waits, like after Stop, to be sent or deleted). Everything it holds —
 * microphone, audio context, timer — is released on cancel and when its scope ends.
 */
export function useVoiceRecorder(env: RecorderEnv = browserRecorderEnv()) {
  const state = ref<RecorderState>('idle')
  const error = ref<string | null>(null)
  const elapsedMs = ref(0)
  /** The microphone's current level, 0–1. */
  const level = ref(0)
  /** Levels of the last moments, oldest first, for the live meter. */
  const recentLevels = ref<number[]>([])
  const recording = shallowRef<Recording | null>(null)

  const remainingMs = computed(() => Math.max(0, VOICE_MAX_MS - elapsedMs.value))
  const warning = computed(() => state.value === 'recording' && elapsedMs.value >= VOICE_WARN_MS)
  const busy = computed(() => state.value === 'starting' || state.value === 'recording' || state.value === 'processing')

  // One generation per attempt: anything that resolves for an older one is dropped.
  let generation = 0
  let stream: MediaStream | null = null
  let recorder: RecorderLike | null = null
  let context: AudioContextLike | null = null
  let analyser: AnalyserLike | null = null
  let source: ReturnType<AudioContextLike['createMediaStreamSource']> | null = null
  let samples: Uint8Array<ArrayBuffer> | null = null
  let timer: ReturnType<typeof setInterval> | null = null
  let startedAt = 0
  let chunks: Blob[] = []
  let levels: number[] = []
  let mime = ''
  let capped = false
  let settle: (() => void) | null = null

  function fail(code: string): void {
    release()
    recording.value = null
    error.value = code
    state.value = 'error'
    finishWaiters()
  }

  function finishWaiters(): void {
    const s = settle
    settle = null
    s?.()
  }

  /** Lets go of the microphone, the meter and the clock. */
  function release(): void {
    if (timer !== null) clearInterval(timer)
    timer = null
    if (recorder) {
      recorder.ondataavailable = null
      recorder.onstop = null
      recorder.onerror = null
      if (recorder.state !== 'inactive') {
        try {
          recorder.stop()
        } catch {
          // already stopped
        }
      }
    }
    recorder = null
    stopTracks()
    closeContext()
    level.value = 0
  }

  function stopTracks(): void {
    for (const t of stream?.getTracks() ?? []) t.stop()
    stream = null
  }

  function closeContext(): void {
    try {
      source?.disconnect()
    } catch {
      // not connected
    }
    source = null
    analyser = null
    const c = context
    context = null
    void c?.close().catch(() => undefined)
  }

  function reset(): void {
    release()
    chunks = []
    levels = []
    recentLevels.value = []
    elapsedMs.value = 0
    capped = false
    recording.value = null
    error.value = null
  }

  /** Asks for the microphone and starts recording. */
  async function start(): Promise<void> {
    if (busy.value) return
    reset()
    const gen = ++generation
    if (!env.getUserMedia || !env.createRecorder) {
      fail(env.secure ? 'mic_unsupported' : 'mic_insecure')
      return
    }
    state.value = 'starting'
    // The audio context is made now, while the click still counts as the user's gesture:
    // made after a permission prompt the user took a while to answer, it would start
    // suspended and the level meter would never move.
    context = env.createAudioContext()
    void context?.resume?.().catch(() => undefined)
    let s: MediaStream
    try {
      s = await env.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } })
    } catch (err) {
      if (gen === generation) fail(microphoneError(err))
      return
    }
    if (gen !== generation) {
      for (const t of s.getTracks()) t.stop() // cancelled while the browser asked
      return
    }
    stream = s
    mime = pickVoiceMime(env.isTypeSupported)
    try {
      recorder = env.createRecorder(s, mime)
    } catch {
      try {
        recorder = env.createRecorder(s, '') // the preferred type was refused after all: any type
        mime = ''
      } catch {
        fail('mic_unsupported')
        return
      }
    }
    const rec = recorder
    rec.ondataavailable = (e) => {
      if (e.data && e.data.size > 0) chunks.push(e.data)
    }
    rec.onerror = () => {
      if (gen === generation) fail('mic_failed')
    }
    rec.onstop = () => {
      if (gen === generation) void finish(gen, rec)
    }
    startMeter(s)
    try {
      rec.start(TIMESLICE_MS)
    } catch {
      fail('mic_failed')
      return
    }
    startedAt = env.now()
    state.value = 'recording'
    timer = setInterval(tick, TICK_MS)
  }

  function startMeter(s: MediaStream): void {
    context ??= env.createAudioContext()
    if (!context) return
    try {
      void context.resume?.().catch(() => undefined)
      source = context.createMediaStreamSource(s)
      analyser = context.createAnalyser()
      // 8192 samples (~170 ms at 48 kHz) span the whole time since the last tick: a short
      // sound between two ticks still shows (1024 samples missed most of it)
      analyser.fftSize = 8192
      source.connect(analyser)
      samples = new Uint8Array(analyser.fftSize)
    } catch {
      analyser = null // recording works without a meter
    }
  }

  function readLevel(): number {
    if (!analyser || !samples) return 0
    analyser.getByteTimeDomainData(samples)
    let peak = 0
    for (const v of samples) {
      const d = Math.abs(v - 128)
      if (d > peak) peak = d
    }
    return Math.min(1, peak / 128)
  }

  function tick(): void {
    if (state.value !== 'recording') return
    elapsedMs.value = Math.min(VOICE_MAX_MS, env.now() - startedAt)
    const l = readLevel()
    level.value = l
    levels.push(l)
    const recent = recentLevels.value.length >= RECENT_LEVELS ? recentLevels.value.slice(1) : recentLevels.value.slice()
    recent.push(l)
    recentLevels.value = recent
    if (elapsedMs.value >= VOICE_MAX_MS - CAP_MARGIN_MS) void stop(true)
  }

  /** Stops recording and keeps it; resolves once the recording is ready (or failed). */
  function stop(atCap = false): Promise<void> {
    if (state.value !== 'recording' || !recorder) return Promise.resolve()
    capped = atCap
    elapsedMs.value = Math.min(VOICE_MAX_MS, env.now() - startedAt)
    if (timer !== null) clearInterval(timer)
    timer = null
    state.value = 'processing'
    level.value = 0
    const done = new Promise<void>((resolve) => (settle = resolve))
    try {
      recorder.stop() // the last dataavailable, then stop → finish()
    } catch {
      void finish(generation, recorder)
    }
    return done
  }

  async function finish(gen: number, rec: RecorderLike): Promise<void> {
    const type = rec.mimeType || mime || chunks[0]?.type || 'audio/webm'
    const blob = new Blob(chunks, { type })
    stopTracks()
    const measured = elapsedMs.value
    // Decode before the context closes (Safari decodes only with a live one).
    const decodeCtx = context ?? env.createAudioContext()
    const analysed = await analyseRecording(blob, decodeCtx ? (b) => decodeCtx.decodeAudioData(b) : null)
    if (decodeCtx !== context) void decodeCtx?.close().catch(() => undefined)
    if (gen !== generation) return
    closeContext()
    recorder = null
    const durationMs = Math.min(VOICE_MAX_MS, analysed?.durationMs ?? measured)
    const waveform = analysed?.waveform.length ? analysed.waveform : peaksFromLevels(levels)
    const problem = checkVoice(blob, durationMs)
    if (problem) {
      fail(problem)
      return
    }
    recording.value = { blob, mime: type, durationMs, waveform, capped }
    state.value = 'recorded'
    finishWaiters()
  }

  /** Throws away what is being (or was) recorded and goes back to idle. */
  function cancel(): void {
    generation++
    reset()
    state.value = 'idle'
    finishWaiters()
  }

  /** Hands over the finished recording (once) and goes back to idle. */
  function take(): Recording | null {
    if (state.value !== 'recorded' || !recording.value) return null
    const r = recording.value
    recording.value = null
    state.value = 'idle'
    return r
  }

  onScopeDispose(cancel)

  return { state, error, elapsedMs, remainingMs, warning, busy, level, recentLevels, recording, start, stop: () => stop(false), cancel, take }
}

/** What useVoiceRecorder returns. */
export type VoiceRecorder = ReturnType<typeof useVoiceRecorder>
