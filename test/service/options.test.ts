/**
 * Option markets through the service (docs/spec/options.md, OPT-023): `POST /v1/prices` takes an
 * option's implied volatility with its mark, refuses one without it, and the views value option
 * positions (margin with the rule set's portfolio offsets).
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './harness.ts'

/** The example's put, expiring in 2099: the service runs on the wall clock. */
function rulesFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'lor-options-')), 'rules.json')
  const example = join(
    import.meta.dirname,
    '..',
    '..',
    'examples/rules/deribit-pm-btc-options.json',
  )
  const later = Date.UTC(2099, 2, 27, 8)
  const markets = [
    'BTC-27MAR26-50000-P',
    'BTC-27MAR26-60000-P',
    'BTC-27MAR26-60000-C',
    'BTC-27MAR26-70000-C',
  ].map((market) => ({ market, expiryTimeMs: later }))
  writeFileSync(file, JSON.stringify({ extends: example, version: 'test-2099', markets }))
  return file
}

const PUT = 'BTC-27MAR26-60000-P'

describe('OPT-023: option marks over HTTP', () => {
  let harness: Harness
  beforeAll(async () => {
    harness = await startHarness({
      extra: { rules: rulesFile() },
    })
  })
  afterAll(async () => {
    await harness.close()
  })

  it('OPT-023: a mark carries the volatility; an option mark without one is refused', async () => {
    const post = (path: string, body: unknown) => harness.request('POST', path, { body })
    for (const [account, amount] of [
      ['alice', '0.3'],
      ['carol', '0.5'],
    ])
      expect((await post('/v1/deposits', { account, asset: 'BTC', amount })).status).toBe(200)
    expect((await post('/v1/prices', { market: 'BTC-PERPETUAL', mark: '60000' })).status).toBe(200)
    const missing = await post('/v1/prices', { market: PUT, mark: '0.0665' })
    expect(missing.status).toBe(422)
    expect(JSON.stringify(missing.body)).toContain('volatility_missing')
    const marked = await post('/v1/prices', { market: PUT, mark: '0.0665', volatility: '0.6' })
    expect(marked.status).toBe(200)
    expect(JSON.stringify(marked.body)).toContain('"volatility":"0.6"')
    const traded = await post('/v1/fills', {
      account: 'alice',
      market: PUT,
      size: '1',
      price: '0.0665',
      liquidity: 'taker',
      counterparty: 'carol',
    })
    expect(traded.status).toBe(200)
    const margin = await harness.request('GET', '/v1/accounts/carol/margin')
    expect(margin.status).toBe(200)
    const group = (margin.body as { groups: { portfolio: { markets: string[] } | null }[] })
      .groups[0]
    expect(group?.portfolio?.markets).toEqual([PUT])
  })
})
