import { afterEach, describe, expect, it } from 'vitest'
import { mount, type VueWrapper } from '@vue/test-utils'
import { defineComponent, h } from 'vue'
import { useFileDrop } from './useFileDrop'

let wrapper: VueWrapper | undefined
afterEach(() => wrapper?.unmount())

/** A drag event carrying `files` (or text when none). */
function drag(type: string, files: File[] = []): DragEvent {
  const ev = new Event(type, { bubbles: true, cancelable: true }) as DragEvent
  Object.defineProperty(ev, 'dataTransfer', {
    value: { types: files.length ? ['Files'] : ['text/plain'], files, dropEffect: 'none' },
  })
  return ev
}

function mountArea() {
  const dropped: File[][] = []
  let drop!: ReturnType<typeof useFileDrop>
  wrapper = mount(
    defineComponent({
      setup() {
        drop = useFileDrop((files) => dropped.push(files))
        return () =>
          h('div', { class: 'area', onDragenter: drop.onDragEnter, onDragover: drop.onDragOver, onDragleave: drop.onDragLeave, onDrop: drop.onDrop }, [
            h('span', { class: 'child' }),
          ])
      },
    }),
    { attachTo: document.body },
  )
  return { dropped, drop, area: wrapper.get('.area').element, child: wrapper.get('.child').element }
}

const png = new File(['x'], 'a.png', { type: 'image/png' })

describe('useFileDrop', () => {
  it('shows "over" while files are dragged above the area, children included, and hands over the drop', () => {
    const { dropped, drop, area, child } = mountArea()
    area.dispatchEvent(drag('dragenter', [png]))
    child.dispatchEvent(drag('dragenter', [png]))
    area.dispatchEvent(drag('dragleave', [png])) // left the area for its child: still over
    expect(drop.over.value).toBe(true)
    const over = drag('dragover', [png])
    child.dispatchEvent(over)
    expect(over.defaultPrevented).toBe(true)
    const ev = drag('drop', [png])
    child.dispatchEvent(ev)
    expect(ev.defaultPrevented).toBe(true)
    expect(drop.over.value).toBe(false)
    expect(dropped).toEqual([[png]])
  })

  it('ignores dragged text', () => {
    const { drop, area } = mountArea()
    const ev = drag('dragenter')
    area.dispatchEvent(ev)
    expect(ev.defaultPrevented).toBe(false)
    expect(drop.over.value).toBe(false)
  })

  it('a file dropped beside the area does not replace the app', () => {
    mountArea()
    const ev = drag('drop', [png])
    document.body.dispatchEvent(ev)
    expect(ev.defaultPrevented).toBe(true)
  })
})
