/**
 * The one-pass canonical encoder of results and events (docs/spec/journal.md, JNL-003, JNL-011):
 * `canonicalJsonOfData` writes exactly `canonicalJson(toCanonicalValue(value))`, decimals exactly
 * as `formatFixed`.
 */
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { InvariantError } from '../../src/core/assert.ts'
import { toCanonicalValue } from '../../src/core/engine/canonical.ts'
import { type Fixed, formatFixed } from '../../src/core/num/fixed.ts'
import { canonicalJson, canonicalJsonOfData, decimalText } from '../../src/journal/canonical.ts'

const key = fc.oneof(
  fc.constantFrom('type', 'account', 'size', '10', '2', '0', '__proto__', 'Ω', 'a b', 'Z'),
  fc.string({ maxLength: 6 }),
)
const leaf = fc.oneof(
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }),
  fc.bigInt({ min: -(10n ** 19n), max: 10n ** 19n }),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
)
const data = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object'), tie('map')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(key, fc.oneof(tie('value'), fc.constant(undefined)), { maxKeys: 5 }),
  map: fc
    .uniqueArray(fc.tuple(key, tie('value')), { maxLength: 4, selector: ([name]) => name })
    .map((entries) => new Map(entries)),
})).value

describe('canonicalJsonOfData (JNL-003)', () => {
  test.prop([data], { numRuns: 400, seed: 20_261_124 })(
    'writes the same text as canonicalJson(toCanonicalValue(value))',
    (value) => {
      expect(canonicalJsonOfData(value)).toBe(canonicalJson(toCanonicalValue(value)))
    },
  )

  test.prop([fc.bigInt({ min: -(10n ** 45n), max: 10n ** 45n })], {
    numRuns: 1_000,
    seed: 20_261_124,
  })('writes decimals as formatFixed does', (value) => {
    expect(decimalText(value as Fixed)).toBe(formatFixed(value as Fixed))
  })

  it('writes the edges of decimals as formatFixed does', () => {
    for (const value of [0n, 1n, -1n, 10n ** 18n, -(10n ** 18n), 10n ** 17n, 123n * 10n ** 16n])
      expect(decimalText(value as Fixed)).toBe(formatFixed(value as Fixed))
  })

  it('refuses what the two steps refuse', () => {
    expect(() => canonicalJsonOfData({ rate: 0.5 })).toThrow(TypeError)
    expect(() => canonicalJsonOfData({ rate: Number.NaN })).toThrow(InvariantError)
    expect(() => canonicalJsonOfData([undefined])).toThrow(InvariantError)
    expect(() => canonicalJsonOfData({ at: () => 1 })).toThrow(InvariantError)
  })
})
