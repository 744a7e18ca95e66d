import { onScopeDispose, ref, shallowRef } from 'vue'
import { IMAGES_AT_ONCE, checkImage, checkImagePixels } from '@/api/mediaRules'
import type { PickedImage } from './useMediaSender'

/** A picture waiting in the composer: its preview URL lives until it is removed or sent. */
export interface ImageAttachment extends PickedImage {
  id: number
  url: string
}

/** A file that was not accepted, and why (a code of the errors table). */
export interface RejectedFile {
  name: string
  code: string
}

/** Reads a picture's size in pixels (as shown, EXIF orientation applied); rejects when it does not decode. */
export type MeasureImage = (url: string) => Promise<{ width: number; height: number }>

/** The browser's decoder: an <img> decoding the blob: URL. */
export const measureWithImg: MeasureImage = async (url) => {
  const img = new Image()
  img.src = url
  await img.decode()
  return { width: img.naturalWidth, height: img.naturalHeight }
}

/**
 * The pictures picked, pasted or dropped for the next message, checked (type, size,
 * pixels, that they decode) before any upload. Each preview's blob: URL is revoked when
 * the picture is removed or handed over, and when the composer goes away.
 */
export function useImageAttachments(measure: MeasureImage = measureWithImg) {
  const items = ref<ImageAttachment[]>([])
  const rejected = shallowRef<RejectedFile[]>([])
  /** Files still being measured. */
  const reading = ref(0)
  let nextId = 0
  let disposed = false

  /** Adds the pictures among `files`; the others land in `rejected` with the reason. */
  async function add(files: Iterable<File>): Promise<void> {
    const refused: RejectedFile[] = []
    const work: Promise<void>[] = []
    for (const file of files) {
      const code = checkImage(file)
      if (code) {
        refused.push({ name: file.name, code })
        continue
      }
      if (items.value.length + reading.value >= IMAGES_AT_ONCE) {
        refused.push({ name: file.name, code: 'too_many_images' })
        continue
      }
      reading.value++
      work.push(measureOne(file, refused))
    }
    await Promise.all(work)
    rejected.value = refused
  }

  async function measureOne(file: File, refused: RejectedFile[]): Promise<void> {
    const url = URL.createObjectURL(file)
    try {
      const { width, height } = await measure(url)
      const code = checkImagePixels(width, height)
      if (code || disposed) {
        URL.revokeObjectURL(url)
        if (code) refused.push({ name: file.name, code })
        return
      }
      items.value.push({ id: ++nextId, file, url, width, height })
    } catch {
      URL.revokeObjectURL(url)
      refused.push({ name: file.name, code: 'image_invalid' })
    } finally {
      reading.value--
    }
  }

  function remove(id: number): void {
    const i = items.value.findIndex((x) => x.id === id)
    if (i < 0) return
    URL.revokeObjectURL(items.value[i]!.url)
    items.value.splice(i, 1)
  }

  /** Hands over every picture for sending (their previews are revoked: the bubbles make their own). */
  function take(): PickedImage[] {
    const out = items.value.map(({ file, width, height }) => ({ file, width, height }))
    clear()
    return out
  }

  function clear(): void {
    for (const x of items.value) URL.revokeObjectURL(x.url)
    items.value = []
    rejected.value = []
  }

  function dismissRejected(): void {
    rejected.value = []
  }

  onScopeDispose(() => {
    disposed = true
    clear()
  })

  return { items, rejected, reading, add, remove, take, clear, dismissRejected }
}

/** The files of a paste or drop (none for plain text). */
export function filesOf(data: DataTransfer | null): File[] {
  if (!data) return []
  const out: File[] = []
  if (data.items && data.items.length > 0) {
    for (const item of Array.from(data.items)) {
      if (item.kind !== 'file') continue
      const f = item.getAsFile()
      if (f) out.push(f)
    }
    if (out.length > 0) return out
  }
  return Array.from(data.files ?? [])
}
