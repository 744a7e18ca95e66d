import { onScopeDispose, shallowRef, type ShallowRef } from 'vue'

/**
 * A blob: URL for a local file (e.g. an avatar preview). Setting a new file revokes the
 * old URL; so does leaving the component (scope) that owns it.
 */
export function useObjectUrl(): { url: Readonly<ShallowRef<string | null>>; set: (file: Blob | null) => void } {
  const url = shallowRef<string | null>(null)

  function revoke(): void {
    if (url.value) URL.revokeObjectURL(url.value)
    url.value = null
  }

  function set(file: Blob | null): void {
    revoke()
    if (file) url.value = URL.createObjectURL(file)
  }

  onScopeDispose(revoke)
  return { url, set }
}
