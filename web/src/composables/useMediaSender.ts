import { markRaw } from 'vue'
import * as api from '@/api/client'
import { voiceFileName } from '@/api/mediaRules'
import type { MediaKind } from '@/api/types'
import { useMessagesStore, type PendingAttachment } from '@/stores/messages'
import { useChatSocket, type ChatSocket } from './useChatSocket'
import type { Recording } from './useVoiceRecorder'

/** A picture picked in the composer, with its size in pixels (to reserve its space). */
export interface PickedImage {
  file: File
  width: number
  height: number
}

export interface MediaSenderOptions {
  chat?: Pick<ChatSocket, 'retry'>
  upload?: typeof api.uploadMedia
  newClientId?: () => string
  now?: () => number
}

export interface MediaSender {
  /** Shows a pending picture at once, uploads it, then sends it; returns its client_id. */
  sendImage(conversationId: string, image: PickedImage): string
  /** The same for a voice recording. */
  sendVoice(conversationId: string, recording: Recording): string
  /** A failed message again: uploads the file once more if it never arrived, else sends it. */
  retry(clientId: string): void
  /** Stops an upload under way and drops the message. */
  cancel(clientId: string): void
}

/** The errors-table code for a failed upload. */
function failureCode(err: unknown): string {
  if (err instanceof api.ApiError) return err.code
  return 'unexpected'
}

function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError'
}

/**
 * Pictures and voice messages on their way: a pending bubble at once (with the local file,
 * so it shows while uploading), the upload with progress, then the WebSocket `send` with
 * the media id. A failed upload keeps the file, so Retry needs no second pick.
 */
export function createMediaSender(options: MediaSenderOptions = {}): MediaSender {
  const messages = useMessagesStore()
  const chat = options.chat ?? useChatSocket()
  const upload = options.upload ?? api.uploadMedia
  const newClientId = options.newClientId ?? (() => crypto.randomUUID())
  const now = options.now ?? Date.now
  const uploads = new Map<string, AbortController>()

  function add(conversationId: string, kind: MediaKind, attachment: Omit<PendingAttachment, 'progress'>): string {
    const clientId = newClientId()
    messages.addPending({
      client_id: clientId,
      conversation_id: conversationId,
      kind,
      text: '',
      created_at: new Date(now()).toISOString(),
      status: 'uploading',
      attachment: { ...attachment, file: markRaw(attachment.file), progress: 0 },
    })
    messages.clearFirstUnread(conversationId)
    void run(clientId)
    return clientId
  }

  async function run(clientId: string): Promise<void> {
    const p = messages.findPending(clientId)
    const a = p?.attachment
    if (!p || !a || p.kind === 'text' || uploads.has(clientId)) return
    messages.setStatus(clientId, 'uploading')
    a.progress = 0
    const abort = new AbortController()
    uploads.set(clientId, abort)
    try {
      const media = await upload(
        {
          file: a.file,
          filename: a.filename,
          conversationId: p.conversation_id,
          kind: p.kind,
          durationMs: p.kind === 'voice' ? a.durationMs : undefined,
          waveform: p.kind === 'voice' ? a.waveform : undefined,
        },
        { onProgress: (f) => messages.setProgress(clientId, f), signal: abort.signal },
      )
      if (abort.signal.aborted) return
      messages.setUploaded(clientId, media)
      chat.retry(clientId)
    } catch (err) {
      if (!abort.signal.aborted && !isAbort(err)) messages.setStatus(clientId, 'failed', failureCode(err))
    } finally {
      if (uploads.get(clientId) === abort) uploads.delete(clientId)
    }
  }

  function sendImage(conversationId: string, image: PickedImage): string {
    return add(conversationId, 'image', {
      file: image.file,
      filename: image.file.name || 'picture',
      width: image.width,
      height: image.height,
    })
  }

  function sendVoice(conversationId: string, recording: Recording): string {
    return add(conversationId, 'voice', {
      file: recording.blob,
      filename: voiceFileName(recording.mime),
      durationMs: recording.durationMs,
      waveform: recording.waveform,
    })
  }

  function retry(clientId: string): void {
    const p = messages.findPending(clientId)
    if (!p) return
    const a = p.attachment
    // The server lost or refused the stored file: upload it again rather than resend its id.
    if (a?.media && (p.error === 'media_not_found' || p.error === 'media_already_sent')) a.media = undefined
    if (p.kind === 'text' || a?.media) chat.retry(clientId)
    else void run(clientId)
  }

  function cancel(clientId: string): void {
    uploads.get(clientId)?.abort()
    uploads.delete(clientId)
    messages.discard(clientId)
  }

  return { sendImage, sendVoice, retry, cancel }
}

let shared: MediaSender | null = null

/** The app's one media sender (created on first use). */
export function useMediaSender(): MediaSender {
  shared ??= createMediaSender()
  return shared
}
