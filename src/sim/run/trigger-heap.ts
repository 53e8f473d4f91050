/**
 * Price triggers of many accounts, so a step visits only the accounts whose trigger the price
 * crossed (SIMRUN-010). Two heaps: "fall" triggers fire when the price is at or below their key
 * (a long's liquidation price, a long's stop, a short's target), "rise" triggers when it is at or
 * above it. Entries are never removed in place: an account's entries carry its version, and an
 * entry whose version is no longer current is dropped when it surfaces.
 */
import type { Fixed } from '../../core/num/fixed.ts'

/** What a trigger stands for. */
export type TriggerKind = 'liquidation' | 'stop_loss' | 'take_profit' | 'daily_loss_limit'

export interface TriggerEntry {
  readonly key: Fixed
  readonly account: number
  readonly kind: TriggerKind
  readonly version: number
}

/** A binary heap ordered by `before` (the entry that should surface first). */
class Heap {
  private readonly items: TriggerEntry[] = []
  constructor(private readonly before: (a: TriggerEntry, b: TriggerEntry) => boolean) {}

  get size(): number {
    return this.items.length
  }

  peek(): TriggerEntry | undefined {
    return this.items[0]
  }

  push(entry: TriggerEntry): void {
    const items = this.items
    items.push(entry)
    let index = items.length - 1
    while (index > 0) {
      const parent = (index - 1) >> 1
      const parentItem = items[parent] as TriggerEntry
      if (!this.before(entry, parentItem)) break
      items[index] = parentItem
      index = parent
    }
    items[index] = entry
  }

  pop(): TriggerEntry | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    let index = 0
    const length = items.length
    for (;;) {
      const left = 2 * index + 1
      if (left >= length) break
      const right = left + 1
      const leftItem = items[left] as TriggerEntry
      const rightItem = items[right]
      const child = rightItem !== undefined && this.before(rightItem, leftItem) ? right : left
      const childItem = items[child] as TriggerEntry
      if (!this.before(childItem, last)) break
      items[index] = childItem
      index = child
    }
    items[index] = last
    return top
  }
}

/** Fall and rise triggers with per-account versions. */
export class TriggerBook {
  /** Highest key first: fires while price ≤ key. */
  private readonly fall = new Heap((a, b) => a.key > b.key)
  /** Lowest key first: fires while price ≥ key. */
  private readonly rise = new Heap((a, b) => a.key < b.key)
  private readonly versions: Uint32Array

  constructor(accountCount: number) {
    this.versions = new Uint32Array(accountCount)
  }

  /** Invalidates every trigger of an account; returns the new version to tag its new triggers with. */
  renew(account: number): number {
    const next = ((this.versions[account] ?? 0) + 1) >>> 0
    this.versions[account] = next
    return next
  }

  versionOf(account: number): number {
    return this.versions[account] ?? 0
  }

  /** Adds a trigger that fires when the price is at or below `key`. */
  addFall(entry: TriggerEntry): void {
    this.fall.push(entry)
  }

  /** Adds a trigger that fires when the price is at or above `key`. */
  addRise(entry: TriggerEntry): void {
    this.rise.push(entry)
  }

  /** Removes and returns every current trigger that `price` fires, fall triggers first. */
  takeFired(price: Fixed): TriggerEntry[] {
    const fired: TriggerEntry[] = []
    this.drain(this.fall, (key) => price <= key, fired)
    this.drain(this.rise, (key) => price >= key, fired)
    return fired
  }

  /** Entries held, stale ones included (for diagnostics). */
  get size(): number {
    return this.fall.size + this.rise.size
  }

  private drain(heap: Heap, fires: (key: Fixed) => boolean, out: TriggerEntry[]): void {
    for (;;) {
      const top = heap.peek()
      if (top === undefined) return
      if (top.version !== this.versionOf(top.account)) {
        heap.pop()
        continue
      }
      if (!fires(top.key)) return
      heap.pop()
      out.push(top)
    }
  }
}
