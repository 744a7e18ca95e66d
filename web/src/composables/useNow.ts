import { onScopeDispose, ref, type Ref } from 'vue'

const now = ref(new Date())
let users = 0
let timer: ReturnType<typeof setInterval> | null = null

/** The current time, updated every 30 s while any component uses it (for "5 min ago"). */
export function useNow(): Ref<Date> {
  users++
  if (timer === null) {
    now.value = new Date()
    timer = setInterval(() => (now.value = new Date()), 30_000)
  }
  onScopeDispose(() => {
    users--
    if (users === 0 && timer !== null) {
      clearInterval(timer)
      timer = null
    }
  })
  return now
}
