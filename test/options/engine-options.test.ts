// OPT-020..OPT-027: option markets in rule sets, accounts and the engine.
import { describe, expect, it } from 'vitest'
import {
  type Command,
  createEngineState,
  type EngineEvent,
  type EngineState,
  execute,
  markPrices,
  optionValuationOf,
} from '../../src/core/engine/index.ts'
import { evaluateAccount } from '../../src/core/margin/evaluate.ts'
import { black76 } from '../../src/core/options/black76.ts'
import { optionModelMark } from '../../src/core/options/option-mark.ts'
import { timeToExpiryYears } from '../../src/core/options/option.ts'
import { add, type Fixed, fixedOf, formatFixed, sub } from '../../src/core/num/fixed.ts'
import { gridPortfolioMargin } from '../../src/core/portfolio/grid.ts'
import { parseRuleSet, ruleSetToJson } from '../../src/core/rules/parse.ts'
import type { RuleSet } from '../../src/core/rules/rule-set.ts'
import { decodeCommandText, encodeCommand } from '../../src/journal/codec.ts'
import { loadRuleSet, mergeRuleSetPatch } from '../../src/presets/index.ts'
import { linearCallPatch } from './linear-call.ts'

const f = fixedOf
const RULES_FILE = 'examples/rules/deribit-pm-btc-options.json'
const PUT = 'BTC-27MAR26-60000-P'
const CALL = 'BTC-27MAR26-70000-C'
const PERP = 'BTC-PERPETUAL'
/** 2026-02-27T08:00:00Z, 28 days before the options' expiry. */
const START = 1_772_179_200_000
const EXPIRY = 1_774_598_400_000
const DAY = 86_400_000

function load(path: string, patches: unknown[] = []): RuleSet {
  const loaded = loadRuleSet(path, { patches })
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues))
  return loaded.ruleSet
}

const deribitOptions = load(RULES_FILE, [
  { markets: [{ market: PERP, makerFeeRate: '0', takerFeeRate: '0' }] },
])

/** binance-usdm's BTCUSDT with a USDT-settled call on it, margined together by SPAN. */
const linearOptions = load('binance-usdm', [linearCallPatch()])

class Run {
  readonly state: EngineState
  private sequence = 0
  timeMs = START

  constructor(rules: RuleSet, balances: Record<string, [string, string]>) {
    this.state = createEngineState(rules)
    for (const [account, [asset, amount]] of Object.entries(balances))
      this.ok({ type: 'deposit', account, asset, amount: f(amount) })
  }

  submit(command: Command) {
    this.sequence += 1
    return execute(this.state, command, { sequence: this.sequence, timestampMs: this.timeMs })
  }

  ok(command: Command): readonly EngineEvent[] {
    const outcome = this.submit(command)
    if (outcome.result.status !== 'ok') {
      this.sequence -= 1
      throw new Error(`${command.type} refused: ${JSON.stringify(outcome.result)}`)
    }
    return outcome.events
  }

  /** `account` takes `size` contracts of `market` from `counterparty` at `price` (taker). */
  trade(account: string, market: string, size: string, price: string, counterparty: string) {
    return this.ok({
      type: 'trade',
      account,
      market,
      size: f(size),
      price: f(price),
      liquidity: 'taker',
      counterparty,
    })
  }

  refusal(command: Command): string {
    const outcome = this.submit(command)
    this.sequence -= 1
    return outcome.result.status
  }

  risk(account: string) {
    const state = this.state
    const found = state.accounts.get(account)
    if (found === undefined) throw new Error(account)
    return evaluateAccount(
      state.rules,
      found,
      markPrices(state),
      undefined,
      optionValuationOf(state, this.timeMs),
    )
  }
}

function deribitRun(): Run {
  const run = new Run(deribitOptions, {
    alice: ['BTC', '0.3'],
    bob: ['BTC', '2'],
    carol: ['BTC', '0.5'],
  })
  run.ok({ type: 'mark_price', market: PERP, mark: f('60000') })
  run.ok({ type: 'mark_price', market: PUT, mark: f('0.0665'), volatility: f('0.6') })
  return run
}

describe('option markets in rule sets (OPT-020..OPT-022)', () => {
  it('OPT-020: an option market reads, and writes back what it read', () => {
    const put = deribitOptions.markets.get(PUT)?.instrument
    expect(put?.kind).toBe('option')
    expect(put?.option).toEqual({
      underlyingMarket: PERP,
      right: 'put',
      strike: f('60000'),
      rate: f('0'),
    })
    expect(put?.expiryTimeMs).toBe(EXPIRY)
    for (const rules of [deribitOptions, linearOptions]) {
      const again = parseRuleSet(ruleSetToJson(rules))
      expect(again.ok).toBe(true)
      if (again.ok) expect(again.ruleSet).toEqual(rules)
    }
  })

  const base = ruleSetToJson(deribitOptions)
  const withPut = (changes: Record<string, unknown>) =>
    mergeRuleSetPatch(base, { markets: [{ market: PUT, ...changes }] })
  function withoutPutExpiry(): unknown {
    const document = JSON.parse(JSON.stringify(base)) as { markets: Record<string, unknown>[] }
    for (const market of document.markets) if (market.market === PUT) delete market.expiryTimeMs
    return document
  }
  it.each<[string, unknown, string, string]>([
    [
      'unknown underlying',
      withPut({ option: { underlying: 'NOPE', right: 'put', strike: '60000' } }),
      'unknown_market',
      'markets[3].option.underlying',
    ],
    [
      'an option as underlying',
      withPut({ option: { underlying: CALL, right: 'put', strike: '60000' } }),
      'underlying_is_option',
      'markets[3].option.underlying',
    ],
    [
      'underlying on other assets',
      withPut({ option: { underlying: 'ETH-PERPETUAL', right: 'put', strike: '60000' } }),
      'underlying_asset_mismatch',
      'markets[3].option.underlying',
    ],
    [
      'a right that is not call or put',
      withPut({ option: { underlying: PERP, right: 'straddle', strike: '60000' } }),
      'unknown_value',
      'markets[3].option.right',
    ],
    ['no expiry', withoutPutExpiry(), 'missing_expiry', 'markets[3].expiryTimeMs'],
    [
      'settled in a third asset',
      withPut({ settlementAsset: 'USDC' }),
      'settlement_asset_mismatch',
      'markets[3].settlementAsset',
    ],
    [
      'option terms on a perpetual',
      mergeRuleSetPatch(base, {
        markets: [{ market: PERP, option: { underlying: PERP, right: 'put', strike: '1' } }],
      }),
      'option_terms_on_non_option',
      'markets[0].option',
    ],
    [
      'not in the portfolio model',
      mergeRuleSetPatch(base, {
        portfolioMargin: {
          markets: [
            { market: PERP, product: 'BTC' },
            { market: CALL, product: 'BTC' },
          ],
        },
      }),
      'option_not_portfolio_margined',
      'markets[2].market',
    ],
    [
      'underlying outside the option’s product',
      mergeRuleSetPatch(base, {
        portfolioMargin: {
          markets: [
            { market: 'ETH-PERPETUAL', product: 'ETH' },
            { market: 'BTC-27MAR26-50000-P', product: 'BTC' },
            { market: PUT, product: 'BTC' },
            { market: 'BTC-27MAR26-60000-C', product: 'BTC' },
            { market: CALL, product: 'BTC' },
          ],
        },
      }),
      'option_underlying_not_in_product',
      'markets[3].option.underlying',
    ],
  ])('OPT-021/OPT-022: %s is refused', (_name, document, code, path) => {
    const parsed = parseRuleSet(JSON.parse(JSON.stringify(document)))
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) expect(parsed.issues).toContainEqual(expect.objectContaining({ code, path }))
  })
})

describe('option marks and commands (OPT-023)', () => {
  it('OPT-023: an option mark carries its implied volatility, and only an option mark does', () => {
    const run = deribitRun()
    expect(run.refusal({ type: 'mark_price', market: PUT, mark: f('0.07') })).toBe(
      'volatility_missing',
    )
    expect(
      run.refusal({ type: 'mark_price', market: PERP, mark: f('60000'), volatility: f('0.5') }),
    ).toBe('volatility_not_applicable')
    expect(
      run.refusal({ type: 'mark_price', market: PUT, mark: f('0.07'), volatility: f('-0.1') }),
    ).toBe('volatility_negative')
    expect(run.state.prices.get(PUT)).toEqual({
      mark: f('0.0665'),
      index: null,
      volatility: f('0.6'),
    })
    expect(run.state.prices.get(PERP)).toEqual({ mark: f('60000'), index: null })
  })

  it('OPT-022: options are cross-margined only and pay no funding', () => {
    const run = deribitRun()
    expect(
      run.refusal({
        type: 'set_margin_mode',
        account: 'alice',
        market: PUT,
        marginMode: 'isolated',
      }),
    ).toBe('option_cross_only')
    expect(run.refusal({ type: 'funding', market: PUT, rate: f('0.0001') })).toBe(
      'funding_not_applicable',
    )
  })

  it('ACC-001: a linear mark off the tick grid is refused (values at the mark stay exact)', () => {
    const run = new Run(linearOptions, { alice: ['USDT', '1000'] })
    expect(
      run.refusal({ type: 'mark_price', market: 'BTCUSDT', mark: f('60000.123456789012345678') }),
    ).toBe('price_not_multiple_of_tick')
  })

  it('OPT-023: a mark with its volatility goes through the journal codec unchanged', () => {
    const command: Command = {
      type: 'mark_price',
      market: PUT,
      mark: f('0.0665'),
      volatility: f('0.6'),
    }
    const decoded = decodeCommandText(encodeCommand(command))
    expect(decoded).toEqual({ ok: true, command })
  })
})

describe('options margined with futures (OPT-024)', () => {
  it('OPT-024: a protective put lowers the requirement of a long perpetual, with the offset itemised', () => {
    const run = deribitRun()
    run.trade('alice', PERP, '6000', '60000', 'bob')
    const naked = run.risk('alice').groups[0]
    run.trade('alice', PUT, '1', '0.0665', 'carol')
    const hedged = run.risk('alice').groups[0]
    const portfolio = hedged?.portfolio
    if (naked?.portfolio == null || portfolio == null) throw new Error('no portfolio margin')
    // Naked: the grid's −10 % cell, 1 × 0.1 ÷ 0.9 BTC (examples/deribit-pm.yaml).
    expect(formatFixed(naked.portfolio.maintenanceMargin)).toBe('0.111111111111111112')
    expect(portfolio.maintenanceMargin < naked.portfolio.maintenanceMargin).toBe(true)
    expect(portfolio.maintenanceMargin < portfolio.legsTotal).toBe(true)
    expect(portfolio.markets).toEqual([PUT, PERP].sort())
    expect(sum(portfolio.offsets.map((offset) => offset.amount))).toBe(
      sub(portfolio.maintenanceMargin, portfolio.legsTotal),
    )
    expect(portfolio.offsets.some((offset) => offset.amount < 0n)).toBe(true)
    // The same requirement from the grid model fed by hand: the put revalued by Black-76 at the
    // perpetual's mark, 60 % volatility and 28 days to expiry; the perpetual as 1 BTC of future.
    const direct = gridPortfolioMargin(
      grid(deribitOptions),
      [
        { kind: 'future', market: PERP, product: 'BTC', tier: 'PERPETUAL', price: f('60000') },
        {
          kind: 'option',
          market: PUT,
          product: 'BTC',
          tier: '27MAR26',
          right: 'put',
          strike: f('60000'),
          underlyingPrice: f('60000'),
          timeToExpiryYears: timeToExpiryYears(EXPIRY, START),
          volatility: f('0.6'),
          rate: f('0'),
        },
      ],
      [
        { market: PERP, size: f('1') },
        { market: PUT, size: f('1') },
      ],
    )
    expect(portfolio.maintenanceMargin).toBe(direct.maintenanceMargin)
    expect(portfolio.initialMargin).toBe(direct.initialMargin)
    // OPT-024: an option has no liquidation price of its own mark.
    const put = hedged?.positions.find((position) => position.market === PUT)
    expect(put?.liquidationPrice).toBeNull()
    expect(put?.bankruptcyPrice).toBeNull()
  })
})

describe('option marks follow their underlying (OPT-025, OPT-027)', () => {
  it('OPT-027: a mark of the underlying re-marks its options at their Black-76 value, on the tick', () => {
    const run = deribitRun()
    run.timeMs = START + DAY
    const events = run.ok({ type: 'mark_price', market: PERP, mark: f('45000') })
    const years = timeToExpiryYears(EXPIRY, START + DAY)
    const usd = black76({
      right: 'put',
      forward: f('45000'),
      strike: f('60000'),
      timeToExpiryYears: years,
      volatility: f('0.6'),
      rate: f('0'),
    }).value
    // 27 days left: 15,132.3 USD ÷ 45,000 = 0.33627… BTC, on the 0.0001 tick.
    expect(formatFixed(usd).slice(0, 6)).toBe('15132.')
    expect(run.state.prices.get(PUT)?.mark).toBe(f('0.3363'))
    expect(events).toContainEqual({
      type: 'mark_updated',
      market: PUT,
      mark: f('0.3363'),
      index: null,
      volatility: f('0.6'),
    })
  })

  it('OPT-027: time decays an option: the same underlying mark later gives a lower at-the-money premium', () => {
    const instrument = deribitOptions.markets.get(PUT)?.instrument
    if (instrument === undefined) throw new Error(PUT)
    const now = optionModelMark(instrument, f('60000'), f('0.6'), START)
    const later = optionModelMark(instrument, f('60000'), f('0.6'), START + 14 * DAY)
    const atExpiry = optionModelMark(instrument, f('60000'), f('0.6'), EXPIRY)
    if (now === undefined || later === undefined) throw new Error('no model mark')
    expect(later < now).toBe(true)
    expect(atExpiry).toBe(f('0'))
  })

  it('OPT-025: a fall of the underlying alone puts a naked option writer below maintenance', () => {
    const run = deribitRun()
    run.trade('alice', PUT, '1', '0.0665', 'carol')
    run.timeMs = START + 2 * DAY
    const events = run.ok({ type: 'mark_price', market: PERP, mark: f('40000') })
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'account_below_maintenance', account: 'carol' }),
    )
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'liquidation_order_placed', account: 'carol', market: PUT }),
    )
    expect(events.some((event) => 'account' in event && event.account === 'alice')).toBe(false)
  })
})

describe('a new volatility decides at once (OPT-023)', () => {
  it('OPT-023: a writer put below maintenance by an option mark’s new volatility gets an order in that command', () => {
    const run = new Run(deribitOptions, { alice: ['BTC', '0.3'], carol: ['BTC', '0.15'] })
    run.ok({ type: 'mark_price', market: PERP, mark: f('60000') })
    run.ok({ type: 'mark_price', market: PUT, mark: f('0.0665'), volatility: f('0.6') })
    run.trade('alice', PUT, '1', '0.0665', 'carol')
    // At 150 % carol (0.15 BTC) still covers the grid; at 200 % she does not. The liquidation is
    // planned with the mark's own volatility, not the one the state held before it.
    const calm = run.ok({
      type: 'mark_price',
      market: PUT,
      mark: f('0.0665'),
      volatility: f('1.5'),
    })
    expect(calm.map((event) => event.type)).toEqual(['mark_updated'])
    const events = run.ok({
      type: 'mark_price',
      market: PUT,
      mark: f('0.0665'),
      volatility: f('2'),
    })
    expect(events.map((event) => event.type)).toEqual([
      'mark_updated',
      'account_below_maintenance',
      'liquidation_order_placed',
    ])
  })
})

describe('option expiry (OPT-026)', () => {
  const CALL_USDT = 'BTC-27MAR26-60000-C-USDT'
  function linearRun(): Run {
    const run = new Run(linearOptions, { alice: ['USDT', '10000'], bob: ['USDT', '10000'] })
    run.ok({ type: 'mark_price', market: 'BTCUSDT', mark: f('60000') })
    run.ok({ type: 'mark_price', market: CALL_USDT, mark: f('4000'), volatility: f('0.55') })
    run.trade('alice', CALL_USDT, '3', '4000', 'bob')
    return run
  }

  it('OPT-026: an expired call pays size × contract size × (settlement − strike), in the quote asset', () => {
    const run = linearRun()
    expect(run.refusal({ type: 'expire', market: CALL_USDT, settlementPrice: f('65000') })).toBe(
      'market_not_yet_expired',
    )
    run.timeMs = EXPIRY
    const events = run.ok({ type: 'expire', market: CALL_USDT, settlementPrice: f('65432.1') })
    // 3 × 0.01 × 5,432.1 = 162.963 received; premium paid 3 × 0.01 × 4,000 = 120.
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'expiry_settled',
        account: 'alice',
        realizedPnl: f('42.963'),
      }),
    )
    expect(run.state.accounts.get('alice')?.balances.get('USDT')).toBe(f('10042.963'))
    expect(run.state.accounts.get('bob')?.balances.get('USDT')).toBe(f('9957.037'))
    expect(run.state.accounts.get('alice')?.positions.size).toBe(0)
    expect(
      run.refusal({
        type: 'trade',
        account: 'alice',
        market: CALL_USDT,
        size: f('1'),
        price: f('100'),
        liquidity: 'taker',
        counterparty: 'bob',
      }),
    ).toBe('market_expired')
  })

  it('OPT-026: an out-of-the-money option expires worthless; the premium stays with the writer', () => {
    const run = linearRun()
    run.timeMs = EXPIRY
    run.ok({ type: 'expire', market: CALL_USDT, settlementPrice: f('55000') })
    expect(run.state.accounts.get('alice')?.balances.get('USDT')).toBe(f('9880'))
    expect(run.state.accounts.get('bob')?.balances.get('USDT')).toBe(f('10120'))
    const total = add(
      run.state.accounts.get('alice')?.balances.get('USDT') ?? f('0'),
      run.state.accounts.get('bob')?.balances.get('USDT') ?? f('0'),
    )
    expect(total).toBe(f('20000'))
  })
})

function sum(values: readonly Fixed[]): Fixed {
  return values.reduce((total, value) => add(total, value), f('0'))
}

function grid(rules: RuleSet) {
  const section = rules.portfolioMargin
  if (section?.model !== 'grid') throw new Error('not a grid rule set')
  return section.grid
}
