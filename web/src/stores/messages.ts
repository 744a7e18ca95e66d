import { ref } from 'vue'
import { defineStore } from 'pinia'
import * as api from '@/api/client'
import type { Media, Message, MessageKind } from '@/api/types'

/** How a message of ours that the server has not acknowledged yet is doing. */
export type PendingStatus = 'uploading' | 'queued' | 'sending' | 'failed'

/** The file of a picture or voice message on its way: kept until the ack, so a retry needs no re-pick. */
export interface PendingAttachment {
  file: Blob
  /** The name the upload carries. */
  filename: string
  width?: number
  height?: number
  durationMs?: number
  waveform?: number[]
  /** Share of the bytes uploaded, 0–1. */
  progress: number
  /** The stored media once the upload succeeded. */
  media?: Media
}

/** A message made here, shown at once and replaced by the stored one when its ack arrives. */
export interface PendingMessage {
  client_id: string
  conversation_id: string
  kind: MessageKind
  text: string
  created_at: string
  /**
   * uploading: its file is going up; queued: waits for a connection; sending: written to
   * the socket; failed: refused or the upload failed (see `error`).
   */
  status: PendingStatus
  /** The server's error code when failed. */
  error?: string
  /** Pictures and voice: the file and, once uploaded, its media. */
  attachment?: PendingAttachment
}

/** What the UI knows about one conversation's history. */
export interface ConversationMessages {
  /** Stored messages, ascending by seq, each seq at most once. */
  items: Message[]
  /** Our messages not stored yet, in the order they were typed. */
  pending: PendingMessage[]
  /** The first page has been loaded (before that, live messages are not kept). */
  loaded: boolean
  /** The first page is being fetched: live messages are kept and merged with it. */
  loading: boolean
  /** Older messages exist on the server before items[0]. */
  hasMore: boolean
  loadingOlder: boolean
  /**
   * Newer messages exist on the server after the last one held: the window was opened
   * around an older message (a search hit) and is "detached" from the live end. Pages of
   * newer messages load as the person scrolls down; live messages are not added (that
   * would leave a hole) until the window reaches the newest message again.
   */
  hasNewer: boolean
  loadingNewer: boolean
  /** The highest seq that arrived live (0: none); while detached, more than the last held means "new messages below". */
  liveSeq: number
  /** Changes whenever the held messages are replaced by another part of the history (the list places its scroll again). */
  generation: number
  /** The message to bring into view and highlight (a search hit), else null. */
  focusSeq: number | null
  /** Changes with every jump, also a second jump to the same message. */
  focusToken: number
  /** Why the last attempt to load it failed (shown with a retry), else null. */
  error: unknown
  /** Where the "new messages" marker goes (the first message not read when the conversation was opened). */
  firstUnreadSeq: number | null
}

/** How to open a conversation: its unread count and newest seq (from the conversation list) place the marker. */
export interface OpenOptions {
  unread?: number
  latestSeq?: number
  ownUserId?: string
}

/** Page size when loading history. */
export const PAGE_SIZE = 50
/** The server's maximum page size. */
export const MAX_PAGE = 200
/** After this many catch-up pages, the window jumps to the newest page instead. */
const MAX_CATCHUP_PAGES = 10

function empty(): ConversationMessages {
  return {
    items: [],
    pending: [],
    loaded: false,
    loading: false,
    hasMore: false,
    loadingOlder: false,
    hasNewer: false,
    loadingNewer: false,
    liveSeq: 0,
    generation: 0,
    focusSeq: null,
    focusToken: 0,
    error: null,
    firstUnreadSeq: null,
  }
}

const EMPTY: Readonly<ConversationMessages> = Object.freeze(empty())

/** Index of the first item whose seq is >= seq (binary search). */
function lowerBound(items: Message[], seq: number): number {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (items[mid]!.seq < seq) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Messages per conversation, merged by seq: whatever order pages, live frames and acks
 * arrive in, each stored message shows once and in order; an ack or message carrying the
 * client_id of a pending message of ours replaces that pending bubble.
 */
export const useMessagesStore = defineStore('messages', () => {
  const byConversation = ref<Record<string, ConversationMessages>>({})
  const catchUps = new Map<string, Promise<void>>()
  const openings = new Map<string, Promise<void>>()
  const catchUpAgain = new Set<string>()
  /** Per conversation, the latest request that replaces the held messages; older answers are dropped. */
  const windowRequests = new Map<string, number>()

  /** Starts a request that will replace the held messages; returns a check that it is still the latest. */
  function windowRequest(id: string): () => boolean {
    const mine = (windowRequests.get(id) ?? 0) + 1
    windowRequests.set(id, mine)
    return () => windowRequests.get(id) === mine
  }

  /** The state of a conversation, created empty on first use. */
  function conv(id: string): ConversationMessages {
    let c = byConversation.value[id]
    if (!c) {
      byConversation.value[id] = empty()
      c = byConversation.value[id]!
    }
    return c
  }

  /** The state of a conversation without creating it (an empty placeholder when unknown). */
  function view(id: string): Readonly<ConversationMessages> {
    return byConversation.value[id] ?? EMPTY
  }

  /** The highest seq we hold for a conversation (0 when none). */
  function lastSeq(id: string): number {
    const items = byConversation.value[id]?.items
    return items && items.length > 0 ? items[items.length - 1]!.seq : 0
  }

  /**
   * Where to fetch from to fill holes: the last seq of the unbroken run at the start of
   * what we hold (0 when we hold nothing).
   */
  function contiguousSeq(id: string): number {
    const items = byConversation.value[id]?.items ?? []
    if (items.length === 0) return 0
    for (let i = 0; i + 1 < items.length; i++) {
      if (items[i + 1]!.seq !== items[i]!.seq + 1) return items[i]!.seq
    }
    return items[items.length - 1]!.seq
  }

  /** Merges stored messages into a conversation; returns how many were new. */
  function merge(id: string, messages: readonly Message[], ownUserId?: string): number {
    const c = conv(id)
    let added = 0
    for (const m of messages) {
      if (m.conversation_id !== id || !Number.isInteger(m.seq) || m.seq < 1) continue
      if (m.client_id && (!ownUserId || m.sender.id === ownUserId)) {
        const p = c.pending.findIndex((x) => x.client_id === m.client_id)
        if (p >= 0) c.pending.splice(p, 1)
      }
      const at = lowerBound(c.items, m.seq)
      const there = c.items[at]
      if (there && there.seq === m.seq) continue // already held (same seq = same message)
      if (c.items.some((x) => x.id === m.id)) continue
      c.items.splice(at, 0, m)
      added++
    }
    return added
  }

  /**
   * A live message from the socket. Returns true when it left a hole (its seq is more than
   * one past what we held), so the caller fetches what is missing.
   */
  function receive(m: Message, ownUserId?: string): { added: boolean; gap: boolean } {
    const c = byConversation.value[m.conversation_id]
    if (c && Number.isInteger(m.seq)) c.liveSeq = Math.max(c.liveSeq, m.seq)
    if (!c || (!c.loaded && !c.loading) || (c.hasNewer && m.seq > lastSeq(m.conversation_id))) {
      // Not opened yet (its first page will include this message), or a window further up
      // the history (its pages down will). Only drop a matching pending bubble.
      if (c && m.client_id && (!ownUserId || m.sender.id === ownUserId)) {
        const p = c.pending.findIndex((x) => x.client_id === m.client_id)
        if (p >= 0) c.pending.splice(p, 1)
      }
      return { added: false, gap: false }
    }
    const before = lastSeq(m.conversation_id)
    const added = merge(m.conversation_id, [m], ownUserId) > 0
    return { added, gap: c.loaded && m.seq > before + 1 }
  }

  /** Adds a message we are about to send; it shows as pending until acked. */
  function addPending(p: Omit<PendingMessage, 'status'> & { status?: PendingStatus }): PendingMessage {
    const c = conv(p.conversation_id)
    c.pending.push({ ...p, status: p.status ?? 'queued' })
    return c.pending[c.pending.length - 1]!
  }

  function findPending(clientId: string): PendingMessage | undefined {
    for (const c of Object.values(byConversation.value)) {
      const p = c.pending.find((x) => x.client_id === clientId)
      if (p) return p
    }
    return undefined
  }

  /** Every pending message that still has to go out (queued or sending), oldest first. */
  function outbox(): PendingMessage[] {
    return Object.values(byConversation.value)
      .flatMap((c) => c.pending.filter((p) => p.status === 'queued' || p.status === 'sending'))
      .sort((a, b) => a.created_at.localeCompare(b.created_at))
  }

  /** Sets the status of a pending message (and its error when failed). */
  function setStatus(clientId: string, status: PendingStatus, error?: string): void {
    const p = findPending(clientId)
    if (!p) return
    p.status = status
    p.error = status === 'failed' ? error : undefined
  }

  /** How far the upload of a pending picture or voice message has come (0–1). */
  function setProgress(clientId: string, fraction: number): void {
    const a = findPending(clientId)?.attachment
    if (a) a.progress = Math.max(a.progress, Math.min(1, fraction))
  }

  /** The upload is done: the message is ready to go out with its media id. */
  function setUploaded(clientId: string, media: Media): void {
    const p = findPending(clientId)
    if (!p?.attachment) return
    p.attachment.media = media
    p.attachment.progress = 1
    p.status = 'queued'
    p.error = undefined
  }

  /** The stored message for a pending one: replaces the bubble. */
  function ack(clientId: string, m: Message, ownUserId?: string): void {
    const c = conv(m.conversation_id)
    const p = c.pending.findIndex((x) => x.client_id === clientId)
    if (p >= 0) c.pending.splice(p, 1)
    c.liveSeq = Math.max(c.liveSeq, m.seq)
    if (c.loaded && !(c.hasNewer && m.seq > lastSeq(m.conversation_id))) merge(m.conversation_id, [m], ownUserId)
  }

  /** Drops a pending message (e.g. the user gave up on a failed one). */
  function discard(clientId: string): void {
    for (const c of Object.values(byConversation.value)) {
      const p = c.pending.findIndex((x) => x.client_id === clientId)
      if (p >= 0) c.pending.splice(p, 1)
    }
  }

  /**
   * Loads the newest page. `unread` makes the page big enough to hold the first unread
   * message, where the "new messages" marker goes.
   */
  async function loadLatest(id: string, opts: OpenOptions = {}): Promise<void> {
    const unread = Math.max(0, opts.unread ?? 0)
    await loadNewest(id, Math.min(MAX_PAGE, Math.max(PAGE_SIZE, unread + 10)), opts.ownUserId, (last) => {
      const latest = Math.max(opts.latestSeq ?? 0, last)
      return unread > 0 && latest > 0 ? Math.max(1, latest - unread + 1) : null
    })
    if (contiguousSeq(id) < lastSeq(id)) await catchUp(id, opts.ownUserId)
  }

  /**
   * Replaces what we hold by the newest page, keeping live messages that arrive meanwhile.
   * `marker` places the "new messages" marker in the same update that shows the page, so
   * the list scrolls to it on its first paint.
   */
  async function loadNewest(
    id: string,
    limit: number,
    ownUserId?: string,
    marker?: (lastSeq: number) => number | null,
  ): Promise<void> {
    const c = conv(id)
    const current = windowRequest(id)
    c.items = []
    c.hasNewer = false
    c.focusSeq = null
    c.generation++
    c.loading = true
    let page: Awaited<ReturnType<typeof api.listMessages>>
    try {
      page = await api.listMessages(id, { limit })
    } finally {
      if (current()) c.loading = false
    }
    if (!current()) return // another part of the history was asked for meanwhile
    merge(id, page.messages, ownUserId)
    c.hasMore = page.has_more
    if (marker) c.firstUnreadSeq = marker(lastSeq(id))
    c.loaded = true
    c.generation++
  }

  /**
   * Makes a conversation ready to show: the first page when it was never loaded, else
   * whatever came after what we hold. Concurrent calls share one request.
   */
  function open(id: string, opts: OpenOptions = {}): Promise<void> {
    const running = openings.get(id)
    if (running) return running
    const c = byConversation.value[id]
    const run = (async () => {
      conv(id).error = null
      try {
        if (c?.loaded && c.hasNewer) {
          // A window further up (a search hit): opening the conversation means its newest messages.
          await jumpToLatest(id, opts.ownUserId)
        } else if (c?.loaded) {
          const latest = opts.latestSeq ?? lastSeq(id)
          if (opts.unread && opts.unread > 0 && latest > 0) markFirstUnread(id, Math.max(1, latest - opts.unread + 1))
          await catchUp(id, opts.ownUserId)
        } else {
          await loadLatest(id, opts)
        }
      } catch (err) {
        conv(id).error = err
      } finally {
        openings.delete(id)
      }
    })()
    openings.set(id, run)
    return run
  }

  /** Loads the page before the oldest message held. */
  async function loadOlder(id: string, ownUserId?: string): Promise<void> {
    const c = conv(id)
    if (!c.loaded || !c.hasMore || c.loadingOlder) return
    const first = c.items[0]?.seq
    if (first === undefined) return
    const generation = c.generation
    c.loadingOlder = true
    try {
      const page = await api.listMessages(id, { before: first, limit: PAGE_SIZE })
      if (c.generation !== generation) return // the window moved elsewhere meanwhile
      merge(id, page.messages, ownUserId)
      c.hasMore = page.has_more
    } finally {
      c.loadingOlder = false
    }
  }

  /** Loads the page after the newest message held, in a window opened further up the history. */
  async function loadNewer(id: string, ownUserId?: string): Promise<void> {
    const c = conv(id)
    if (!c.loaded || !c.hasNewer || c.loadingNewer) return
    const last = lastSeq(id)
    if (last === 0) {
      c.hasNewer = false
      return
    }
    const generation = c.generation
    c.loadingNewer = true
    try {
      const page = await api.listMessages(id, { after: last, limit: PAGE_SIZE })
      if (c.generation !== generation) return
      merge(id, page.messages, ownUserId)
      if (!page.has_more || page.messages.length === 0) c.hasNewer = false
    } finally {
      c.loadingNewer = false
    }
    // Back at the newest: what came live after the last page was not kept; fetch it.
    if (!c.hasNewer && c.liveSeq > lastSeq(id)) await catchUp(id, ownUserId)
  }

  /**
   * Opens a conversation at one message (a search hit): the page around it, which then
   * grows both ways as the person scrolls. The message is focused (brought into view and
   * highlighted); when it is already held, nothing is fetched. `latestSeq` (the newest seq
   * the conversation list knows) tells whether the page reaches the newest message.
   */
  async function openAround(id: string, seq: number, opts: OpenOptions = {}): Promise<void> {
    const c = conv(id)
    c.error = null
    if (c.loaded && !c.loading && c.items.some((m) => m.seq === seq)) {
      focus(id, seq)
      return
    }
    const current = windowRequest(id)
    let page: Awaited<ReturnType<typeof api.listMessages>>
    try {
      page = await api.listMessages(id, { around: seq, limit: PAGE_SIZE })
    } catch (err) {
      if (current()) c.error = err
      return
    }
    if (!current()) return
    c.items = []
    c.loading = false
    merge(id, page.messages, opts.ownUserId)
    const first = c.items[0]?.seq ?? 0
    const last = lastSeq(id)
    const latest = Math.max(opts.latestSeq ?? 0, c.liveSeq)
    // has_more says "more on either side"; seqs start at 1 without holes, so the side is known from them.
    c.hasMore = page.has_more && first > 1
    c.hasNewer = page.has_more && last > 0 && (first <= 1 || latest === 0 || last < latest)
    const unread = Math.max(0, opts.unread ?? 0)
    const firstUnread = unread > 0 && latest > 0 ? Math.max(1, latest - unread + 1) : null
    c.firstUnreadSeq = firstUnread !== null && firstUnread >= first ? firstUnread : null
    c.loaded = true
    c.generation++
    focus(id, seq)
    if (!c.hasNewer && c.liveSeq > last) await catchUp(id, opts.ownUserId)
  }

  /** Leaves a window further up the history for the newest page (live messages join again). */
  async function jumpToLatest(id: string, ownUserId?: string): Promise<void> {
    const c = conv(id)
    if (!c.hasNewer) return
    const current = windowRequest(id)
    const page = await api.listMessages(id, { limit: PAGE_SIZE })
    if (!current()) return
    c.items = []
    c.loading = false
    merge(id, page.messages, ownUserId)
    c.hasMore = page.has_more
    c.hasNewer = false
    c.focusSeq = null
    c.generation++
    if (c.liveSeq > lastSeq(id)) await catchUp(id, ownUserId)
  }

  /** Brings a held message into view and highlights it. */
  function focus(id: string, seq: number): void {
    const c = conv(id)
    c.focusSeq = seq
    c.focusToken++
  }

  /**
   * Fetches everything after the last seq held without a hole, page by page until the
   * server has no more. One run per conversation at a time; a request during a run makes
   * it run once more.
   */
  function catchUp(id: string, ownUserId?: string): Promise<void> {
    const running = catchUps.get(id)
    if (running) {
      catchUpAgain.add(id)
      return running
    }
    const run = (async () => {
      try {
        do {
          catchUpAgain.delete(id)
          await catchUpOnce(id, ownUserId)
        } while (catchUpAgain.has(id))
      } finally {
        catchUps.delete(id)
        catchUpAgain.delete(id)
      }
    })()
    catchUps.set(id, run)
    return run
  }

  async function catchUpOnce(id: string, ownUserId?: string): Promise<void> {
    const c = byConversation.value[id]
    if (!c || !c.loaded) return
    for (let pages = 0; ; pages++) {
      // A window further up the history fetches newer pages as the person scrolls down.
      if (c.hasNewer) return
      if (pages >= MAX_CATCHUP_PAGES) {
        // Far behind: show the newest page; scrolling up loads the rest.
        await loadNewest(id, PAGE_SIZE, ownUserId)
        return
      }
      const generation = c.generation
      const page = await api.listMessages(id, { after: contiguousSeq(id), limit: MAX_PAGE })
      if (c.generation !== generation) return // the window moved elsewhere meanwhile
      const added = merge(id, page.messages, ownUserId)
      if (!page.has_more || page.messages.length === 0 || added === 0) return
    }
  }

  /** Puts the "new messages" marker before `seq` unless one is already shown. */
  function markFirstUnread(id: string, seq: number): void {
    const c = byConversation.value[id]
    if (c && c.firstUnreadSeq === null) c.firstUnreadSeq = seq
  }

  function clearFirstUnread(id: string): void {
    const c = byConversation.value[id]
    if (c) c.firstUnreadSeq = null
  }

  /** Forgets everything (logout). */
  function reset(): void {
    byConversation.value = {}
    catchUps.clear()
    catchUpAgain.clear()
    openings.clear()
    windowRequests.clear()
  }

  return {
    byConversation,
    conv,
    view,
    lastSeq,
    contiguousSeq,
    merge,
    receive,
    addPending,
    findPending,
    outbox,
    setStatus,
    setProgress,
    setUploaded,
    ack,
    discard,
    loadLatest,
    open,
    loadOlder,
    loadNewer,
    openAround,
    jumpToLatest,
    focus,
    catchUp,
    markFirstUnread,
    clearFirstUnread,
    reset,
  }
})
