/**
 * The tick loop (SIMRUN-010..SIMRUN-019): one rule set, one population, one exogenous price path.
 *
 * Per step the exogenous price, moved by the current endogenous impact, becomes the mark. Accounts
 * whose trigger the mark crossed (liquidation price, stop-loss, take-profit, daily loss limit) are
 * found through a trigger book, so a quiet step costs nothing and the engine sees a mark only when
 * something may happen. The engine then says who is below maintenance; the loop closes those
 * positions and the triggered exit orders at the fill price: the mark moved by the square-root
 * impact of the step's forced flow. The impact also moves the next mark, so the loop repeats within
 * the step until no new order appears (at most `maxIterationsPerStep` rounds, reported).
 *
 * Everything the engine does is checked by the engine itself: after every command it asserts the
 * invariants of what the command touched (conservation from running totals, open interest, the
 * touched positions). The whole-state check, O(accounts), runs once at the end of the run rather
 * than after every command; the loop reports the final conservation totals.
 */
import {
  checkInvariants,
  type Command,
  createEngineState,
  type EngineEvent,
  execute,
  heldPerAsset,
  seedState,
} from '../../core/engine/index.ts'
import { insuranceFundOf } from '../../core/engine/plan.ts'
import { holdersOf, optionValuationOf } from '../../core/engine/state.ts'
import { evaluateAccount, evaluateAccountMargin } from '../../core/margin/evaluate.ts'
import { liquidationPrice } from '../../core/margin/liquidation-price.ts'
import { isPortfolioMargined } from '../../core/margin/portfolio-margin.ts'
import type { Account, Position } from '../../core/model/account.ts'
import { contractValue } from '../../core/model/position-math.ts'
import { optionModelMark } from '../../core/options/option-mark.ts'
import {
  abs,
  add,
  div,
  type Fixed,
  mul,
  ONE,
  neg,
  roundToStep,
  sub,
  toNumber,
  ZERO,
} from '../../core/num/fixed.ts'
import type { Instrument } from '../../core/model/instrument.ts'
import type { MarketRules, RuleSet } from '../../core/rules/rule-set.ts'
import { createImpactModel, type ImpactParams } from '../impact.ts'
import type { PricePath } from '../paths/price-path.ts'
import type {
  AutoDeleverageEvent,
  BalancePoint,
  ForcedClose,
  ForcedCloseKind,
  RuleSetOutcome,
  SimulatedPricePoint,
  SocializedLoss,
} from '../report/result.ts'
import type { CommandRecorder } from './journal.ts'
import {
  isCoinMargined,
  type ListedOptions,
  type MappedAccount,
  quoteNotional,
  settlementInQuote,
} from './setup.ts'
import type { VolatilityReset } from './implied-volatility.ts'
import { TriggerBook, type TriggerEntry, type TriggerKind } from './trigger-heap.ts'

const DAY_MS = 86_400_000

/** Inputs of one rule set's run. */
export interface TickLoopInput {
  readonly ruleSet: RuleSet
  readonly market: MarketRules
  readonly accounts: readonly MappedAccount[]
  readonly path: PricePath
  readonly impact: ImpactParams
  /** Insurance fund at the start, in the settlement asset, deposited into the market's fund (default 0). */
  readonly insuranceFund?: Fixed
  /** Rounds of orders within one step before the loop moves on (default 25). */
  readonly maxIterationsPerStep?: number
  /** Journaling (`journal.ts`): opens the accounts by recorded commands and records every command. */
  readonly recorder?: CommandRecorder
  /**
   * Rule sets put in force along the path (SIMRUN-019): each is sent as a `rules_change` at the
   * first step at or after its time, in time order; every account's triggers are then re-derived.
   * A change may move rates and fees; the loop keeps the first rule set's liquidation chain and
   * portfolio model.
   */
  readonly rulesChanges?: readonly RulesChangeAlongPath[]
  /**
   * The option series `ruleSet` lists on the market (SIMRUN-005): each is marked at the start with
   * its premium and implied volatility; while any account holds an option the engine is given the
   * mark at every step, and each series expires at its time.
   */
  readonly options?: ListedOptions
  /** New implied volatilities of the listed options along the path (SIMRUN-006), in time order. */
  readonly volatilityResets?: readonly VolatilityReset[]
}

/** A rule set that takes over at `timeMs` (e.g. margin rates re-set from volatility). */
export interface RulesChangeAlongPath {
  readonly timeMs: number
  readonly ruleSet: RuleSet
}

/** A liquidated account's loss beyond its collateral, for loss-given-default and Cover-2. */
export interface DefaultRecord {
  readonly timeMs: number
  readonly account: string
  /** Value of the liquidated position at the fill price. */
  readonly exposure: Fixed
  /** Shortfall: what the account's collateral did not cover (0 when it did). */
  readonly loss: Fixed
}

/** How the loop ran: work done, bounds hit and the final conservation check. */
export interface TickLoopDiagnostics {
  readonly steps: number
  /** Commands the engine executed (seeding not counted). */
  readonly engineCommands: number
  /** Steps in which the engine was given a mark (a trigger fired). */
  readonly engineSteps: number
  /** Most rounds of orders in one step. */
  readonly maxIterations: number
  /** Steps that still had orders after `maxIterationsPerStep` rounds. */
  readonly cappedSteps: number
  /** Triggers the price fired (liquidation candidates and exit orders). */
  readonly triggersFired: number
  /** Accounts the engine found below maintenance that no trigger had flagged (0 when the screen is exact). */
  readonly screenMisses: number
  /** Option series listed in the run (SIMRUN-005), and how many of them expired on the path. */
  readonly optionSeries: number
  readonly optionsExpired: number
  /** Implied volatility re-sets applied (SIMRUN-006). */
  readonly volatilityResets: number
  /** Per settlement asset: what the venue holds vs deposits − withdrawals (equal: conserved). */
  readonly conservation: readonly {
    readonly asset: string
    readonly held: Fixed
    readonly expected: Fixed
  }[]
}

/** What one rule set's run produced. */
export interface TickLoopOutput {
  readonly outcome: RuleSetOutcome
  readonly defaults: readonly DefaultRecord[]
  /** Insurance fund before the first step (what Cover-2 is measured against). */
  readonly insuranceFundStart: Fixed
  /** Shortfalls the insurance fund did not cover: ADL + socialized + left unallocated. */
  readonly uncoveredLoss: Fixed
  /** The same in the quote currency, each part valued at the mark of its moment (= `uncoveredLoss` on linear markets). */
  readonly uncoveredLossInQuote: Fixed
  readonly diagnostics: TickLoopDiagnostics
  /** Endogenous (impact) part of the simulated price per step, as a fraction of the exogenous price. */
  readonly endogenousShift: readonly number[]
}

interface Tracked {
  readonly mapped: MappedAccount
  /** Equity at the start of the current UTC day (daily loss limit), or null before it is known. */
  dayStartEquity: Fixed | null
  dayIndex: number
}

interface Order {
  readonly account: string
  readonly index: number
  /** The simulated market, or an option on it (engine orders only). */
  readonly market: string
  /** Signed trade size that closes the position (− sells a long). */
  readonly size: Fixed
  readonly kind: ForcedCloseKind
  /** The engine's liquidation order this fills (rule sets with liquidation rules). */
  readonly orderId?: string
}

/** Runs one rule set through the path. Throws `InvariantError` if the engine finds a bug. */
export function runTickLoop(input: TickLoopInput): TickLoopOutput {
  const { ruleSet, path } = input
  /** The market's rules in force (a rules change along the path replaces them). */
  let market = input.market
  const instrument = market.instrument
  const marketId = instrument.market
  const asset = instrument.settlementAsset
  const coinMargined = isCoinMargined(instrument)
  const portfolioMargined = isPortfolioMargined(ruleSet.portfolioMargin, marketId)
  const maxIterations = input.maxIterationsPerStep ?? 25
  const first = path.points[0]
  if (first === undefined) throw new RangeError('Condition failed: a path has points (SIM-010)')

  // Whole-state checks once at the end (ENG-013); the engine checks what each command touched.
  const state = createEngineState(ruleSet, { verify: false })
  const seeds = input.accounts.map((account) => account.seed)
  if (input.recorder === undefined) seedState(state, seeds, first.timeMs)
  else input.recorder.seed(state, seeds, first.timeMs)
  const indexById = new Map<string, number>()
  const tracked: Tracked[] = input.accounts.map((mapped, index) => {
    indexById.set(mapped.id, index)
    return { mapped, dayStartEquity: null, dayIndex: -1 }
  })

  let sequence = state.lastSequence
  let engineCommands = 0
  const run = (command: Command, timeMs: number): readonly EngineEvent[] => {
    sequence += 1
    const outcome = execute(state, command, { sequence, timestampMs: timeMs })
    input.recorder?.record(command, timeMs, outcome, state)
    if (outcome.result.status !== 'ok') {
      throw new Error(
        `Invariant: the simulator only sends commands the engine accepts (SIMRUN-011, command=${command.type}, code=${outcome.result.status}, context=${JSON.stringify(outcome.result, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value))})`,
      )
    }
    engineCommands += 1
    return outcome.events
  }

  const startingFund = input.insuranceFund ?? ZERO
  if (startingFund > 0n) {
    const holder = insuranceFundOf(ruleSet, marketId)
    const fundId =
      holder.kind === 'insurance_fund' && holder.fund !== undefined ? holder.fund : asset
    run({ type: 'insurance_fund_deposit', fund: fundId, asset, amount: startingFund }, first.timeMs)
  }
  const triggers = new TriggerBook(tracked.length)
  let mark = roundToTick(first.price, instrument.tickSize)
  /** Mark the engine was last given, and when; null before the first mark command. */
  let engineMark: Fixed | null = null
  let engineMarkTimeMs = first.timeMs

  // SIMRUN-005: the listed options open at their premium with their implied volatility; the
  // underlying's first mark then values them (and every holder) at the same price and time.
  const optionMarkets = [...(input.options?.premiums ?? new Map<string, Fixed>())]
  const volatility = input.options?.volatility
  if (optionMarkets.length > 0 && volatility !== undefined) {
    for (const [option, premium] of optionMarkets)
      run({ type: 'mark_price', market: option, mark: premium, volatility }, first.timeMs)
    run({ type: 'mark_price', market: marketId, mark }, first.timeMs)
    engineMark = mark
  }
  const expiries = optionMarkets
    .map(([option]) => ({
      market: option,
      timeMs: ruleSet.markets.get(option)?.instrument.expiryTimeMs ?? Number.POSITIVE_INFINITY,
    }))
    .sort((a, b) => (a.timeMs !== b.timeMs ? a.timeMs - b.timeMs : compareText(a.market, b.market)))
  let nextExpiry = 0
  let optionsExpired = 0
  const volatilityResets = optionMarkets.length === 0 ? [] : (input.volatilityResets ?? [])
  let nextVolatilityReset = 0
  /** True while a trader holds an option (the book is always the other side). */
  const optionsHeld = (): boolean =>
    optionMarkets.some(
      ([option]) => !state.expiredMarkets.has(option) && holdersOf(state, option).length > 1,
    )
  /** Accounts holding an option: the engine evaluates them at every mark (OPT-025). */
  const holdsOption = (account: Account): boolean => {
    for (const [option] of optionMarkets) if (account.positions.has(option)) return true
    return false
  }
  const instrumentOf = (market: string): Instrument =>
    state.rules.markets.get(market)?.instrument ?? instrument

  /**
   * The current mark as the margin module takes it (one map, updated in place), with the options'
   * marks as the engine last set them (current while options are held: the engine is marked at
   * every step then).
   */
  const markMap = new Map<string, Fixed>()
  const marks = (): Map<string, Fixed> => {
    markMap.set(marketId, mark)
    for (const [option] of optionMarkets) {
      const optionMark = state.prices.get(option)?.mark
      if (optionMark !== undefined) markMap.set(option, optionMark)
    }
    return markMap
  }

  /** Files one trigger of an account under its current version. */
  const addTrigger = (
    index: number,
    version: number,
    kind: TriggerKind,
    key: Fixed | null | undefined,
    firesOnFall: boolean,
  ): void => {
    if (key === null || key === undefined || key <= 0n) return
    const entry: TriggerEntry = { key, account: index, kind, version }
    if (firesOnFall) triggers.addFall(entry)
    else triggers.addRise(entry)
  }

  /** Equity of an account (wallet + isolated margin + unrealized PnL) at the current mark. */
  const equityOf = (id: string): Fixed => {
    const account = state.accounts.get(id)
    if (account === undefined) return ZERO
    const risk = evaluateAccountMargin(
      state.rules,
      account,
      marks(),
      undefined,
      optionValuationOf(state, engineMarkTimeMs),
    )
    return risk.groups.find((group) => group.asset === asset)?.equity ?? ZERO
  }

  /**
   * The liquidation price (to the rule set's exact decimals) of an account's position in the
   * simulated market at the current mark. An account holding only that position is solved
   * directly: its collateral is the isolated margin, or the cross wallet (no other cross position
   * adds to it), exactly what `evaluateAccount` would use; other accounts, and cross positions
   * under portfolio margin (whose requirement is the group's, PFM-044), are evaluated in full.
   */
  const liquidationTriggerOf = (account: Account, position: Position): Fixed | null => {
    if (account.positions.size !== 1 || (position.marginMode === 'cross' && portfolioMargined)) {
      const risk = evaluateAccount(state.rules, account, marks())
      return (
        risk.groups
          .find((group) => group.asset === asset)
          ?.positions.find((entry) => entry.market === marketId)?.liquidationPriceExact ?? null
      )
    }
    const collateral =
      position.marginMode === 'cross'
        ? (account.balances.get(asset) ?? ZERO)
        : position.isolatedMargin
    const solution = liquidationPrice(state.rules.liquidationPrice, {
      market,
      size: position.size,
      entryValue: position.entryValue,
      collateral,
      markPrice: mark,
    })
    return solution?.exact ?? null
  }

  /**
   * The price at which equity falls to the day's start less the limit (SIMRUN-012). Linear:
   * equity(P) = equityNow + q × (P − mark), q = size × contract size. Inverse (coin equity):
   * equity(P) = equityNow + q × (1/mark − 1/P), so 1/P = 1/mark − gap ÷ q. A fired limit is
   * checked against the exact equity before it closes anything; null when no price reaches it.
   */
  const dailyLimitPrice = (
    equityNow: Fixed,
    dayStart: Fixed,
    limit: Fixed,
    size: Fixed,
  ): Fixed | null => {
    const long = size > 0n
    // gap = equity at the limit − equity now (negative while the limit is not reached).
    const gap = sub(sub(dayStart, limit), equityNow)
    const perUnit = mul(size, instrument.contractSize, 'exact')
    if (!coinMargined) return sub(mark, div(neg(gap), perUnit, long ? 'ceil' : 'floor'))
    if (gap >= 0n) return mark
    // 1/P = (q − gap × mark) ÷ (q × mark)  →  P = q × mark ÷ (q − gap × mark). A short's coin loss
    // is bounded (q ÷ mark as P → ∞): a gap beyond it is never reached.
    const denominator = sub(perUnit, mul(gap, mark, 'half_even'))
    if (!long && denominator >= 0n) return null
    return div(mul(perUnit, mark, 'exact'), denominator, long ? 'floor' : 'ceil')
  }

  /** Re-derives an account's triggers from its state in the engine (SIMRUN-012). */
  const refresh = (index: number, timeMs: number): void => {
    const item = tracked[index]
    if (item === undefined) return
    const version = triggers.renew(index)
    const account = state.accounts.get(item.mapped.id)
    const position = account?.positions.get(marketId)
    if (account === undefined || position === undefined) return
    const long = position.size > 0n
    // An option holder is evaluated by the engine at every step (options move with time too).
    if (!holdsOption(account))
      addTrigger(index, version, 'liquidation', liquidationTriggerOf(account, position), long)
    addTrigger(index, version, 'stop_loss', item.mapped.stopLoss, long)
    addTrigger(index, version, 'take_profit', item.mapped.takeProfit, !long)
    const limit = item.mapped.dailyLossLimit
    if (limit !== undefined) {
      const day = Math.floor(timeMs / DAY_MS)
      const equityNow = equityOf(item.mapped.id)
      if (item.dayIndex !== day || item.dayStartEquity === null) {
        item.dayIndex = day
        item.dayStartEquity = equityNow
      }
      addTrigger(
        index,
        version,
        'daily_loss_limit',
        dailyLimitPrice(equityNow, item.dayStartEquity, limit, position.size),
        long,
      )
    }
  }

  /**
   * Fills an engine liquidation order at the impacted price (SIMRUN-013); when the price is beyond
   * the order's limit (its bankruptcy price) the book will not take it and the venue takes the
   * order over: insurance fund, then ADL, then socialized loss, as the rule set says.
   */
  const fillLiquidationOrder = (
    orderId: string,
    size: Fixed,
    fillPrice: Fixed,
    timeMs: number,
  ): void => {
    // An earlier takeover of this step may have closed the position (ADL takes it as a winner).
    if (!state.liquidation.orders.has(orderId)) return
    sequence += 1
    const fill: Command = { type: 'liquidation_fill', orderId, size: abs(size), price: fillPrice }
    const filled = execute(state, fill, { sequence, timestampMs: timeMs })
    input.recorder?.record(fill, timeMs, filled, state)
    if (filled.result.status === 'ok') {
      engineCommands += 1
      absorb(filled.events, timeMs, false, new Map())
      return
    }
    sequence -= 1
    absorb(run({ type: 'liquidation_takeover', orderId }, timeMs), timeMs, true, new Map())
  }

  /**
   * The worst price on the tick at which an isolated position's margin plus PnL still covers the
   * taker fee of closing it, one tick inside; null when any price does. With q = size × contract
   * size, E the entry value, M the margin and f the fee rate:
   * linear long P ≥ (E − M) ÷ (q(1 − f)), short P ≤ (M − E) ÷ (|q|(1 + f));
   * inverse long P ≥ q(1 + f) ÷ (M + E), short P ≤ |q|(1 − f) ÷ (|E| − M).
   */
  const isolatedClosePrice = (position: Position): Fixed | null => {
    const q = mul(position.size, instrument.contractSize, 'exact')
    const long = position.size > 0n
    const fee = market.takerFeeRate
    let numerator: Fixed
    let denominator: Fixed
    if (!coinMargined) {
      numerator = long
        ? sub(position.entryValue, position.isolatedMargin)
        : sub(position.isolatedMargin, position.entryValue)
      denominator = mul(abs(q), long ? sub(ONE, fee) : add(ONE, fee), 'exact')
    } else {
      numerator = mul(abs(q), long ? add(ONE, fee) : sub(ONE, fee), 'exact')
      denominator = long
        ? add(position.isolatedMargin, position.entryValue)
        : sub(abs(position.entryValue), position.isolatedMargin)
    }
    if (numerator <= 0n || denominator <= 0n) return null
    const exact = div(numerator, denominator, long ? 'ceil' : 'floor')
    const onTick = long
      ? add(roundToStep(exact, instrument.tickSize, 'ceil'), instrument.tickSize)
      : sub(roundToStep(exact, instrument.tickSize, 'floor'), instrument.tickSize)
    return onTick > 0n ? onTick : null
  }

  /**
   * Closes an account's position at `fillPrice` against `@book` (a taker fill). The shortfall is
   * what the account's collateral does not cover: a negative cross wallet after the fill, or for an
   * isolated position the loss beyond its margin; such a position is closed at its bankruptcy
   * price (the engine refuses to take more than the margin) and the gap to the fill price is the
   * shortfall.
   */
  const closePosition = (
    order: Order,
    fillPrice: Fixed,
    timeMs: number,
  ): { value: Fixed; shortfall: Fixed } => {
    const value = abs(contractValue(instrument, order.size, fillPrice))
    const position = state.accounts.get(order.account)?.positions.get(marketId)
    let price = fillPrice
    let gap = ZERO
    if (position?.marginMode === 'isolated') {
      const onTick = isolatedClosePrice(position)
      if (onTick !== null && (position.size > 0n ? fillPrice < onTick : fillPrice > onTick)) {
        price = onTick
        gap = abs(
          sub(
            contractValue(instrument, order.size, onTick),
            contractValue(instrument, order.size, fillPrice),
          ),
        )
      }
    }
    run(
      {
        type: 'trade',
        account: order.account,
        market: marketId,
        size: order.size,
        price,
        liquidity: 'taker',
      },
      timeMs,
    )
    const wallet = state.accounts.get(order.account)?.balances.get(asset) ?? ZERO
    return { value, shortfall: add(gap, wallet < 0n ? neg(wallet) : ZERO) }
  }

  for (let index = 0; index < tracked.length; index += 1) refresh(index, first.timeMs)

  const impact = createImpactModel(input.impact)
  const exogenous: SimulatedPricePoint[] = []
  const simulated: SimulatedPricePoint[] = []
  const fund: BalancePoint[] = []
  const endogenousShift: number[] = []
  const forcedCloses: ForcedClose[] = []
  const defaults: DefaultRecord[] = []
  const autoDeleverages: AutoDeleverageEvent[] = []
  const socializedLosses: SocializedLoss[] = []
  let badDebt = ZERO
  let uncoveredByFund = ZERO
  let uncoveredInQuote = ZERO
  /** The engine places and settles liquidations itself when the rule set has liquidation rules. */
  const engineLiquidates = ruleSet.liquidation !== undefined
  const orderValues = new Map<string, Fixed>()
  const socializedByOrder = new Map<
    string,
    { amount: Fixed; accounts: Set<string>; timeMs: number }
  >()
  const touched = new Set<number>()
  const kindOfPolicy: ForcedCloseKind =
    ruleSet.liquidation?.policy.kind === 'full_close' ? 'liquidation' : 'partial_liquidation'
  const touch = (id: string): void => {
    const index = indexById.get(id)
    if (index !== undefined) touched.add(index)
  }
  /** Records what the engine's liquidation events say happened (SIMRUN-014). */
  const absorb = (
    events: readonly EngineEvent[],
    timeMs: number,
    takeover: boolean,
    sizes: ReadonlyMap<string, Fixed>,
  ): void => {
    for (const event of events) {
      switch (event.type) {
        case 'liquidation_order_filled': {
          const price = event.price ?? mark
          const value = abs(contractValue(instrumentOf(event.market), event.size, price))
          orderValues.set(event.orderId, add(orderValues.get(event.orderId) ?? ZERO, value))
          forcedCloses.push({
            timeMs,
            account: event.account,
            market: event.market,
            size: event.size,
            price,
            value,
            kind: takeover ? 'backstop_liquidation' : kindOfPolicy,
          })
          touch(event.account)
          break
        }
        case 'adl_deleveraged':
          autoDeleverages.push({
            timeMs,
            account: event.counterparty,
            market: event.market,
            size: event.size,
            price: event.price,
            value: abs(contractValue(instrumentOf(event.market), event.size, event.price)),
          })
          touch(event.counterparty)
          touch(event.account)
          break
        case 'socialized_loss_charged': {
          const entry = socializedByOrder.get(event.orderId) ?? {
            amount: ZERO,
            accounts: new Set<string>(),
            timeMs,
          }
          entry.amount = add(entry.amount, event.amount)
          entry.accounts.add(event.counterparty)
          socializedByOrder.set(event.orderId, entry)
          touch(event.counterparty)
          break
        }
        case 'shortfall_allocated':
          badDebt = add(badDebt, event.shortfall)
          {
            const uncovered = add(add(event.adl, event.socialized), event.uncovered)
            uncoveredByFund = add(uncoveredByFund, uncovered)
            uncoveredInQuote = add(uncoveredInQuote, settlementInQuote(instrument, uncovered, mark))
          }
          defaults.push({
            timeMs,
            account: event.account,
            exposure: orderValues.get(event.orderId) ?? ZERO,
            loss: event.shortfall,
          })
          break
        case 'backstop_takeover': {
          const size = sizes.get(event.account) ?? ZERO
          forcedCloses.push({
            timeMs,
            account: event.account,
            market: marketId,
            size: neg(size),
            price: mark,
            value: abs(contractValue(instrument, size, mark)),
            kind: 'backstop_liquidation',
          })
          touch(event.account)
          break
        }
        // Recorded elsewhere (prices, fund balance) or not part of the outcome (a network party's
        // disposal of what it took over: the account's close was recorded when it took it).
        case 'account_below_maintenance':
        case 'account_opened':
        case 'deposit_applied':
        case 'expiry_settled':
        case 'fill_applied':
        case 'funding_paid':
        case 'insurance_fund_credited':
        case 'insurance_fund_pool_changed':
        case 'isolated_margin_moved':
        case 'leverage_set':
        case 'liquidation_order_placed':
        case 'liquidation_takeover':
        case 'margin_mode_set':
        case 'mark_updated':
        case 'market_expired':
        case 'network_disposal_filled':
        case 'network_disposal_lapsed':
        case 'network_disposal_order_placed':
        case 'rules_changed':
        case 'withdrawal_applied':
          break
      }
    }
  }
  /** Open liquidation orders of the market and its options, by order id. */
  const optionMarketIds = new Set(optionMarkets.map(([option]) => option))
  const openOrders = (): {
    orderId: string
    account: string
    market: string
    remaining: Fixed
  }[] =>
    [...state.liquidation.orders.values()]
      .filter(
        (order) =>
          (order.market === marketId || optionMarketIds.has(order.market)) &&
          order.remaining !== 0n,
      )
      .sort((a, b) => compareText(a.orderId, b.orderId))
  let engineSteps = 0
  let iterationsMost = 0
  let cappedSteps = 0
  let triggersFired = 0
  let screenMisses = 0
  let currentDay = Math.floor(first.timeMs / DAY_MS)

  const rulesChanges = [...(input.rulesChanges ?? [])].sort((a, b) => a.timeMs - b.timeMs)
  let nextRulesChange = 0

  path.points.forEach((point, stepIndex) => {
    const timeMs = point.timeMs
    const day = Math.floor(timeMs / DAY_MS)
    let rulesChanged = false
    // SIMRUN-005: options expire at their time, settled at the step's price of the underlying.
    for (
      let expiry = expiries[nextExpiry];
      expiry !== undefined && expiry.timeMs <= timeMs;
      expiry = expiries[++nextExpiry]
    ) {
      mark = impact.impactedPrice(point.price, stepIndex, instrument.tickSize)
      for (const id of holdersOf(state, expiry.market)) touch(id)
      run({ type: 'expire', market: expiry.market, settlementPrice: mark }, timeMs)
      optionsExpired += 1
    }
    // SIMRUN-006: a new implied volatility re-marks every live option at its model value with it
    // (a series worth less than a tick then keeps its volatility); the engine judges its holders.
    for (
      let reset = volatilityResets[nextVolatilityReset];
      reset !== undefined && reset.timeMs <= timeMs;
      reset = volatilityResets[++nextVolatilityReset]
    ) {
      mark = impact.impactedPrice(point.price, stepIndex, instrument.tickSize)
      for (const [option] of optionMarkets) {
        const optionInstrument = state.rules.markets.get(option)?.instrument
        if (optionInstrument === undefined || state.expiredMarkets.has(option)) continue
        const optionMark = optionModelMark(optionInstrument, mark, reset.volatility, timeMs)
        if (optionMark === undefined || optionMark <= 0n) continue
        for (const id of holdersOf(state, option)) touch(id)
        const events = run(
          { type: 'mark_price', market: option, mark: optionMark, volatility: reset.volatility },
          timeMs,
        )
        absorb(events, timeMs, true, new Map())
      }
    }
    for (
      let change = rulesChanges[nextRulesChange];
      change !== undefined && change.timeMs <= timeMs;
      change = rulesChanges[++nextRulesChange]
    ) {
      run({ type: 'rules_change', ruleSet: change.ruleSet }, timeMs)
      market = state.rules.markets.get(marketId) ?? market
      rulesChanged = true
    }
    if (rulesChanged) {
      // New rates move every liquidation price: re-derive all triggers at this step's mark.
      mark = impact.impactedPrice(point.price, stepIndex, instrument.tickSize)
      for (let index = 0; index < tracked.length; index += 1) refresh(index, timeMs)
    }
    if (day !== currentDay) {
      currentDay = day
      // A new day resets the daily loss baselines: re-arm every account with a limit.
      tracked.forEach((item, index) => {
        if (item.mapped.dailyLossLimit !== undefined && item.dayIndex !== day) {
          mark = impact.impactedPrice(point.price, stepIndex, instrument.tickSize)
          refresh(index, timeMs)
        }
      })
    }
    const deferred = new Set<number>()
    let iterations = 0
    let engineTouched = false
    for (;;) {
      mark = impact.impactedPrice(point.price, stepIndex, instrument.tickSize)
      const fired = triggers.takeFired(mark)
      // Option holders are judged by the engine at every step: their options move with time too.
      const optionMarkDue = optionsHeld() && (engineMark !== mark || engineMarkTimeMs !== timeMs)
      if (fired.length === 0 && !optionMarkDue && (!engineLiquidates || openOrders().length === 0))
        break
      triggersFired += fired.length
      let breachedEvents: readonly EngineEvent[] = []
      // The engine evaluates every holder on a mark: give it one only when a liquidation may be due.
      const liquidationDue = optionMarkDue || fired.some((entry) => entry.kind === 'liquidation')
      if (liquidationDue && (engineMark !== mark || optionMarkDue)) {
        // Sizes before the mark of the accounts it may close out (a backstop takeover names no size).
        const sizesBefore = new Map<string, Fixed>()
        for (const entry of fired) {
          const id = tracked[entry.account]?.mapped.id
          const size =
            id === undefined ? undefined : state.accounts.get(id)?.positions.get(marketId)?.size
          if (id !== undefined && size !== undefined) sizesBefore.set(id, size)
        }
        breachedEvents = run({ type: 'mark_price', market: marketId, mark }, timeMs)
        engineMark = mark
        engineMarkTimeMs = timeMs
        engineTouched = true
        // Rule sets whose chain closes an account out on the mark itself (a network party taking
        // the position, LIQ-070) report the fill, takeover and allocation in the mark's events.
        absorb(breachedEvents, timeMs, true, sizesBefore)
      }
      /** Orders of this round by account (an account may have one per market). */
      const orders = new Map<number, Order[]>()
      const addOrder = (order: Order): void => {
        const list = orders.get(order.index)
        if (list === undefined) orders.set(order.index, [order])
        else list.push(order)
      }
      const flagged = new Set(fired.map((entry) => entry.account))
      for (const event of breachedEvents) {
        if (event.type !== 'account_below_maintenance') continue
        const index = indexById.get(event.account)
        if (index === undefined) continue
        const account = state.accounts.get(event.account)
        if (!flagged.has(index) && (account === undefined || !holdsOption(account)))
          screenMisses += 1
        const size = account?.positions.get(marketId)?.size
        if (size !== undefined && !engineLiquidates)
          addOrder({
            account: event.account,
            index,
            market: marketId,
            size: neg(size),
            kind: 'liquidation',
          })
      }
      if (engineLiquidates) {
        for (const order of openOrders()) {
          const index = indexById.get(order.account)
          if (index === undefined) continue
          addOrder({
            account: order.account,
            index,
            market: order.market,
            size: order.remaining,
            kind: kindOfPolicy,
            orderId: order.orderId,
          })
        }
      }
      for (const entry of fired) {
        if (orders.has(entry.account)) continue
        const item = tracked[entry.account]
        const size =
          item === undefined
            ? undefined
            : state.accounts.get(item.mapped.id)?.positions.get(marketId)?.size
        if (item === undefined || size === undefined) continue
        if (entry.kind === 'liquidation') {
          // Not below maintenance after all (the price sits exactly on the trigger): re-arm after the step.
          deferred.add(entry.account)
          continue
        }
        if (entry.kind === 'daily_loss_limit') {
          const start = item.dayStartEquity
          if (
            start === null ||
            equityOf(item.mapped.id) > sub(start, item.mapped.dailyLossLimit ?? ZERO)
          ) {
            deferred.add(entry.account)
            continue
          }
        }
        addOrder({
          account: item.mapped.id,
          index: entry.account,
          market: marketId,
          size: neg(size),
          kind: entry.kind,
        })
      }
      if (orders.size === 0) break
      iterations += 1
      const sorted = [...orders.values()]
        .flat()
        .sort((a, b) =>
          a.index !== b.index ? a.index - b.index : compareText(a.orderId ?? '', b.orderId ?? ''),
        )
      let flow = 0
      // The square-root law takes the flow in the quote currency the volume is measured in; it
      // moves the underlying only (options fill at their own mark).
      for (const order of sorted)
        if (order.market === marketId) flow += toNumber(quoteNotional(instrument, order.size, mark))
      impact.applyForcedFlow(stepIndex, flow)
      const fillPrice = impact.impactedPrice(point.price, stepIndex, instrument.tickSize)
      for (const order of sorted) {
        engineTouched = true
        if (order.orderId !== undefined) {
          const price =
            order.market === marketId
              ? fillPrice
              : (state.prices.get(order.market)?.mark ?? fillPrice)
          fillLiquidationOrder(order.orderId, order.size, price, timeMs)
          deferred.delete(order.index)
          touched.add(order.index)
          continue
        }
        const fill = closePosition(order, fillPrice, timeMs)
        forcedCloses.push({
          timeMs,
          account: order.account,
          market: marketId,
          size: order.size,
          price: fillPrice,
          value: fill.value,
          kind: order.kind,
        })
        if (order.kind === 'liquidation') {
          badDebt = add(badDebt, fill.shortfall)
          uncoveredInQuote = add(
            uncoveredInQuote,
            settlementInQuote(instrument, fill.shortfall, fillPrice),
          )
          defaults.push({
            timeMs,
            account: order.account,
            exposure: fill.value,
            loss: fill.shortfall,
          })
        }
        deferred.delete(order.index)
        triggers.renew(order.index)
      }
      if (iterations >= maxIterations) {
        cappedSteps += 1
        break
      }
    }
    if (engineTouched) engineSteps += 1
    iterationsMost = Math.max(iterationsMost, iterations)
    mark = impact.impactedPrice(point.price, stepIndex, instrument.tickSize)
    for (const index of deferred) refresh(index, timeMs)
    for (const index of touched) refresh(index, timeMs)
    touched.clear()
    exogenous.push({ timeMs, price: point.price })
    simulated.push({ timeMs, price: mark })
    endogenousShift.push(impact.currentShift(stepIndex))
    fund.push({ timeMs, balance: state.insuranceFunds.get(asset) ?? ZERO })
  })

  for (const entry of socializedByOrder.values())
    socializedLosses.push({
      timeMs: entry.timeMs,
      amount: entry.amount,
      accounts: entry.accounts.size,
    })
  socializedLosses.sort((a, b) => a.timeMs - b.timeMs)
  const last = path.points.at(-1) ?? first
  if (engineMark !== mark) run({ type: 'mark_price', market: marketId, mark }, last.timeMs)
  checkInvariants(state)
  const held = heldPerAsset(state)
  const conservation = [...new Set([...held.keys(), ...state.deposits.keys()])]
    .sort()
    .map((name) => ({
      asset: name,
      held: held.get(name) ?? ZERO,
      expected: sub(state.deposits.get(name) ?? ZERO, state.withdrawals.get(name) ?? ZERO),
    }))
  return {
    outcome: {
      ruleSetId: ruleSet.id,
      venue: ruleSet.venue,
      market: marketId,
      settlementAsset: asset,
      quoteAsset: instrument.quoteAsset,
      prices: simulated,
      forcedCloses,
      insuranceFund: fund,
      autoDeleverages,
      socializedLosses,
      shortfalls: defaults
        .filter((entry) => entry.loss > 0n)
        .map((entry) => ({ timeMs: entry.timeMs, account: entry.account, amount: entry.loss })),
      badDebt,
    },
    defaults,
    insuranceFundStart: startingFund,
    uncoveredLoss: engineLiquidates ? uncoveredByFund : badDebt,
    uncoveredLossInQuote: uncoveredInQuote,
    diagnostics: {
      steps: path.points.length,
      engineCommands,
      engineSteps,
      maxIterations: iterationsMost,
      cappedSteps,
      triggersFired,
      screenMisses,
      optionSeries: optionMarkets.length,
      optionsExpired,
      volatilityResets: nextVolatilityReset,
      conservation,
    },
    endogenousShift,
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function roundToTick(price: Fixed, tick: Fixed): Fixed {
  const remainder = price % tick
  const down = (price - remainder) as Fixed
  const rounded = remainder * 2n >= tick ? ((down + tick) as Fixed) : down
  return rounded > 0n ? rounded : tick
}
