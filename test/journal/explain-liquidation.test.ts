/**
 * JNL-017, JNL-018: `lor explain` tells a whole liquidation chain from a journal written by the
 * journaled engine under the binance-usdm preset: a mark drop puts alice and dave below
 * maintenance (LIQ-010), alice's order is partly filled above its bankruptcy price (surplus to the
 * fund, LIQ-033), the mark falls through the bankruptcy price, a fill there is refused (LIQ-030),
 * dave's takeover is paid by the insurance fund (LIQ-050), alice's exhausts it so bob, the short
 * with the highest Binance ADL score, is deleveraged (LIQ-051, ADL-010).
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixedOf } from '../../src/core/num/fixed.ts'
import { type AccountExplanation, explainAccount, explainEntry } from '../../src/journal/explain.ts'
import { type JournalCommand } from '../../src/journal/codec.ts'
import { JournaledEngine } from '../../src/journal/journaled-engine.ts'
import { openSqliteStore } from '../../src/journal/sqlite-store.ts'
import { loadRuleSet } from '../../src/presets/index.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const START_MS = 1_700_000_000_000
let directory = ''
let path = ''
/** Sequence of each step of the story, by name. */
const at: Record<string, number> = {}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'lor-explain-'))
  path = join(directory, 'crash.db')
  const loaded = loadRuleSet('binance-usdm')
  if (!loaded.ok) throw new Error('the binance-usdm preset does not load')
  const engine = await JournaledEngine.open({
    store: openSqliteStore(path),
    ruleSet: loaded.ruleSet,
  })
  let step = 0
  const submit = async (name: string, command: JournalCommand) => {
    step += 1
    const outcome = await engine.submit(command, {
      idempotencyKey: name,
      timestampMs: START_MS + step * 1000,
    })
    at[name] = outcome.sequence ?? 0
  }
  const f = fixedOf
  await submit('alice-deposit', {
    type: 'deposit',
    account: 'alice',
    asset: 'USDT',
    amount: f('1000'),
  })
  await submit('bob-deposit', { type: 'deposit', account: 'bob', asset: 'USDT', amount: f('5000') })
  await submit('carol-deposit', {
    type: 'deposit',
    account: 'carol',
    asset: 'USDT',
    amount: f('20000'),
  })
  await submit('fund', {
    type: 'insurance_fund_deposit',
    fund: 'BTCUSDT',
    asset: 'USDT',
    amount: f('100'),
  })
  await submit('dave-deposit', { type: 'deposit', account: 'dave', asset: 'USDT', amount: f('50') })
  await submit('mark-30000', { type: 'mark_price', market: 'BTCUSDT', mark: f('30000') })
  const trade = (account: string, size: string, counterparty?: string): JournalCommand => ({
    type: 'trade',
    account,
    market: 'BTCUSDT',
    size: f(size),
    price: f('30000'),
    liquidity: 'taker',
    ...(counterparty === undefined ? {} : { counterparty }),
  })
  await submit('alice-buys', trade('alice', '1', 'bob'))
  await submit('carol-sells', trade('carol', '-0.5'))
  await submit('dave-buys', trade('dave', '0.05'))
  await submit('mark-29100', { type: 'mark_price', market: 'BTCUSDT', mark: f('29100') })
  await submit('fill-part', {
    type: 'liquidation_fill',
    orderId: 'L1',
    size: f('0.4'),
    price: f('29050'),
  })
  await submit('mark-28000', { type: 'mark_price', market: 'BTCUSDT', mark: f('28000') })
  await submit('fill-refused', {
    type: 'liquidation_fill',
    orderId: 'L1',
    size: f('0.6'),
    price: f('28000'),
  })
  await submit('takeover-dave', { type: 'liquidation_takeover', orderId: 'L2' })
  await submit('takeover-alice', { type: 'liquidation_takeover', orderId: 'L1' })
  await engine.close()
})
afterAll(() => {
  rmSync(directory, { recursive: true, force: true })
})

async function history(account: string): Promise<AccountExplanation> {
  const store = openSqliteStore(path)
  try {
    return await explainAccount(store, account)
  } finally {
    await store.close()
  }
}

describe('JNL-018 the liquidated account', () => {
  it('tells the chain in causal order: trigger, order, fill, refusal, takeover, ADL, allocation', async () => {
    const { liquidations } = await history('alice')
    expect(liquidations).toHaveLength(1)
    const chain = liquidations[0]
    if (chain === undefined) throw new Error('no chain')
    expect(chain.role).toBe('liquidated')
    expect(chain.orderId).toBe('L1')
    expect(chain.rules).toMatchObject({ id: 'binance-usdm', version: '2021-06-01' })
    // The price that triggered it, and equity vs maintenance at that moment (0.4 % of 29,100).
    expect(chain.trigger).toMatchObject({
      sequence: at['mark-29100'],
      market: 'BTCUSDT',
      mark: '29100',
      previousMark: '30000',
      previousMarkSequence: at['mark-30000'],
      equity: '88',
      maintenanceMargin: '116.4',
      scope: 'cross',
    })
    expect(chain.steps.map((step) => [step.sequence, step.step])).toEqual([
      [at['mark-29100'], 'trigger'],
      [at['mark-29100'], 'order'],
      [at['fill-part'], 'fund_credit'],
      [at['fill-part'], 'fill'],
      [at['mark-28000'], 'below_maintenance'],
      [at['fill-refused'], 'refused'],
      [at['takeover-alice'], 'takeover'],
      [at['takeover-alice'], 'adl'],
      [at['takeover-alice'], 'fill'],
      [at['takeover-alice'], 'allocation'],
    ])
    const order = chain.steps[1]?.detail
    expect(order).toMatchObject({
      side: 'sell',
      size: '1',
      closesWholePosition: true,
      policy: 'full_close',
      limitPrice: '29012',
      bankruptcyPrice: '29012',
      rule: 'LIQ-011',
    })
    // 0.4 sold at 29,050, settled at the bankruptcy price 29,012: 0.4 × 38 = 15.2 to the fund.
    expect(chain.steps[3]?.detail).toMatchObject({
      surplusToFund: '15.2',
      feeToFund: '0',
      shortfall: '0',
      remaining: '0.6',
    })
    expect(chain.steps[2]?.detail).toMatchObject({
      fund: 'BTCUSDT',
      amount: '15.2',
      balance: '115.2',
    })
    expect(chain.steps[5]?.detail).toMatchObject({ code: 'fill_price_beyond_limit' })
    // 0.6 × (29,012 − 28,000) = 607.2 beyond bankruptcy; the exhaustion trigger sends it to ADL.
    expect(chain.steps[6]?.detail).toMatchObject({
      via: 'adl',
      estimatedShortfall: '607.2',
      adlTriggerActive: true,
    })
    expect(chain.outcome).toEqual({
      positionAfter: '0',
      remaining: '0',
      shortfall: '607.2',
      insuranceFund: '0',
      adl: '607.2',
      socialized: '0',
      uncovered: '0',
      chainExhausted: false,
    })
    expect(chain.text.at(-1)).toBe(
      "result: alice's BTCUSDT position 0; shortfall 607.2 covered by the insurance fund 0, ADL 607.2, socialized 0, uncovered 0",
    )
    expect(chain.text[1]).toBe(
      `entry ${String(at['mark-29100'])}: the mark of BTCUSDT moved to 29100 from 30000 (set by entry ${String(at['mark-30000'])}): alice is below maintenance in USDT: equity 88 < maintenance margin 116.4`,
    )
  })

  it('names the insurance-fund draw of a takeover the fund could pay', async () => {
    const [chain] = (await history('dave')).liquidations
    const draw = chain?.steps.find((step) => step.step === 'fund_draw')
    expect(draw?.sequence).toBe(at['takeover-dave'])
    expect(draw?.detail).toMatchObject({
      fund: 'BTCUSDT',
      amount: '-50.6',
      reason: 'shortfall_draw',
    })
    expect(draw?.text).toBe(
      'insurance fund BTCUSDT drew 50.6 USDT (draw to cover a shortfall, BTCUSDT): balance now 64.6 (INS-002)',
    )
    expect(chain?.outcome).toMatchObject({ shortfall: '50.6', insuranceFund: '50.6', adl: '0' })
  })
})

describe('JNL-018 the deleveraged winner', () => {
  it('says why it was chosen: rank and score under the named ranking formula, and the alternative', async () => {
    const { liquidations } = await history('bob')
    expect(liquidations).toHaveLength(1)
    const chain = liquidations[0]
    expect(chain?.role).toBe('deleveraged')
    expect(chain?.account).toBe('alice')
    expect(chain?.participation).toEqual([
      expect.objectContaining({
        step: 'adl',
        deleveragedAccount: 'bob',
        liquidatedAccount: 'alice',
        size: '0.6',
        price: '29012',
        rank: 1,
        rankingFormula: expect.objectContaining({ kind: 'binance_leverage_pnl' }),
        allocation: 'queue',
        alternativeAllocation: 'min_winner_haircut',
        alternativeClosed: '0.4',
        haircutVersusMark: '607.2',
      }),
    ])
    const why = chain?.text.find((line) => line.startsWith('why bob:'))
    expect(why).toMatch(/^why bob: rank 1 with score 0\.\d+ under binance_leverage_pnl: queue/)
  })

  it('describes the ADL event of the takeover entry with its formula', async () => {
    const store = openSqliteStore(path)
    try {
      const entry = await explainEntry(store, at['takeover-alice'] ?? 0)
      const adl = entry?.events.find((item) => item.event.type === 'adl_deleveraged')
      expect(adl?.text).toContain('rank 1, score 0.')
      expect(adl?.text).toContain('under binance_leverage_pnl (PnL percent')
      expect(adl?.detail).toMatchObject({ step: 'adl', rank: 1, eligibility: 'all_opposite' })
    } finally {
      await store.close()
    }
  })
})

describe('JNL-018 lor explain --account on the command line', () => {
  it('prints the winner’s chain as JSON and in words', async () => {
    const run = (...args: string[]) =>
      new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', MAIN, 'explain', '--db', path, ...args],
          { env: { ...process.env, LOR_DATABASE_URL: '' } },
          (error, stdout) => resolve({ code: error === null ? 0 : 1, stdout }),
        )
      })
    const json = await run('--account', 'bob', '--json')
    expect(json.code).toBe(0)
    const parsed = JSON.parse(json.stdout) as AccountExplanation
    expect(parsed.liquidations[0]?.participation[0]).toMatchObject({
      rank: 1,
      deleveragedAccount: 'bob',
    })
    const text = await run('--account', 'bob')
    expect(text.stdout).toContain('liquidations bob took part in (1), in causal order:')
    expect(text.stdout).toContain(
      'liquidation L1 of alice in BTCUSDT, under binance-usdm version 2021-06-01',
    )
    expect(text.stdout).toMatch(/- why bob: rank 1 with score/)
  }, 30_000)
})
