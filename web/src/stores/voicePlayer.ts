import { computed, ref } from 'vue'
import { defineStore } from 'pinia'

/** The parts of the <audio> element the player uses (a fake one in tests). */
export interface AudioLike {
  src: string
  currentTime: number
  readonly duration: number
  readonly paused: boolean
  play(): Promise<void>
  pause(): void
  load(): void
  removeAttribute(name: string): void
}

/** A voice message the player can play. */
export interface VoiceTrack {
  /** Identifies the message (its media id). */
  id: string
  url: string
  /** The length the message declares (WebM from a recorder often has none in the file). */
  durationMs: number
}

/**
 * The one voice player of the app: a single <audio> element (VoicePlayer.vue), so starting
 * one voice message stops any other. Bubbles read `isCurrent`, `playing` and `progress`.
 */
export const useVoicePlayerStore = defineStore('voicePlayer', () => {
  const currentId = ref<string | null>(null)
  const playing = ref(false)
  /** Loading: play() asked, no sound yet. */
  const waiting = ref(false)
  const positionMs = ref(0)
  const durationMs = ref(0)
  /** The errors-table code when the current track could not play. */
  const error = ref<string | null>(null)

  let audio: AudioLike | null = null
  let frame: number | null = null

  const progress = computed(() => (durationMs.value > 0 ? Math.min(1, positionMs.value / durationMs.value) : 0))

  /** Called by the component that renders the <audio> element. */
  function attach(el: AudioLike): void {
    audio = el
  }

  function detach(el: AudioLike): void {
    if (audio !== el) return
    stop()
    audio = null
  }

  function isCurrent(id: string): boolean {
    return currentId.value === id
  }

  function follow(): void {
    if (frame !== null || typeof requestAnimationFrame === 'undefined') return
    const step = () => {
      frame = null
      if (!audio || !playing.value) return
      positionMs.value = audio.currentTime * 1000
      frame = requestAnimationFrame(step)
    }
    frame = requestAnimationFrame(step)
  }

  function unfollow(): void {
    if (frame !== null && typeof cancelAnimationFrame !== 'undefined') cancelAnimationFrame(frame)
    frame = null
  }

  async function playFrom(track: VoiceTrack, fraction?: number): Promise<void> {
    if (!audio) return
    if (currentId.value !== track.id) {
      audio.pause()
      currentId.value = track.id
      durationMs.value = track.durationMs
      positionMs.value = 0
      error.value = null
      audio.src = track.url
    }
    if (fraction !== undefined && durationMs.value > 0) {
      const ms = Math.max(0, Math.min(1, fraction)) * durationMs.value
      audio.currentTime = ms / 1000
      positionMs.value = ms
    }
    waiting.value = true
    try {
      await audio.play()
      if (currentId.value !== track.id) return
      playing.value = true
      follow()
    } catch (err) {
      if (currentId.value !== track.id) return
      // A pause() or another track before play() resolved is not a failure.
      if (!(err instanceof DOMException && err.name === 'AbortError')) error.value = 'voice_play_failed'
      playing.value = false
    } finally {
      if (currentId.value === track.id) waiting.value = false
    }
  }

  /** Plays a voice message (stopping any other), or pauses it when it is the one playing. */
  function toggle(track: VoiceTrack): Promise<void> {
    if (currentId.value === track.id && playing.value) {
      pause()
      return Promise.resolve()
    }
    return playFrom(track)
  }

  /** Jumps to a point of a message (0–1) and plays from there. */
  function seek(track: VoiceTrack, fraction: number): Promise<void> {
    return playFrom(track, fraction)
  }

  function pause(): void {
    audio?.pause()
    playing.value = false
    unfollow()
  }

  /** Stops and forgets the current message (logout, leaving the page). */
  function stop(): void {
    pause()
    if (audio) {
      audio.removeAttribute('src')
      audio.load()
    }
    currentId.value = null
    positionMs.value = 0
    durationMs.value = 0
    waiting.value = false
    error.value = null
  }

  // ---- events of the <audio> element ----

  function onTimeUpdate(): void {
    if (audio && currentId.value) positionMs.value = audio.currentTime * 1000
  }

  function onLoadedMetadata(): void {
    // Files that know their length (Ogg, MP4) correct the declared one.
    if (audio && Number.isFinite(audio.duration) && audio.duration > 0) durationMs.value = audio.duration * 1000
  }

  function onEnded(): void {
    playing.value = false
    unfollow()
    positionMs.value = 0 // back to the start, ready to play again
    if (audio) audio.currentTime = 0
  }

  function onPause(): void {
    playing.value = false
    unfollow()
  }

  function onError(): void {
    if (!currentId.value) return
    playing.value = false
    waiting.value = false
    unfollow()
    error.value = 'voice_play_failed'
  }

  return {
    currentId,
    playing,
    waiting,
    positionMs,
    durationMs,
    error,
    progress,
    attach,
    detach,
    isCurrent,
    toggle,
    seek,
    pause,
    stop,
    onTimeUpdate,
    onLoadedMetadata,
    onEnded,
    onPause,
    onError,
  }
})
