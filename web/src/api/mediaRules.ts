// The server's limits for pictures and voice messages (DESIGN §5), mirrored so the UI can
// say so before uploading. Each check returns the server's own error code, so one message
// table serves both; the server stays the authority (it sniffs the bytes).

/** Pictures up to this many bytes. */
export const IMAGE_MAX_BYTES = 10 * 1024 * 1024
/** Pictures up to this many pixels (width × height). */
export const IMAGE_MAX_PIXELS = 40_000_000
/** The picture types the server accepts (never SVG). */
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'] as const
/** File name endings accepted when the browser gives a file no type. */
const IMAGE_EXTENSIONS = /\.(jpe?g|png|gif|webp)$/i
/** At most this many pictures wait in the composer at once. */
export const IMAGES_AT_ONCE = 10

/** A voice message lasts at most this long… */
export const VOICE_MAX_MS = 60_000
/** …and the countdown shows from here on. */
export const VOICE_WARN_MS = 50_000
/** Shorter than this is a slip of the finger, not a message. */
export const VOICE_MIN_MS = 500
/** A voice file is at most this many bytes. */
export const VOICE_MAX_BYTES = 2 * 1024 * 1024
/** The waveform sent with a voice message has at most this many values, each 0–255. */
export const WAVEFORM_MAX = 128

/** Recording formats in order of preference (the server takes WebM/Ogg Opus and MP4/AAC). */
export const VOICE_MIME_PREFERENCE = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4'] as const

/** The declared type and the size of a picture: a code from the errors table, or null when fine. */
export function checkImage(file: File): string | null {
  const typed = file.type !== ''
  if (typed ? !(IMAGE_TYPES as readonly string[]).includes(file.type) : !IMAGE_EXTENSIONS.test(file.name)) {
    return 'image_unsupported'
  }
  if (file.size > IMAGE_MAX_BYTES) return 'image_too_large'
  if (file.size === 0) return 'image_invalid'
  return null
}

/** The picture's size in pixels, once known. */
export function checkImagePixels(width: number, height: number): string | null {
  if (!(width > 0 && height > 0)) return 'image_invalid'
  return width * height > IMAGE_MAX_PIXELS ? 'image_too_many_pixels' : null
}

/** The first recording format the browser supports, or '' to let it pick. */
export function pickVoiceMime(isTypeSupported: ((mime: string) => boolean) | undefined): string {
  if (!isTypeSupported) return ''
  return VOICE_MIME_PREFERENCE.find((m) => isTypeSupported(m)) ?? ''
}

/** A file name for an upload of this type (the server never uses it; it names nothing). */
export function voiceFileName(mime: string): string {
  const base = mime.split(';')[0]!.trim().toLowerCase()
  if (base === 'audio/ogg') return 'voice.ogg'
  if (base === 'audio/mp4' || base === 'audio/aac' || base === 'audio/x-m4a') return 'voice.m4a'
  if (base === 'audio/mpeg') return 'voice.mp3'
  return 'voice.webm'
}

/** A recording's checks before upload. */
export function checkVoice(blob: Blob, durationMs: number): string | null {
  if (blob.size === 0 || durationMs < VOICE_MIN_MS) return 'voice_too_short'
  if (blob.size > VOICE_MAX_BYTES) return 'voice_too_large'
  if (durationMs > VOICE_MAX_MS) return 'voice_too_long'
  return null
}
