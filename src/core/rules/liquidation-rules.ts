/**
 * The `liquidation` section of a rule-set file (docs/spec/liquidation.md, LIQ-001..LIQ-004): the
 * liquidation policy, settlement, backstop, insurance-fund layout and triggers, ADL and socialized
 * loss, read into `LiquidationRules` with every problem reported as an issue, and written back.
 * The loss policies are the loss module's types and validators (src/core/loss/).
 */
import type {
  AdlAllocation,
  AdlFees,
  AdlFundShare,
  AdlPolicy,
  AdlRankingFormula,
} from '../loss/adl.ts'
import { validateAdlPolicy } from '../loss/adl.ts'
import type { AdlTriggerRule, FundLayout, InsuranceFundPolicy } from '../loss/insurance-fund.ts'
import { validateInsuranceFundPolicy } from '../loss/insurance-fund.ts'
import type { HaircutRounding, SocializedLossPolicy } from '../loss/socialized-loss.ts'
import { validateSocializedLossPolicy } from '../loss/socialized-loss.ts'
import { type Fixed, formatFixed, ONE } from '../num/fixed.ts'
import type { Checker } from './parse.ts'
import { join } from './parse.ts'
import type { LiquidationPolicy, LiquidationRules, MarketRules } from './rule-set.ts'

/**
 * Vega's liquidation strategy (0012-POSR, `LiquidationStrategy`): how the network party disposes of
 * the positions it took over. Every `disposalTimeStepMs` it places one order for
 * `disposalFraction` of its position (rounded up to the lot), or for the whole position at or below
 * `fullDisposalSize` contracts; a fill never takes more than `maxFractionConsumed` of the volume the
 * matcher reports on the matched side within the range (rounded up to the lot), and the order's
 * limit is the reference price × (1 ∓ `disposalSlippageRange`) (LIQ-070..LIQ-076).
 */
export interface GradualDisposal {
  readonly kind: 'gradual_disposal'
  readonly disposalTimeStepMs: number
  readonly disposalFraction: Fixed
  readonly fullDisposalSize: Fixed
  readonly maxFractionConsumed: Fixed
  readonly disposalSlippageRange: Fixed
}

/**
 * The network party (Vega): a system account that takes a distressed scope's positions at the mark
 * at once (closeout) and disposes of them by its liquidation strategy; its PnL is settled against
 * the market's insurance pool (gains in, losses drawn, then the rest of the chain).
 */
export interface NetworkPartyRules {
  readonly account: string
  readonly liquidationStrategy: GradualDisposal
}

type JsonObject = Readonly<Record<string, unknown>>

const settlements = ['at_bankruptcy_price', 'at_fill_price'] as const
const orderLimits = ['bankruptcy', 'none'] as const
const feeCaps = ['none', 'surplus'] as const
const policyKinds = [
  'full_close',
  'risk_limit_step_down',
  'fixed_fraction',
  'restore_maintenance',
] as const
const stepTargets = ['next_lower_tier', 'first_tier'] as const
const layoutKinds = ['per_market', 'pooled', 'grouped'] as const
const triggerKinds = ['exhaustion', 'drawdown_from_peak', 'market_pnl_ratio'] as const
const rankingKinds = [
  'bitmex_pnl_leverage',
  'binance_leverage_pnl',
  'hyperliquid_index',
  'pnl_only',
  'dydx_offset',
] as const
const eligibilities = ['all_opposite', 'profitable_only'] as const
const executionPrices = ['bankruptcy', 'mark'] as const
const allocationKinds = ['queue', 'min_winner_haircut'] as const
const weightings = ['pnl', 'pnl_times_leverage'] as const
const adlFeeRates = ['maker', 'taker', 'none'] as const
const fundShares = ['none', 'down_to_trigger_level'] as const
const socializedKinds = ['pro_rata_winners', 'open_interest_charge'] as const
const bases = ['settlement_run', 'session_profits'] as const
const roundingKinds = ['largest_remainder', 'floor_with_dust'] as const
const dustRecipients = ['largest_profit', 'first_account_id'] as const
const overCollections = ['insurance_fund', 'refund_largest_positions'] as const
const backstopAccountPattern = /^@[a-z0-9][a-z0-9_-]*$/
const fundIdPattern = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/

/** Reads and validates the `liquidation` section; `undefined` when it has issues (all reported). */
export function readLiquidationRules(
  check: Checker,
  value: unknown,
  markets: ReadonlyMap<string, MarketRules>,
): LiquidationRules | undefined {
  const path = 'liquidation'
  const object = check.object(value, path)
  if (object === undefined) return undefined
  const before = check.issues.length
  check.knownFields(object, path, [
    'settlement',
    'orderLimit',
    'policy',
    'feeCap',
    'backstop',
    'insuranceFund',
    'adl',
    'socializedLoss',
    'network',
  ])
  const settlement = check.choice(object, 'settlement', path, settlements)
  const orderLimit = check.choice(object, 'orderLimit', path, orderLimits)
  const feeCap = check.choice(object, 'feeCap', path, feeCaps)
  const policy = readPolicy(check, check.present(object, 'policy', path), join(path, 'policy'))
  const backstop = readBackstop(check, object.backstop, join(path, 'backstop'))
  const insuranceFund = readFund(
    check,
    check.present(object, 'insuranceFund', path),
    join(path, 'insuranceFund'),
    markets,
  )
  const adl = object.adl === null || object.adl === undefined ? null : readAdl(check, object.adl)
  const socializedLoss =
    object.socializedLoss === null || object.socializedLoss === undefined
      ? null
      : readSocialized(check, object.socializedLoss)
  const network =
    object.network === null || object.network === undefined
      ? null
      : readNetwork(check, object.network, join(path, 'network'))
  if (
    check.issues.length > before ||
    settlement === undefined ||
    orderLimit === undefined ||
    feeCap === undefined ||
    policy === undefined ||
    backstop === undefined ||
    insuranceFund === undefined ||
    adl === undefined ||
    socializedLoss === undefined ||
    network === undefined
  )
    return undefined
  if (
    adl?.fundShare === 'down_to_trigger_level' &&
    insuranceFund.adlTriggers.some((trigger) => trigger.kind === 'drawdown_from_peak')
  )
    return check.report(
      'fund_share_trigger_unsupported',
      join(join(path, 'adl'), 'fundShare'),
      'down_to_trigger_level needs triggers with a level (exhaustion, market_pnl_ratio), not drawdown_from_peak',
    )
  if (network !== null && backstop !== null && network.account === backstop.account)
    return check.report(
      'network_is_backstop',
      join(join(path, 'network'), 'account'),
      'the network party and the backstop are different accounts',
    )
  return {
    settlement,
    orderLimit,
    policy,
    feeCap,
    backstop,
    insuranceFund,
    adl,
    socializedLoss,
    // Written only when present, so that a section without it reads and writes back unchanged.
    ...(object.network === undefined ? {} : { network }),
  }
}

function readNetwork(check: Checker, value: unknown, path: string): NetworkPartyRules | undefined {
  const object = check.object(value, path)
  if (object === undefined) return undefined
  const before = check.issues.length
  check.knownFields(object, path, ['account', 'liquidationStrategy'])
  const account = check.string(object, 'account', path, backstopAccountPattern)
  if (account === '@book')
    check.report('network_is_book', join(path, 'account'), 'the network party is not the book')
  const at = join(path, 'liquidationStrategy')
  const strategy = check.object(check.present(object, 'liquidationStrategy', path), at)
  if (strategy === undefined || account === undefined) return undefined
  const kind = check.choice(strategy, 'kind', at, ['gradual_disposal'] as const)
  check.knownFields(strategy, at, [
    'kind',
    'disposalTimeStepMs',
    'disposalFraction',
    'fullDisposalSize',
    'maxFractionConsumed',
    'disposalSlippageRange',
  ])
  const disposalTimeStepMs = milliseconds(check, strategy, 'disposalTimeStepMs', at)
  const disposalFraction = check.rate(strategy, 'disposalFraction', at)
  const fullDisposalSize = check.nonNegative(strategy, 'fullDisposalSize', at)
  const maxFractionConsumed = check.rate(strategy, 'maxFractionConsumed', at)
  const disposalSlippageRange = check.positive(strategy, 'disposalSlippageRange', at)
  if (disposalFraction === 0n)
    check.report('not_positive', join(at, 'disposalFraction'), 'must be above 0')
  if (maxFractionConsumed === 0n)
    check.report('not_positive', join(at, 'maxFractionConsumed'), 'must be above 0')
  if (
    check.issues.length > before ||
    kind === undefined ||
    disposalTimeStepMs === undefined ||
    disposalFraction === undefined ||
    fullDisposalSize === undefined ||
    maxFractionConsumed === undefined ||
    disposalSlippageRange === undefined
  )
    return undefined
  return {
    account,
    liquidationStrategy: {
      kind,
      disposalTimeStepMs,
      disposalFraction,
      fullDisposalSize,
      maxFractionConsumed,
      disposalSlippageRange,
    },
  }
}

function milliseconds(check: Checker, object: JsonObject, key: string, path: string) {
  const value = check.present(object, key, path)
  return value === undefined
    ? undefined
    : check.integer(value, join(path, key), 0, Number.MAX_SAFE_INTEGER)
}

function readPolicy(check: Checker, value: unknown, path: string): LiquidationPolicy | undefined {
  if (value === undefined) return undefined
  const object = check.object(value, path)
  if (object === undefined) return undefined
  const kind = check.choice(object, 'kind', path, policyKinds)
  switch (kind) {
    case undefined:
      return undefined
    case 'full_close':
      check.knownFields(object, path, ['kind'])
      return { kind }
    case 'risk_limit_step_down': {
      check.knownFields(object, path, ['kind', 'target'])
      const target = check.choice(object, 'target', path, stepTargets)
      return target === undefined ? undefined : { kind, target }
    }
    case 'fixed_fraction': {
      check.knownFields(object, path, ['kind', 'fraction', 'minimumValue', 'cooldownMs'])
      const fraction = check.rate(object, 'fraction', path)
      const minimumValue = check.nonNegative(object, 'minimumValue', path)
      const cooldownMs = milliseconds(check, object, 'cooldownMs', path)
      if (fraction === 0n) check.report('not_positive', join(path, 'fraction'), 'must be above 0')
      if (fraction === undefined || minimumValue === undefined || cooldownMs === undefined)
        return undefined
      return { kind, fraction, minimumValue, cooldownMs }
    }
    case 'restore_maintenance': {
      check.knownFields(object, path, ['kind', 'bufferRate'])
      const bufferRate = check.nonNegative(object, 'bufferRate', path)
      return bufferRate === undefined ? undefined : { kind, bufferRate }
    }
  }
}

function readBackstop(
  check: Checker,
  value: unknown,
  path: string,
): LiquidationRules['backstop'] | undefined {
  if (value === undefined || value === null) return null
  const object = check.object(value, path)
  if (object === undefined) return undefined
  check.knownFields(object, path, ['account', 'equityBelowMaintenanceRate'])
  const account = check.string(object, 'account', path, backstopAccountPattern)
  const rate = check.positive(object, 'equityBelowMaintenanceRate', path)
  if (account === '@book')
    check.report('backstop_is_book', join(path, 'account'), 'the backstop is not the book account')
  if (account === undefined || rate === undefined) return undefined
  return { account, equityBelowMaintenanceRate: rate }
}

function readFund(
  check: Checker,
  value: unknown,
  path: string,
  markets: ReadonlyMap<string, MarketRules>,
): InsuranceFundPolicy | undefined {
  if (value === undefined) return undefined
  const object = check.object(value, path)
  if (object === undefined) return undefined
  const before = check.issues.length
  check.knownFields(object, path, ['layout', 'drawFloor', 'marketDrawCaps', 'adlTriggers'])
  const layout = readLayout(check, check.present(object, 'layout', path), join(path, 'layout'))
  const drawFloor = check.nonNegative(object, 'drawFloor', path)
  const caps = new Map<string, Fixed>()
  if (object.marketDrawCaps !== undefined) {
    const capsObject = check.object(object.marketDrawCaps, join(path, 'marketDrawCaps'))
    for (const [market, cap] of Object.entries(capsObject ?? {})) {
      const at = join(join(path, 'marketDrawCaps'), market)
      if (!markets.has(market)) check.report('unknown_market', at, `no market "${market}"`)
      const parsed = check.decimalValue(cap, at)
      if (parsed !== undefined) caps.set(market, parsed)
    }
  }
  const triggers: AdlTriggerRule[] = []
  const triggerList = object.adlTriggers ?? []
  if (!Array.isArray(triggerList)) {
    check.report('not_an_array', join(path, 'adlTriggers'), 'adlTriggers must be an array')
  } else {
    triggerList.forEach((entry: unknown, index) => {
      const trigger = readTrigger(check, entry, `${join(path, 'adlTriggers')}[${index}]`)
      if (trigger !== undefined) triggers.push(trigger)
    })
  }
  if (check.issues.length > before || layout === undefined || drawFloor === undefined)
    return undefined
  const policy: InsuranceFundPolicy = {
    layout,
    drawFloor,
    marketDrawCaps: caps,
    adlTriggers: triggers,
  }
  for (const issue of validateInsuranceFundPolicy(policy))
    check.report(issue.code, join(path, issue.path), issue.message)
  return check.issues.length > before ? undefined : policy
}

function readLayout(check: Checker, value: unknown, path: string): FundLayout | undefined {
  if (value === undefined) return undefined
  const object = check.object(value, path)
  if (object === undefined) return undefined
  const kind = check.choice(object, 'kind', path, layoutKinds)
  switch (kind) {
    case undefined:
      return undefined
    case 'per_market':
      check.knownFields(object, path, ['kind'])
      return { kind }
    case 'pooled': {
      check.knownFields(object, path, ['kind', 'fundId'])
      const fundId = check.string(object, 'fundId', path, fundIdPattern)
      return fundId === undefined ? undefined : { kind, fundId }
    }
    case 'grouped': {
      check.knownFields(object, path, ['kind', 'marketToFund', 'fallbackFundId'])
      const map = new Map<string, string>()
      const mapObject = check.object(
        check.present(object, 'marketToFund', path),
        join(path, 'marketToFund'),
      )
      for (const [market, fund] of Object.entries(mapObject ?? {})) {
        if (typeof fund === 'string' && fundIdPattern.test(fund)) map.set(market, fund)
        else check.report('invalid_format', join(join(path, 'marketToFund'), market), 'a fund id')
      }
      const fallback = object.fallbackFundId
      if (fallback !== null && (typeof fallback !== 'string' || !fundIdPattern.test(fallback))) {
        check.report('invalid_format', join(path, 'fallbackFundId'), 'a fund id or null')
        return undefined
      }
      return { kind, marketToFund: map, fallbackFundId: fallback }
    }
  }
}

function readTrigger(check: Checker, value: unknown, path: string): AdlTriggerRule | undefined {
  const object = check.object(value, path)
  if (object === undefined) return undefined
  const kind = check.choice(object, 'kind', path, triggerKinds)
  switch (kind) {
    case undefined:
      return undefined
    case 'exhaustion': {
      check.knownFields(object, path, ['kind', 'threshold'])
      const threshold = check.decimal(object, 'threshold', path)
      return threshold === undefined ? undefined : { kind, threshold }
    }
    case 'drawdown_from_peak': {
      check.knownFields(object, path, ['kind', 'windowMs', 'maxDrawdownRate'])
      const windowMs = milliseconds(check, object, 'windowMs', path)
      const maxDrawdownRate = check.decimal(object, 'maxDrawdownRate', path)
      if (windowMs === undefined || maxDrawdownRate === undefined) return undefined
      return { kind, windowMs, maxDrawdownRate }
    }
    case 'market_pnl_ratio': {
      check.knownFields(object, path, [
        'kind',
        'windowMs',
        'triggerRatio',
        'stopRatio',
        'minBalance',
        'inclusive',
      ])
      const windowMs = milliseconds(check, object, 'windowMs', path)
      const triggerRatio = check.decimal(object, 'triggerRatio', path)
      const stopRatio = check.decimal(object, 'stopRatio', path)
      const minBalance = check.decimal(object, 'minBalance', path)
      const inclusive = object.inclusive
      if (typeof inclusive !== 'boolean') {
        check.report('not_a_boolean', join(path, 'inclusive'), 'inclusive is true or false')
        return undefined
      }
      if (
        windowMs === undefined ||
        triggerRatio === undefined ||
        stopRatio === undefined ||
        minBalance === undefined
      )
        return undefined
      return { kind, windowMs, triggerRatio, stopRatio, minBalance, inclusive }
    }
  }
}

function readAdl(check: Checker, value: unknown): AdlPolicy | undefined {
  const path = 'liquidation.adl'
  const object = check.object(value, path)
  if (object === undefined) return undefined
  check.knownFields(object, path, [
    'ranking',
    'eligibility',
    'executionPrice',
    'allocation',
    'fees',
    'fundShare',
  ])
  const rankingObject = check.object(check.present(object, 'ranking', path), join(path, 'ranking'))
  let ranking: AdlRankingFormula | undefined
  if (rankingObject !== undefined) {
    const at = join(path, 'ranking')
    const kind = check.choice(rankingObject, 'kind', at, rankingKinds)
    if (kind === 'binance_leverage_pnl') {
      check.knownFields(rankingObject, at, ['kind', 'walletFloor'])
      const walletFloor = check.positive(rankingObject, 'walletFloor', at)
      if (walletFloor !== undefined) ranking = { kind, walletFloor }
    } else if (kind !== undefined) {
      check.knownFields(rankingObject, at, ['kind'])
      ranking = { kind }
    }
  }
  const eligibility = check.choice(object, 'eligibility', path, eligibilities)
  const executionPrice = check.choice(object, 'executionPrice', path, executionPrices)
  const allocationObject = check.object(
    check.present(object, 'allocation', path),
    join(path, 'allocation'),
  )
  let allocation: AdlAllocation | undefined
  if (allocationObject !== undefined) {
    const at = join(path, 'allocation')
    const kind = check.choice(allocationObject, 'kind', at, allocationKinds)
    if (kind === 'queue') {
      check.knownFields(allocationObject, at, ['kind'])
      allocation = { kind }
    } else if (kind === 'min_winner_haircut') {
      check.knownFields(allocationObject, at, ['kind', 'weighting'])
      const weighting = check.choice(allocationObject, 'weighting', at, weightings)
      if (weighting !== undefined) allocation = { kind, weighting }
    }
  }
  let fees: AdlFees | undefined
  if (object.fees !== undefined) {
    const at = join(path, 'fees')
    const feesObject = check.object(object.fees, at)
    if (feesObject !== undefined) {
      check.knownFields(feesObject, at, ['deleveraged', 'liquidated'])
      const deleveraged = check.choice(feesObject, 'deleveraged', at, adlFeeRates)
      const liquidated = check.choice(feesObject, 'liquidated', at, adlFeeRates)
      if (deleveraged !== undefined && liquidated !== undefined) fees = { deleveraged, liquidated }
    }
  }
  const fundShare: AdlFundShare | undefined =
    object.fundShare === undefined ? undefined : check.choice(object, 'fundShare', path, fundShares)
  if (
    ranking === undefined ||
    eligibility === undefined ||
    executionPrice === undefined ||
    allocation === undefined ||
    (object.fees !== undefined && fees === undefined) ||
    (object.fundShare !== undefined && fundShare === undefined)
  )
    return undefined
  // Optional fields are written back only when the file has them (parse ∘ write, RUL-013).
  const policy: AdlPolicy = {
    ranking,
    eligibility,
    executionPrice,
    allocation,
    ...(fees === undefined ? {} : { fees }),
    ...(fundShare === undefined ? {} : { fundShare }),
  }
  const issues = validateAdlPolicy(policy)
  for (const issue of issues) check.report(issue.code, join(path, issue.path), issue.message)
  return issues.length > 0 ? undefined : policy
}

function readSocialized(check: Checker, value: unknown): SocializedLossPolicy | undefined {
  const path = 'liquidation.socializedLoss'
  const object = check.object(value, path)
  if (object === undefined) return undefined
  const kind = check.choice(object, 'kind', path, socializedKinds)
  let policy: SocializedLossPolicy | undefined
  if (kind === 'open_interest_charge') {
    check.knownFields(object, path, ['kind', 'overCollection'])
    const overCollection = check.choice(object, 'overCollection', path, overCollections)
    if (overCollection !== undefined) policy = { kind, overCollection }
  } else if (kind === 'pro_rata_winners') {
    check.knownFields(object, path, ['kind', 'basis', 'maxRate', 'rounding'])
    const basis = check.choice(object, 'basis', path, bases)
    const maxRate = object.maxRate === undefined ? ONE : check.rate(object, 'maxRate', path)
    const roundingObject = check.object(
      check.present(object, 'rounding', path),
      join(path, 'rounding'),
    )
    let rounding: HaircutRounding | undefined
    if (roundingObject !== undefined) {
      const at = join(path, 'rounding')
      const roundingKind = check.choice(roundingObject, 'kind', at, roundingKinds)
      if (roundingKind === 'largest_remainder') {
        check.knownFields(roundingObject, at, ['kind'])
        rounding = { kind: roundingKind }
      } else if (roundingKind === 'floor_with_dust') {
        check.knownFields(roundingObject, at, ['kind', 'dustRecipient'])
        const dustRecipient = check.choice(roundingObject, 'dustRecipient', at, dustRecipients)
        if (dustRecipient !== undefined) rounding = { kind: roundingKind, dustRecipient }
      }
    }
    if (basis !== undefined && maxRate !== undefined && rounding !== undefined)
      policy = { kind, basis, maxRate, rounding }
  }
  if (policy === undefined) return undefined
  const issues = validateSocializedLossPolicy(policy)
  for (const issue of issues) check.report(issue.code, join(path, issue.path), issue.message)
  return issues.length > 0 ? undefined : policy
}

/** The file form of the `liquidation` section (decimals as strings). */
export type LiquidationRulesJson = Readonly<Record<string, unknown>>

function decimalsOf(value: unknown): unknown {
  if (typeof value === 'bigint') return formatFixed(value as Fixed)
  if (value instanceof Map)
    return Object.fromEntries([...value].map(([key, item]) => [String(key), decimalsOf(item)]))
  if (Array.isArray(value)) return value.map(decimalsOf)
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, decimalsOf(item)]))
  return value
}

/** Writes the `liquidation` section back in file form (RUL-013: parse ∘ write is the identity). */
export function liquidationRulesToJson(rules: LiquidationRules): LiquidationRulesJson {
  return decimalsOf(rules) as LiquidationRulesJson
}
