/**
 * Socialized loss as data (docs/spec/socialized-loss.md, SOC-*): a deficit left after the insurance
 * fund is spread over winners (Vega: winners of the settlement run; Deribit, OKEx clawback,
 * Crypto.com: the session's profits) or over all open interest through a per-unit charge (Drift,
 * Mango). Pure: returns exact allocations and the uncovered remainder.
 */
import { assert } from '../assert.ts'
import {
  abs,
  divideRounded,
  type Fixed,
  fromScaled,
  max,
  min,
  mul,
  ONE,
  sub,
  sum,
  ZERO,
  div,
} from '../num/fixed.ts'
import {
  allocateProRataCapped,
  assertUniqueIds,
  assertValidPolicy,
  compareIds,
  issue,
  type PolicyIssue,
} from './common.ts'

/** How a pro-rata haircut is rounded to units of 10^-18 (SOC-003, SOC-004). */
export type HaircutRounding =
  /** Largest remainder (NUM-005): each haircut within one unit of its exact share. */
  | { readonly kind: 'largest_remainder' }
  /**
   * Vega-style: every haircut is floored; the units left (fewer than the number of winners) go to
   * the dust recipients in order, each up to its cap: `largest_profit` (ties by lower account id)
   * or `first_account_id`.
   */
  | {
      readonly kind: 'floor_with_dust'
      readonly dustRecipient: 'largest_profit' | 'first_account_id'
    }

export type SocializedLossPolicy =
  | {
      readonly kind: 'pro_rata_winners'
      /** Who the winners are; recorded in the plan, the arithmetic is the same (SOC-001). */
      readonly basis: 'settlement_run' | 'session_profits'
      /** Highest fraction of a winner's profit that may be taken (1 = 100%). */
      readonly maxRate: Fixed
      readonly rounding: HaircutRounding
    }
  | {
      readonly kind: 'open_interest_charge'
      /**
       * Where the over-collection of the rounded-up per-unit charge goes (SOC-011): credited to the
       * insurance fund, or refunded to the largest positions in order (ties by lower account id).
       */
      readonly overCollection: 'insurance_fund' | 'refund_largest_positions'
    }

/** Validates a socialized-loss policy; an empty list means valid. */
export function validateSocializedLossPolicy(policy: SocializedLossPolicy): PolicyIssue[] {
  if (policy.kind === 'pro_rata_winners' && (policy.maxRate <= 0n || policy.maxRate > ONE)) {
    return [issue('bad_max_rate', 'maxRate', 'the maximum haircut rate lies in (0, 1]')]
  }
  return []
}

export interface WinnerProfit {
  readonly accountId: string
  /** Profit of the run or session; accounts with profit ≤ 0 take no share. */
  readonly profit: Fixed
}

export interface HaircutAllocation {
  readonly accountId: string
  readonly profit: Fixed
  readonly haircut: Fixed
  readonly rule: string
  readonly reason: string
}

export interface ProRataHaircutPlan {
  readonly basis: 'settlement_run' | 'session_profits'
  readonly deficit: Fixed
  readonly allocations: readonly HaircutAllocation[]
  readonly covered: Fixed
  readonly uncovered: Fixed
  /** covered ÷ Σ profits, half-even, for display (the clawback rate of CLAW-01). */
  readonly rate: Fixed
  /** Units placed by the dust rule (0 with largest remainder). */
  readonly dust: Fixed
  readonly excluded: readonly string[]
}

/**
 * Spreads `deficit` over positive profits pro rata (SOC-001..SOC-006): rate = min(deficit,
 * Σ caps) ÷ Σ profits, cap_i = floor(maxRate × profit_i). Σ haircuts + uncovered = deficit; no
 * haircut is negative or above its cap; input order does not change the result.
 */
export function planProRataHaircut(
  policy: Extract<SocializedLossPolicy, { kind: 'pro_rata_winners' }>,
  deficit: Fixed,
  profits: readonly WinnerProfit[],
): ProRataHaircutPlan {
  assertValidPolicy(validateSocializedLossPolicy(policy), 'socialized-loss')
  assert(deficit >= 0n, 'Invariant: a deficit is not negative (SOC-001)')
  assertUniqueIds(
    profits.map((entry) => entry.accountId),
    'winner',
  )
  const winners = profits
    .filter((entry) => entry.profit > 0n)
    .sort((a, b) => compareIds(a.accountId, b.accountId))
  const excluded = profits
    .filter((entry) => entry.profit <= 0n)
    .map((entry) => entry.accountId)
    .sort(compareIds)
  const caps = new Map(
    winners.map((winner) => [
      winner.accountId,
      mul(policy.maxRate, winner.profit, 'floor') as bigint,
    ]),
  )
  const capTotal = [...caps.values()].reduce((total, cap) => total + cap, 0n)
  const target = deficit < capTotal ? (deficit as bigint) : capTotal
  const totalProfit = sum(winners.map((winner) => winner.profit))
  const haircuts = new Map<string, bigint>()
  let dust = 0n
  if (policy.rounding.kind === 'largest_remainder') {
    const { shares, unallocated } = allocateProRataCapped(
      target,
      winners.map((winner) => ({
        key: winner.accountId,
        weight: winner.profit,
        cap: caps.get(winner.accountId) ?? 0n,
      })),
    )
    assert(unallocated === 0n, 'Invariant: a target within the caps is fully allocated (SOC-002)')
    for (const [key, share] of shares) haircuts.set(key, share)
  } else {
    let placed = 0n
    for (const winner of winners) {
      const cap = caps.get(winner.accountId) ?? 0n
      const share = min(
        fromScaled(divideRounded(target * winner.profit, totalProfit, 'floor')),
        fromScaled(cap),
      )
      haircuts.set(winner.accountId, share)
      placed += share
    }
    dust = target - placed
    const recipients = [...winners].sort((a, b) =>
      policy.rounding.kind === 'floor_with_dust' &&
      policy.rounding.dustRecipient === 'largest_profit' &&
      a.profit !== b.profit
        ? a.profit > b.profit
          ? -1
          : 1
        : compareIds(a.accountId, b.accountId),
    )
    let left = dust
    for (const recipient of recipients) {
      if (left === 0n) break
      const current = haircuts.get(recipient.accountId) ?? 0n
      const room = (caps.get(recipient.accountId) ?? 0n) - current
      const extra = left < room ? left : room
      haircuts.set(recipient.accountId, current + extra)
      left -= extra
    }
    assert(left === 0n, 'Invariant: the dust fits within the caps (SOC-004)')
  }
  const allocations = winners.map((winner): HaircutAllocation => {
    const haircut = fromScaled(haircuts.get(winner.accountId) ?? 0n)
    assert(
      haircut >= 0n && haircut <= winner.profit,
      `Invariant: no winner is haircut beyond its profit (SOC-002, account=${winner.accountId})`,
    )
    return {
      accountId: winner.accountId,
      profit: winner.profit,
      haircut,
      rule: policy.rounding.kind === 'largest_remainder' ? 'SOC-003' : 'SOC-004',
      reason: `pro rata to ${policy.basis === 'settlement_run' ? 'this run’s wins' : 'the session’s profits'}`,
    }
  })
  const covered = sum(allocations.map((allocation) => allocation.haircut))
  assert(covered === target, 'Invariant: Σ haircuts = covered amount (SOC-002)')
  const uncovered = sub(deficit, covered)
  assert(uncovered >= 0n, 'Invariant: covered + uncovered = deficit (SOC-002)')
  return {
    basis: policy.basis,
    deficit,
    allocations,
    covered,
    uncovered,
    rate: totalProfit === 0n ? ZERO : div(covered, totalProfit, 'half_even'),
    dust: fromScaled(dust),
    excluded,
  }
}

/**
 * Trade8 socialized profit adjustment (SOC-007, exchanges.md §11 T8-01): the amount to socialize is
 * max(0, profits − losses − threshold), threshold = pool × thresholdRate (floored to 10^-18).
 */
export function excessOverThreshold(input: {
  readonly totalProfits: Fixed
  readonly totalLosses: Fixed
  readonly liquidityPool: Fixed
  readonly thresholdRate: Fixed
}): Fixed {
  const threshold = mul(input.liquidityPool, input.thresholdRate, 'floor')
  return max(ZERO, sub(sub(input.totalProfits, input.totalLosses), threshold))
}

export interface OpenPosition {
  readonly accountId: string
  /** Signed contracts; both sides pay. */
  readonly size: Fixed
}

export interface OpenInterestCharge {
  readonly accountId: string
  readonly size: Fixed
  /** ceil(perUnitCharge × |size|), less any refund. */
  readonly charge: Fixed
  readonly refund: Fixed
  readonly rule: string
}

export interface OpenInterestChargePlan {
  readonly deficit: Fixed
  /** ceil(deficit ÷ Σ|size|): the amount per contract (Drift's cumulative funding delta). */
  readonly perUnitCharge: Fixed
  readonly openInterest: Fixed
  readonly charges: readonly OpenInterestCharge[]
  /** Σ charges (after refunds) − deficit; credited to the insurance fund or 0 after refunds. */
  readonly overCollection: Fixed
  readonly overCollectionTo: 'insurance_fund' | 'refunded'
  readonly covered: Fixed
  readonly uncovered: Fixed
}

/**
 * Spreads `deficit` over all open interest (SOC-008..SOC-011): per-unit charge = ceil(deficit ÷ Σ|size|),
 * each position pays ceil(charge × |size|), so the deficit is always fully covered when open interest
 * exists. The over-collection is credited to the insurance fund, or refunded largest position first.
 */
export function planOpenInterestCharge(
  policy: Extract<SocializedLossPolicy, { kind: 'open_interest_charge' }>,
  deficit: Fixed,
  positions: readonly OpenPosition[],
): OpenInterestChargePlan {
  assertValidPolicy(validateSocializedLossPolicy(policy), 'socialized-loss')
  assert(deficit >= 0n, 'Invariant: a deficit is not negative (SOC-008)')
  assertUniqueIds(
    positions.map((position) => position.accountId),
    'open-interest account',
  )
  const open = positions
    .filter((position) => position.size !== 0n)
    .sort((a, b) => compareIds(a.accountId, b.accountId))
  const openInterest = sum(open.map((position) => abs(position.size)))
  if (openInterest === 0n || deficit === 0n) {
    return {
      deficit,
      perUnitCharge: ZERO,
      openInterest,
      charges: open.map((position) => ({
        accountId: position.accountId,
        size: position.size,
        charge: ZERO,
        refund: ZERO,
        rule: 'SOC-008',
      })),
      overCollection: ZERO,
      overCollectionTo: policy.overCollection === 'insurance_fund' ? 'insurance_fund' : 'refunded',
      covered: ZERO,
      uncovered: deficit,
    }
  }
  const perUnitCharge = div(deficit, openInterest, 'ceil')
  const gross = new Map(
    open.map((position) => [
      position.accountId,
      mul(perUnitCharge, abs(position.size), 'ceil') as bigint,
    ]),
  )
  const grossTotal = [...gross.values()].reduce((total, charge) => total + charge, 0n)
  let over = grossTotal - deficit
  assert(over >= 0n, 'Invariant: a rounded-up per-unit charge covers the deficit (SOC-009)')
  const refunds = new Map<string, bigint>()
  if (policy.overCollection === 'refund_largest_positions') {
    const bySize = [...open].sort((a, b) => {
      const left = abs(a.size)
      const right = abs(b.size)
      return left !== right ? (left > right ? -1 : 1) : compareIds(a.accountId, b.accountId)
    })
    for (const position of bySize) {
      if (over === 0n) break
      const charge = gross.get(position.accountId) ?? 0n
      const refund = over < charge ? over : charge
      refunds.set(position.accountId, refund)
      over -= refund
    }
    assert(over === 0n, 'Invariant: refunds return the whole over-collection (SOC-011)')
  }
  const charges = open.map((position): OpenInterestCharge => {
    const refund = refunds.get(position.accountId) ?? 0n
    const charge = (gross.get(position.accountId) ?? 0n) - refund
    assert(
      charge >= 0n,
      `Invariant: no charge is negative (SOC-010, account=${position.accountId})`,
    )
    return {
      accountId: position.accountId,
      size: position.size,
      charge: fromScaled(charge),
      refund: fromScaled(refund),
      rule: refund > 0n ? 'SOC-011' : 'SOC-009',
    }
  })
  const collected = sum(charges.map((charge) => charge.charge))
  const overCollection = sub(collected, deficit)
  assert(overCollection >= 0n, 'Invariant: Σ charges = deficit + over-collection (SOC-010)')
  return {
    deficit,
    perUnitCharge,
    openInterest,
    charges,
    overCollection,
    overCollectionTo: policy.overCollection === 'insurance_fund' ? 'insurance_fund' : 'refunded',
    covered: deficit,
    uncovered: ZERO,
  }
}
