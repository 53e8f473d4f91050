/**
 * The result of a simulation, as the report renders it (SIM-050). One exogenous price path is
 * shared by every rule set compared; each rule set has its own simulated price (forced orders move
 * it by different amounts), its forced closes, insurance fund path, auto-deleveraging events,
 * socialized losses and bad debt. Amounts are in the settlement asset of the rule set's market
 * (USDT, USDC, or the coin for an inverse market); `quoteValue` converts one to the quote currency
 * at a price.
 *
 * On disk the result is JSON with every `Fixed` written as a decimal string
 * (`simulationResultToJson`, `parseSimulationResult`).
 */
import { type Fixed, formatFixed, mul, parseFixed } from '../../core/num/fixed.ts'
import { type Checked, type Issue, issue } from '../issue.ts'

/** Why a position was closed by force or by its own exit order. */
export type ForcedCloseKind =
  | 'liquidation'
  | 'partial_liquidation'
  | 'backstop_liquidation'
  | 'stop_loss'
  | 'take_profit'
  | 'daily_loss_limit'

export const FORCED_CLOSE_KINDS: readonly ForcedCloseKind[] = [
  'liquidation',
  'partial_liquidation',
  'backstop_liquidation',
  'stop_loss',
  'take_profit',
  'daily_loss_limit',
]

/** Kinds that are liquidations (the venue's doing), as opposed to the trader's exit orders. */
export function isLiquidationKind(kind: ForcedCloseKind): boolean {
  return kind === 'liquidation' || kind === 'partial_liquidation' || kind === 'backstop_liquidation'
}

export interface ForcedClose {
  readonly timeMs: number
  readonly account: string
  readonly market: string
  /** Signed size closed (contracts; − for a long being sold). */
  readonly size: Fixed
  readonly price: Fixed
  /** Value of the closed size at `price` (settlement asset, unsigned). */
  readonly value: Fixed
  readonly kind: ForcedCloseKind
}

export interface AutoDeleverageEvent {
  readonly timeMs: number
  readonly account: string
  readonly market: string
  readonly size: Fixed
  readonly price: Fixed
  readonly value: Fixed
}

/** One liquidated account's loss beyond its collateral. */
export interface Shortfall {
  readonly timeMs: number
  readonly account: string
  /** In the settlement asset, > 0. */
  readonly amount: Fixed
}

export interface SocializedLoss {
  readonly timeMs: number
  readonly amount: Fixed
  /** Accounts the loss was spread over. */
  readonly accounts: number
}

export interface BalancePoint {
  readonly timeMs: number
  readonly balance: Fixed
}

export interface SimulatedPricePoint {
  readonly timeMs: number
  readonly price: Fixed
}

/** A re-set of the margin rates by dynamic margin (SIMRUN-019): from `timeMs`, published rates × `factor`. */
export interface MarginResetRecord {
  readonly timeMs: number
  readonly factor: Fixed
  /** The APC rate of the exogenous path read at `timeMs` (DYN-008). */
  readonly rate: Fixed
}

export interface RuleSetOutcome {
  readonly ruleSetId: string
  readonly venue: string
  /** The rule set's market the population was mapped onto, its settlement and quote assets. */
  readonly market: string
  readonly settlementAsset: string
  readonly quoteAsset: string
  /** The simulated price: exogenous path plus the impact of this rule set's forced orders. */
  readonly prices: readonly SimulatedPricePoint[]
  readonly forcedCloses: readonly ForcedClose[]
  readonly insuranceFund: readonly BalancePoint[]
  readonly autoDeleverages: readonly AutoDeleverageEvent[]
  readonly socializedLosses: readonly SocializedLoss[]
  /** Each shortfall, in time order; they sum to `badDebt`. */
  readonly shortfalls: readonly Shortfall[]
  /** Losses of liquidated accounts beyond their collateral (shortfall), before any cover. */
  readonly badDebt: Fixed
  /** Per Monte Carlo path: loss not covered by the insurance fund (ADL + socialized + unresolved). */
  readonly monteCarloLosses?: readonly Fixed[]
  /** The same per path in the quote currency, each part at the mark of its moment. */
  readonly monteCarloLossesInQuote?: readonly Fixed[]
  /** The margin re-sets put in force, in time order, when the run had dynamic margin (absent otherwise). */
  readonly marginResets?: readonly MarginResetRecord[]
}

/** True when the outcome's amounts are in a coin (inverse market: settlement ≠ quote asset). */
export function settlesInCoin(outcome: RuleSetOutcome): boolean {
  return outcome.settlementAsset !== outcome.quoteAsset
}

/**
 * An amount of the outcome's settlement asset in its quote currency at `price`: unchanged when the
 * market settles in its quote asset, × price (half-even to 10⁻¹⁸) when it settles in the coin.
 */
export function quoteValue(outcome: RuleSetOutcome, amount: Fixed, price: Fixed): Fixed {
  return settlesInCoin(outcome) ? mul(amount, price, 'half_even') : amount
}

export interface SimulationResult {
  readonly title: string
  readonly scenario: {
    readonly name: string
    readonly description: string
    readonly seed?: number
    readonly pathSource: string
    readonly population?: string
  }
  readonly market: string
  readonly settlementAsset: string
  readonly stepMs: number
  /** The exogenous path (before any impact of forced orders). */
  readonly exogenousPrices: readonly SimulatedPricePoint[]
  readonly outcomes: readonly RuleSetOutcome[]
}

type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json }

const FORMAT = 'lor-simulation-result'
const FORMAT_VERSION = 2

/** JSON form of a result: every `Fixed` as a decimal string, key order fixed. */
export function simulationResultToJson(result: SimulationResult): Json {
  const prices = (points: readonly SimulatedPricePoint[]): Json =>
    points.map((point) => ({ timeMs: point.timeMs, price: formatFixed(point.price) }))
  return {
    format: FORMAT,
    version: FORMAT_VERSION,
    title: result.title,
    scenario: {
      name: result.scenario.name,
      description: result.scenario.description,
      ...(result.scenario.seed === undefined ? {} : { seed: result.scenario.seed }),
      pathSource: result.scenario.pathSource,
      ...(result.scenario.population === undefined
        ? {}
        : { population: result.scenario.population }),
    },
    market: result.market,
    settlementAsset: result.settlementAsset,
    stepMs: result.stepMs,
    exogenousPrices: prices(result.exogenousPrices),
    outcomes: result.outcomes.map((outcome) => ({
      ruleSetId: outcome.ruleSetId,
      venue: outcome.venue,
      market: outcome.market,
      settlementAsset: outcome.settlementAsset,
      quoteAsset: outcome.quoteAsset,
      prices: prices(outcome.prices),
      forcedCloses: outcome.forcedCloses.map((close) => ({
        timeMs: close.timeMs,
        account: close.account,
        market: close.market,
        size: formatFixed(close.size),
        price: formatFixed(close.price),
        value: formatFixed(close.value),
        kind: close.kind,
      })),
      insuranceFund: outcome.insuranceFund.map((point) => ({
        timeMs: point.timeMs,
        balance: formatFixed(point.balance),
      })),
      autoDeleverages: outcome.autoDeleverages.map((event) => ({
        timeMs: event.timeMs,
        account: event.account,
        market: event.market,
        size: formatFixed(event.size),
        price: formatFixed(event.price),
        value: formatFixed(event.value),
      })),
      socializedLosses: outcome.socializedLosses.map((loss) => ({
        timeMs: loss.timeMs,
        amount: formatFixed(loss.amount),
        accounts: loss.accounts,
      })),
      shortfalls: outcome.shortfalls.map((shortfall) => ({
        timeMs: shortfall.timeMs,
        account: shortfall.account,
        amount: formatFixed(shortfall.amount),
      })),
      badDebt: formatFixed(outcome.badDebt),
      ...(outcome.monteCarloLosses === undefined
        ? {}
        : { monteCarloLosses: outcome.monteCarloLosses.map((loss) => formatFixed(loss)) }),
      ...(outcome.monteCarloLossesInQuote === undefined
        ? {}
        : {
            monteCarloLossesInQuote: outcome.monteCarloLossesInQuote.map((loss) =>
              formatFixed(loss),
            ),
          }),
      ...(outcome.marginResets === undefined
        ? {}
        : {
            marginResets: outcome.marginResets.map((reset) => ({
              timeMs: reset.timeMs,
              factor: formatFixed(reset.factor),
              rate: formatFixed(reset.rate),
            })),
          }),
    })),
  }
}

/** Reads the JSON form back, reporting every malformed field with its path. */
export function parseSimulationResult(input: unknown): Checked<SimulationResult> {
  const issues: Issue[] = []
  const reader = createReader(issues)
  const root = reader.object(input, '$')
  if (root.format !== FORMAT || root.version !== FORMAT_VERSION) {
    issues.push(
      issue('result_format_unknown', '$.format', `format is "${FORMAT}" version ${FORMAT_VERSION}`),
    )
  }
  const scenario = reader.object(root.scenario, '$.scenario')
  const pricePoints = (value: unknown, path: string): SimulatedPricePoint[] =>
    reader.array(value, path).map((entry, index) => {
      const point = reader.object(entry, `${path}[${index}]`)
      return {
        timeMs: reader.integer(point.timeMs, `${path}[${index}].timeMs`),
        price: reader.decimal(point.price, `${path}[${index}].price`),
      }
    })
  const outcomes = reader.array(root.outcomes, '$.outcomes').map((entry, index): RuleSetOutcome => {
    const path = `$.outcomes[${index}]`
    const outcome = reader.object(entry, path)
    const base: RuleSetOutcome = {
      ruleSetId: reader.text(outcome.ruleSetId, `${path}.ruleSetId`),
      venue: reader.text(outcome.venue, `${path}.venue`),
      market: reader.text(outcome.market, `${path}.market`),
      settlementAsset: reader.text(outcome.settlementAsset, `${path}.settlementAsset`),
      quoteAsset: reader.text(outcome.quoteAsset, `${path}.quoteAsset`),
      prices: pricePoints(outcome.prices, `${path}.prices`),
      forcedCloses: reader
        .array(outcome.forcedCloses, `${path}.forcedCloses`)
        .map((value, closeIndex) => {
          const where = `${path}.forcedCloses[${closeIndex}]`
          const close = reader.object(value, where)
          const kind = close.kind
          if (!FORCED_CLOSE_KINDS.includes(kind as ForcedCloseKind)) {
            issues.push(
              issue(
                'result_field_invalid',
                `${where}.kind`,
                `kind is one of ${FORCED_CLOSE_KINDS.join(', ')}`,
              ),
            )
          }
          return {
            timeMs: reader.integer(close.timeMs, `${where}.timeMs`),
            account: reader.text(close.account, `${where}.account`),
            market: reader.text(close.market, `${where}.market`),
            size: reader.decimal(close.size, `${where}.size`),
            price: reader.decimal(close.price, `${where}.price`),
            value: reader.decimal(close.value, `${where}.value`),
            kind: kind as ForcedCloseKind,
          }
        }),
      insuranceFund: reader
        .array(outcome.insuranceFund, `${path}.insuranceFund`)
        .map((value, pointIndex) => {
          const where = `${path}.insuranceFund[${pointIndex}]`
          const point = reader.object(value, where)
          return {
            timeMs: reader.integer(point.timeMs, `${where}.timeMs`),
            balance: reader.decimal(point.balance, `${where}.balance`),
          }
        }),
      autoDeleverages: reader
        .array(outcome.autoDeleverages, `${path}.autoDeleverages`)
        .map((value, eventIndex) => {
          const where = `${path}.autoDeleverages[${eventIndex}]`
          const event = reader.object(value, where)
          return {
            timeMs: reader.integer(event.timeMs, `${where}.timeMs`),
            account: reader.text(event.account, `${where}.account`),
            market: reader.text(event.market, `${where}.market`),
            size: reader.decimal(event.size, `${where}.size`),
            price: reader.decimal(event.price, `${where}.price`),
            value: reader.decimal(event.value, `${where}.value`),
          }
        }),
      socializedLosses: reader
        .array(outcome.socializedLosses, `${path}.socializedLosses`)
        .map((value, lossIndex) => {
          const where = `${path}.socializedLosses[${lossIndex}]`
          const loss = reader.object(value, where)
          return {
            timeMs: reader.integer(loss.timeMs, `${where}.timeMs`),
            amount: reader.decimal(loss.amount, `${where}.amount`),
            accounts: reader.integer(loss.accounts, `${where}.accounts`),
          }
        }),
      shortfalls: reader
        .array(outcome.shortfalls, `${path}.shortfalls`)
        .map((value, shortfallIndex) => {
          const where = `${path}.shortfalls[${shortfallIndex}]`
          const shortfall = reader.object(value, where)
          return {
            timeMs: reader.integer(shortfall.timeMs, `${where}.timeMs`),
            account: reader.text(shortfall.account, `${where}.account`),
            amount: reader.decimal(shortfall.amount, `${where}.amount`),
          }
        }),
      badDebt: reader.decimal(outcome.badDebt, `${path}.badDebt`),
    }
    const lossList = (key: 'monteCarloLosses' | 'monteCarloLossesInQuote'): Fixed[] | undefined =>
      outcome[key] === undefined
        ? undefined
        : reader
            .array(outcome[key], `${path}.${key}`)
            .map((value, lossIndex) => reader.decimal(value, `${path}.${key}[${lossIndex}]`))
    const losses = lossList('monteCarloLosses')
    const lossesInQuote = lossList('monteCarloLossesInQuote')
    const marginResets =
      outcome.marginResets === undefined
        ? undefined
        : reader
            .array(outcome.marginResets, `${path}.marginResets`)
            .map((value, resetIndex): MarginResetRecord => {
              const where = `${path}.marginResets[${resetIndex}]`
              const reset = reader.object(value, where)
              return {
                timeMs: reader.integer(reset.timeMs, `${where}.timeMs`),
                factor: reader.decimal(reset.factor, `${where}.factor`),
                rate: reader.decimal(reset.rate, `${where}.rate`),
              }
            })
    return {
      ...base,
      ...(losses === undefined ? {} : { monteCarloLosses: losses }),
      ...(lossesInQuote === undefined ? {} : { monteCarloLossesInQuote: lossesInQuote }),
      ...(marginResets === undefined ? {} : { marginResets }),
    }
  })
  const seed = scenario.seed
  const population = scenario.population
  const result: SimulationResult = {
    title: reader.text(root.title, '$.title'),
    scenario: {
      name: reader.text(scenario.name, '$.scenario.name'),
      description: typeof scenario.description === 'string' ? scenario.description : '',
      ...(seed === undefined ? {} : { seed: reader.integer(seed, '$.scenario.seed') }),
      pathSource: reader.text(scenario.pathSource, '$.scenario.pathSource'),
      ...(population === undefined
        ? {}
        : { population: reader.text(population, '$.scenario.population') }),
    },
    market: reader.text(root.market, '$.market'),
    settlementAsset: reader.text(root.settlementAsset, '$.settlementAsset'),
    stepMs: reader.integer(root.stepMs, '$.stepMs'),
    exogenousPrices: pricePoints(root.exogenousPrices, '$.exogenousPrices'),
    outcomes,
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: result, warnings: [] }
}

function createReader(issues: Issue[]): {
  object(value: unknown, path: string): Record<string, unknown>
  array(value: unknown, path: string): unknown[]
  text(value: unknown, path: string): string
  integer(value: unknown, path: string): number
  decimal(value: unknown, path: string): Fixed
} {
  const bad = (path: string, message: string): void => {
    issues.push(issue('result_field_invalid', path, message))
  }
  return {
    object(value, path) {
      if (typeof value === 'object' && value !== null && !Array.isArray(value))
        return value as Record<string, unknown>
      bad(path, 'an object')
      return {}
    },
    array(value, path) {
      if (Array.isArray(value)) return value as unknown[]
      bad(path, 'an array')
      return []
    },
    text(value, path) {
      if (typeof value === 'string') return value
      bad(path, 'a string')
      return ''
    },
    integer(value, path) {
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value
      bad(path, 'a whole number')
      return 0
    },
    decimal(value, path) {
      const parsed = typeof value === 'string' ? parseFixed(value) : null
      if (parsed?.ok === true) return parsed.value
      bad(path, 'a decimal string')
      return 0n as Fixed
    },
  }
}
