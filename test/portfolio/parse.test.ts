import { describe, expect, it } from 'vitest'
import { parsePortfolio } from '../../src/core/portfolio/parse.ts'

const valid = {
  model: 'span',
  span: { products: [{ id: 'BTC', priceScanRange: '9000' }] },
  instruments: [{ market: 'BTC-DEC', kind: 'future', product: 'BTC', tier: 'DEC', price: '60000' }],
  positions: [{ market: 'BTC-DEC', size: '1' }],
}

describe('PFM-009: portfolio files are validated whole', () => {
  it('accepts a minimal SPAN portfolio with the standard scenarios (X = 3, cover 0.35)', () => {
    const parsed = parsePortfolio(valid)
    expect(parsed.ok).toBe(true)
    if (parsed.ok && parsed.portfolio.model === 'span')
      expect(parsed.portfolio.rules.scenarios).toHaveLength(16)
  })

  it('reports every problem with its path and a stable code', () => {
    const parsed = parsePortfolio({
      ...valid,
      span: {
        products: [{ id: 'BTC', priceScanRange: 9000 }],
        interSpreads: [
          { id: 'X', creditRate: '1.5', legs: [{ product: 'ETH', deltaRatio: '1', side: 'A' }] },
        ],
      },
      instruments: [{ market: 'BTC-DEC', kind: 'swap', product: 'BTC' }],
      positions: [{ market: 'BTC-MAR', size: '0' }],
    })
    expect(parsed.ok).toBe(false)
    if (parsed.ok) return
    const found = parsed.issues.map((issue) => [issue.code, issue.path])
    expect(found).toContainEqual(['not_a_decimal_string', 'span.products[0].priceScanRange'])
    expect(found).toContainEqual(['not_a_fraction', 'span.interSpreads[0].creditRate'])
    expect(found).toContainEqual(['one_sided_spread', 'span.interSpreads[0].legs'])
    expect(found).toContainEqual(['unknown_choice', 'instruments[0].kind'])
    expect(found).toContainEqual(['zero_size', 'positions[0].size'])
    expect(found).toContainEqual(['unknown_market', 'positions[0].market'])
  })

  it('refuses a published risk array of the wrong length', () => {
    const parsed = parsePortfolio({
      ...valid,
      instruments: [
        {
          market: 'BTC-DEC',
          kind: 'risk_array',
          product: 'BTC',
          riskArray: ['1', '2'],
          delta: '1',
        },
      ],
    })
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) expect(parsed.issues.map((issue) => issue.code)).toEqual(['risk_array_length'])
  })
})
