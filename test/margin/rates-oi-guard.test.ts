/** MRG-005: an upper cap of 0 switches open-interest scaling off (dYdX genesis writes caps 0/0). */
import { describe, expect, it } from 'vitest'
import { openInterestInitialRate } from '../../src/core/margin/rates.ts'
import { fixedOf, formatFixed } from '../../src/core/num/fixed.ts'

describe('MRG-005 open-interest caps of zero', () => {
  it('keeps the base fraction at any open interest', () => {
    const rate = openInterestInitialRate(
      fixedOf('0.05'),
      fixedOf('0'),
      fixedOf('0'),
      fixedOf('1000000000'),
    )
    expect(formatFixed(rate)).toBe('0.05')
  })
  it('still scales when caps are set (W9: 37.5m of 25m/50m → 60%)', () => {
    const rate = openInterestInitialRate(
      fixedOf('0.2'),
      fixedOf('25000000'),
      fixedOf('50000000'),
      fixedOf('37500000'),
    )
    expect(formatFixed(rate)).toBe('0.6')
  })
})
