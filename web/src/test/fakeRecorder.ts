// A fake microphone, MediaRecorder and AudioContext for the voice recorder specs.
import type { AudioContextLike, RecorderEnv, RecorderLike } from '@/composables/useVoiceRecorder'
import type { DecodedAudio } from '@/composables/waveform'

export class FakeTrack {
  stopped = false
  stop(): void {
    this.stopped = true
  }
}

export class FakeStream {
  track = new FakeTrack()
  getTracks(): FakeTrack[] {
    return [this.track]
  }
}

/** A MediaRecorder that hands over what the test feeds it. */
export class FakeRecorder implements RecorderLike {
  static all: FakeRecorder[] = []
  state: RecorderLike['state'] = 'inactive'
  mimeType: string
  timeslice?: number
  ondataavailable: RecorderLike['ondataavailable'] = null
  onstop: RecorderLike['onstop'] = null
  onerror: RecorderLike['onerror'] = null

  constructor(
    readonly stream: MediaStream,
    readonly requested: string,
  ) {
    this.mimeType = requested || 'audio/webm'
    FakeRecorder.all.push(this)
  }
  static get last(): FakeRecorder {
    return FakeRecorder.all[FakeRecorder.all.length - 1]!
  }
  start(timeslice?: number): void {
    this.state = 'recording'
    this.timeslice = timeslice
  }
  /** Like the browser: the last bytes, then `stop`, a moment later. */
  stop(): void {
    this.state = 'inactive'
    setTimeout(() => {
      this.ondataavailable?.({ data: new Blob(['<tail>']) })
      this.onstop?.()
    }, 5)
  }
  /** One timeslice of audio. */
  feed(bytes = '<1s>'): void {
    this.ondataavailable?.({ data: new Blob([bytes]) })
  }
}

export interface FakeRecorderSetup {
  env: RecorderEnv
  streams: FakeStream[]
  contexts: { closed: boolean; resumed: boolean }[]
  /** Resolves or rejects the pending getUserMedia. */
  permission: { resolve: () => void; reject: (e: unknown) => void } | null
}

export function fakeRecorderEnv(opts: { decode?: DecodedAudio | Error | null; amplitude?: () => number; manualPermission?: boolean; isTypeSupported?: (m: string) => boolean } = {}): FakeRecorderSetup {
  const s: FakeRecorderSetup = { env: undefined as unknown as RecorderEnv, streams: [], contexts: [], permission: null }
  const amplitude = opts.amplitude ?? (() => 64)
  s.env = {
    getUserMedia: () =>
      new Promise<MediaStream>((resolve, reject) => {
        const stream = new FakeStream()
        s.streams.push(stream)
        const ok = () => resolve(stream as unknown as MediaStream)
        if (opts.manualPermission) s.permission = { resolve: ok, reject }
        else ok()
      }),
    createRecorder: (stream, mime) => new FakeRecorder(stream, mime),
    isTypeSupported: opts.isTypeSupported ?? (() => true),
    createAudioContext: () => {
      const state = { closed: false, resumed: false }
      s.contexts.push(state)
      const ctx: AudioContextLike = {
        createMediaStreamSource: () => ({ connect: () => undefined, disconnect: () => undefined }),
        createAnalyser: () => ({
          fftSize: 2048,
          getByteTimeDomainData: (data: Uint8Array) => data.fill(128 + amplitude()),
        }),
        decodeAudioData: async () => {
          if (opts.decode instanceof Error || opts.decode === null) throw opts.decode ?? new Error('EncodingError')
          if (opts.decode) return opts.decode
          throw new Error('EncodingError')
        },
        resume: async () => {
          state.resumed = true
        },
        close: async () => {
          state.closed = true
        },
      }
      return ctx
    },
    secure: true,
    now: () => Date.now(),
  }
  return s
}

