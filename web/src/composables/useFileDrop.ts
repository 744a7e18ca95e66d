import { onBeforeUnmount, onMounted, ref } from 'vue'

/** True when a drag carries files (not text or a link from the page). */
function hasFiles(e: DragEvent): boolean {
  return Array.from(e.dataTransfer?.types ?? []).includes('Files')
}

/**
 * Files dragged onto an area: `over` while a drag with files is above it (for a "drop
 * here" overlay), `onFiles` with the files when they are dropped. Bind the returned
 * handlers to the area's dragenter, dragover, dragleave and drop. Files dropped elsewhere
 * on the page are ignored instead of replacing the app. Call from a component's setup.
 */
export function useFileDrop(onFiles: (files: File[]) => void) {
  const over = ref(false)
  // dragenter/dragleave fire for every child crossed: count them.
  let depth = 0

  function onDragEnter(e: DragEvent): void {
    if (!hasFiles(e)) return
    e.preventDefault()
    depth++
    over.value = true
  }

  function onDragOver(e: DragEvent): void {
    if (!hasFiles(e)) return
    e.preventDefault() // allows the drop
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'
    over.value = true
  }

  function onDragLeave(e: DragEvent): void {
    if (!hasFiles(e)) return
    depth = Math.max(0, depth - 1)
    if (depth === 0) over.value = false
  }

  function onDrop(e: DragEvent): void {
    if (!hasFiles(e)) return
    e.preventDefault()
    depth = 0
    over.value = false
    const files = Array.from(e.dataTransfer?.files ?? [])
    if (files.length > 0) onFiles(files)
  }

  // A drop that misses the area must not open the file in the tab (leaving the app).
  function guard(e: DragEvent): void {
    if (hasFiles(e) && !e.defaultPrevented) {
      e.preventDefault()
      if (e.type === 'dragover' && e.dataTransfer) e.dataTransfer.dropEffect = 'none'
    }
  }
  onMounted(() => {
    window.addEventListener('dragover', guard)
    window.addEventListener('drop', guard)
  })
  onBeforeUnmount(() => {
    window.removeEventListener('dragover', guard)
    window.removeEventListener('drop', guard)
  })

  return { over, onDragEnter, onDragOver, onDragLeave, onDrop }
}
