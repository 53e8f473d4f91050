// OPT-031: option fees on the underlying, capped at a share of the premium (Deribit's rule).
import { describe, expect, it } from 'vitest'
import {
  type Command,
  createEngineState,
  type EngineState,
  execute,
} from '../../src/core/engine/index.ts'
import { type Fixed, fixedOf, formatFixed } from '../../src/core/num/fixed.ts'
import { parseRuleSet, ruleSetToJson } from '../../src/core/rules/parse.ts'
import type { RuleSet } from '../../src/core/rules/rule-set.ts'
import { loadRuleSet } from '../../src/presets/index.ts'
import { LINEAR_CALL, linearCallPatch } from './linear-call.ts'

const f = fixedOf
const PERP = 'BTC-PERPETUAL'
const PUT = 'BTC-27MAR26-60000-P'
/** 2026-02-27T08:00:00Z, 28 days before the options' expiry. */
const START = 1_772_179_200_000

function load(path: string, patches: unknown[]): RuleSet {
  const loaded = loadRuleSet(path, { patches })
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues))
  return loaded.ruleSet
}

/** Deribit's BTC option fees (support.deribit.com, "Fees"): 0.03 % of the underlying, cap 12.5 %. */
const deribitFees = load('examples/rules/deribit-pm-btc-options.json', [
  {
    markets: [
      {
        market: PUT,
        makerFeeRate: '0.0003',
        takerFeeRate: '0.0003',
        liquidationFeeRate: '0.0019',
        optionFees: { premiumCap: '0.125' },
      },
    ],
  },
])

/** A USDT-settled call on BTCUSDT charging 0.05 % of the underlying (Deribit's USDC linear taker). */
const linearFees = load('binance-usdm', [
  linearCallPatch({
    makerFeeRate: '0.0001',
    takerFeeRate: '0.0005',
    optionFees: { premiumCap: '0.125' },
  }),
])

function engine(rules: RuleSet, asset: string, marks: readonly Command[]) {
  const state: EngineState = createEngineState(rules)
  let sequence = 0
  const submit = (command: Command) =>
    execute(state, command, { sequence: ++sequence, timestampMs: START })
  for (const account of ['buyer', 'seller'])
    submit({ type: 'deposit', account, asset, amount: f('1000') })
  for (const mark of marks) expect(submit(mark).result.status).toBe('ok')
  /** The taker's fee of buying `size` at `price`, or the refusal's code. */
  const takerFee = (market: string, size: string, price: string): string => {
    const outcome = submit({
      type: 'trade',
      account: 'buyer',
      counterparty: 'seller',
      market,
      size: f(size),
      price: f(price),
      liquidity: 'taker',
    })
    if (outcome.result.status !== 'ok') return outcome.result.status
    const fill = outcome.events.find(
      (event) => event.type === 'fill_applied' && event.account === 'buyer',
    )
    return fill?.type === 'fill_applied' ? formatFixed(fill.fee) : 'no fill'
  }
  return { takerFee, submit }
}

describe('OPT-031: option fees on the underlying, capped at a share of the premium', () => {
  const optionMark = (market: string, mark: Fixed): Command => ({
    type: 'mark_price',
    market,
    mark,
    volatility: f('0.6'),
  })

  it.each([
    // Deribit's worked example: "if an option is traded at 0.0001 BTC, the taker fee will be
    // 0.0000125 BTC (instead of 0.0003 BTC), which is calculated as 12.5% of 0.0001 BTC".
    ['1', '0.0001', '0.0000125'],
    // 0.03 % of 1 BTC of underlying, well under 12.5 % of a 0.05 BTC premium.
    ['1', '0.05', '0.0003'],
    ['0.5', '0.0665', '0.00015'],
    // The cap and the rate meet at a premium of 0.0024 BTC.
    ['2', '0.0024', '0.0006'],
  ])('a coin-settled BTC option: %s at %s BTC pays %s BTC', (size, price, fee) => {
    const { takerFee } = engine(deribitFees, 'BTC', [
      { type: 'mark_price', market: PERP, mark: f('60000') },
      optionMark(PUT, f('0.0665')),
    ])
    expect(takerFee(PUT, size, price)).toBe(fee)
  })

  it('a linear option values its underlying at the underlying’s mark, and needs one', () => {
    const unmarked = engine(linearFees, 'USDT', [])
    expect(unmarked.takerFee(LINEAR_CALL, '1', '50')).toBe('mark_price_missing')
    const { takerFee } = engine(linearFees, 'USDT', [
      { type: 'mark_price', market: 'BTCUSDT', mark: f('60000') },
      optionMark(LINEAR_CALL, f('3000')),
    ])
    // 10 contracts of 0.01 BTC at 3,000: value 300 USDT; 0.05 % of 0.1 BTC × 60,000 = 3 USDT.
    expect(takerFee(LINEAR_CALL, '10', '3000')).toBe('3')
    // At 20 the premium value is 2 USDT: the cap, 12.5 % of it, holds the fee to 0.25 USDT.
    expect(takerFee(LINEAR_CALL, '10', '20')).toBe('0.25')
  })

  it('is checked as data: options only, a cap in [0, 1], and written back as read', () => {
    const json = ruleSetToJson(deribitFees) as unknown as {
      markets: Record<string, unknown>[]
    }
    const again = parseRuleSet(json)
    expect(again.ok && again.ruleSet.markets.get(PUT)?.optionFees).toEqual({
      premiumCap: f('0.125'),
    })
    const broken = structuredClone(json)
    const perp = broken.markets.find((market) => market.market === PERP)
    const put = broken.markets.find((market) => market.market === PUT)
    if (perp === undefined || put === undefined) throw new Error('markets')
    perp.optionFees = {}
    put.optionFees = { premiumCap: '1.5', floor: '0' }
    const parsed = parseRuleSet(broken)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok)
      expect(parsed.issues.map((found) => found.code).sort()).toEqual([
        'option_fees_on_non_option',
        'rate_out_of_range',
        'unknown_field',
      ])
  })
})
