// Mounting helper for component specs: a fresh Pinia and the app's i18n in English.
import { mount, type ComponentMountingOptions } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import type { Component } from 'vue'
import { i18n } from '@/i18n'

export function mountApp<C extends Component>(component: C, options: ComponentMountingOptions<C> = {}) {
  const pinia = createPinia()
  setActivePinia(pinia)
  i18n.global.locale.value = 'en'
  return mount(component, {
    attachTo: document.body,
    ...options,
    global: { plugins: [pinia, i18n], ...options.global },
  } as ComponentMountingOptions<C>)
}

/** Lets pending promises (a mocked request) settle and Vue re-render. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0))
}
