import { onBeforeUnmount, onMounted } from 'vue'
import { useAuthStore } from '@/stores/auth'
import { useSearchStore } from '@/stores/search'
import { useUiStore } from '@/stores/ui'

/** True on Apple systems, where the shortcut is ⌘K rather than Ctrl+K. */
export function isApple(): boolean {
  const nav = navigator as Navigator & { userAgentData?: { platform?: string } }
  const platform = nav.userAgentData?.platform ?? navigator.platform ?? ''
  return /mac|iphone|ipad|ipod/i.test(platform)
}

/** Ctrl+K or ⌘K (also with a keyboard layout whose K key types another letter). */
export function isSearchShortcut(e: KeyboardEvent): boolean {
  if (e.isComposing || e.altKey || e.shiftKey || !(e.ctrlKey || e.metaKey)) return false
  return e.key.toLowerCase() === 'k' || e.code === 'KeyK'
}

/** Opens the message search on Ctrl+K / ⌘K anywhere in the page while logged in. */
export function useSearchShortcut(): void {
  const auth = useAuthStore()
  const search = useSearchStore()
  const ui = useUiStore()

  function onKeydown(e: KeyboardEvent): void {
    if (!auth.loggedIn || !isSearchShortcut(e)) return
    e.preventDefault() // not the browser's own Ctrl+K (its address bar search)
    ui.closePerson()
    ui.closeImage()
    search.openPanel()
  }

  onMounted(() => document.addEventListener('keydown', onKeydown))
  onBeforeUnmount(() => document.removeEventListener('keydown', onKeydown))
}
