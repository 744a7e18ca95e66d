// The server's limits for messages, mirrored so the composer can say so before sending.
// The server stays the authority (DESIGN §5).

/** At most this many characters (Unicode code points) in a text message. */
export const TEXT_MAX = 4000
/** The counter shows from this many characters on. */
export const TEXT_COUNTER_FROM = 3500

/** Length as the server counts it: code points, so an emoji is one, not two UTF-16 units. */
export function textLength(text: string): number {
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0xdc00 || c > 0xdfff) n++ // a low surrogate completes the pair counted before it
  }
  return n
}
