import { onBeforeUnmount, ref, watch, type Ref } from 'vue'

/**
 * A Bootstrap-looking dropdown driven by Vue: toggles, closes on a click outside or Esc
 * (giving focus back to the toggle), and moves focus through the items with the arrow keys.
 */
export function useDropdown(root: Ref<HTMLElement | null>, toggle: Ref<HTMLElement | null>) {
  const open = ref(false)

  function items(): HTMLElement[] {
    return Array.from(root.value?.querySelectorAll<HTMLElement>('.dropdown-menu .dropdown-item:not(:disabled)') ?? [])
  }

  function onDocPointer(e: Event): void {
    if (root.value && e.target instanceof Node && !root.value.contains(e.target)) open.value = false
  }

  function onKeydown(e: KeyboardEvent): void {
    if (!open.value) {
      if (e.key === 'ArrowDown' && e.target === toggle.value) {
        e.preventDefault()
        open.value = true
        requestAnimationFrame(() => items()[0]?.focus())
      }
      return
    }
    if (e.key === 'Escape') {
      e.preventDefault()
      open.value = false
      toggle.value?.focus()
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault()
      const list = items()
      const at = list.indexOf(document.activeElement as HTMLElement)
      const next = e.key === 'ArrowDown' ? at + 1 : at - 1
      list[(next + list.length) % list.length]?.focus()
    } else if (e.key === 'Tab') {
      open.value = false
    }
  }

  watch(open, (isOpen) => {
    if (isOpen) document.addEventListener('pointerdown', onDocPointer, true)
    else document.removeEventListener('pointerdown', onDocPointer, true)
  })
  onBeforeUnmount(() => document.removeEventListener('pointerdown', onDocPointer, true))

  return {
    open,
    toggleOpen: () => (open.value = !open.value),
    close: () => (open.value = false),
    onKeydown,
  }
}
