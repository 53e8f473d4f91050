/**
 * Clearing-house default waterfall and Cover-1/Cover-2 stress sizing as data
 * (docs/spec/default-waterfall.md, WF-*; theory.md §1). A waterfall is an ordered list of tranches;
 * the sources inside one tranche are used together, pro rata to their capacities. Pure: the caller
 * supplies members and defaulters, the planner returns who pays how much for whom.
 */
import { assert } from '../assert.ts'
import { allocateProRata } from '../num/allocate.ts'
import { add, type Fixed, fromScaled, max, min, mul, sub, sum, ZERO } from '../num/fixed.ts'
import {
  allocateProRataCapped,
  assertUniqueIds,
  assertValidPolicy,
  compareIds,
  issue,
  type PolicyIssue,
} from './common.ts'

/** One resource of a tranche (WF-001). */
export type WaterfallSource =
  /** The defaulter's own initial margin; used only for its own loss. */
  | { readonly kind: 'defaulter_margin' }
  /** The defaulter's own default-fund contribution; used only for its own loss. */
  | { readonly kind: 'defaulter_default_fund' }
  /** The clearing house's own capital (skin in the game, dedicated amounts, equity). */
  | { readonly kind: 'ccp_capital'; readonly name: string; readonly amount: Fixed }
  /** Surviving members' default-fund contributions, pro rata to contributions. */
  | { readonly kind: 'member_default_fund' }
  /**
   * Unfunded assessments on surviving members, pro rata to contributions, each capped at
   * capMultiple × contribution per capped period less what was already called in it
   * (`capMultipleForSeveralDefaults` applies when the period holds more than one default).
   */
  | {
      readonly kind: 'member_assessments'
      readonly capMultiple: Fixed
      readonly capMultipleForSeveralDefaults: Fixed | null
    }
  /** Variation-margin gains haircutting: pro rata to the survivors' VM gains, capped at each gain. */
  | { readonly kind: 'variation_margin_gains_haircut' }

export interface WaterfallTranche {
  readonly name: string
  readonly sources: readonly WaterfallSource[]
}

export interface WaterfallPolicy {
  readonly id: string
  readonly description: string
  /** Public sources the layer order and amounts come from. */
  readonly sources: readonly string[]
  readonly tranches: readonly WaterfallTranche[]
  /** What the remainder after the last tranche is: a partial tear-up, or an uncovered loss. */
  readonly endOfWaterfall: 'partial_tear_up' | 'uncovered'
}

const OWN_SOURCES = new Set<WaterfallSource['kind']>(['defaulter_margin', 'defaulter_default_fund'])

/** Validates a waterfall policy (WF-002); an empty list means valid. */
export function validateWaterfallPolicy(policy: WaterfallPolicy): PolicyIssue[] {
  const issues: PolicyIssue[] = []
  let mutualSeen = false
  const capitalNames = new Set<string>()
  policy.tranches.forEach((tranche, trancheIndex) => {
    const path = `tranches[${trancheIndex}]`
    if (tranche.sources.length === 0)
      issues.push(issue('empty_tranche', path, 'a tranche has at least one source'))
    const own = tranche.sources.filter((source) => OWN_SOURCES.has(source.kind))
    if (own.length > 0 && (tranche.sources.length > 1 || mutualSeen)) {
      issues.push(
        issue(
          'own_resources_misplaced',
          path,
          "a defaulter's own resources form single-source tranches before any mutualised tranche",
        ),
      )
    }
    if (own.length === 0) mutualSeen = true
    tranche.sources.forEach((source, sourceIndex) => {
      const sourcePath = `${path}.sources[${sourceIndex}]`
      if (source.kind === 'ccp_capital') {
        if (source.amount < 0n)
          issues.push(
            issue('negative_amount', `${sourcePath}.amount`, 'a capital amount is not negative'),
          )
        if (capitalNames.has(source.name))
          issues.push(
            issue(
              'duplicate_capital_name',
              `${sourcePath}.name`,
              'capital tranches have distinct names',
            ),
          )
        capitalNames.add(source.name)
      }
      if (source.kind === 'member_assessments') {
        if (source.capMultiple < 0n)
          issues.push(
            issue(
              'negative_cap_multiple',
              `${sourcePath}.capMultiple`,
              'an assessment cap multiple is not negative',
            ),
          )
        if (
          source.capMultipleForSeveralDefaults !== null &&
          source.capMultipleForSeveralDefaults < 0n
        ) {
          issues.push(
            issue(
              'negative_cap_multiple',
              `${sourcePath}.capMultipleForSeveralDefaults`,
              'an assessment cap multiple is not negative',
            ),
          )
        }
      }
    })
  })
  return issues
}

export interface Defaulter {
  readonly memberId: string
  /** Loss of closing out the defaulter's portfolio, before its own resources (≥ 0). */
  readonly closeOutLoss: Fixed
  readonly margin: Fixed
  readonly defaultFundContribution: Fixed
}

export interface ClearingMember {
  readonly memberId: string
  readonly defaultFundContribution: Fixed
  /** VM the member is owed in this run (≥ 0), the base of VM gains haircutting. */
  readonly variationMarginGain: Fixed
  /** Assessments already called from this member in the current capped period. */
  readonly assessmentsAlreadyCalled: Fixed
}

export interface WaterfallInput {
  readonly defaulters: readonly Defaulter[]
  /** All clearing members; defaulters listed here are left out of the mutualised layers. */
  readonly members: readonly ClearingMember[]
  /** Defaults in the current capped period, this run's included (default: number of defaulters). */
  readonly defaultsInCappedPeriod?: number
  /** What is left of each named capital tranche (default: its full amount). */
  readonly ccpCapitalRemaining?: ReadonlyMap<string, Fixed>
}

export interface PayerShare {
  readonly payerId: string
  readonly amount: Fixed
}

export interface SourceDraw {
  readonly trancheIndex: number
  readonly tranche: string
  readonly source: string
  readonly capacity: Fixed
  readonly drawn: Fixed
  readonly payers: readonly PayerShare[]
  /** The defaulters this draw covers, and how much for each (pro rata to residual losses). */
  readonly forDefaulters: readonly PayerShare[]
  readonly rule: string
  readonly reason: string
}

export interface DefaulterOutcome {
  readonly memberId: string
  readonly closeOutLoss: Fixed
  readonly ownResourcesUsed: Fixed
  /** Loss left after the defaulter's own resources, to be mutualised. */
  readonly residualLoss: Fixed
}

export interface WaterfallPlan {
  readonly policyId: string
  readonly totalLoss: Fixed
  readonly draws: readonly SourceDraw[]
  readonly defaulters: readonly DefaulterOutcome[]
  readonly covered: Fixed
  readonly tornUp: Fixed
  readonly uncovered: Fixed
  /** Σ of surviving members' default fund used: the replenishment call. */
  readonly defaultFundReplenishment: Fixed
}

function sourceName(source: WaterfallSource): string {
  return source.kind === 'ccp_capital' ? `ccp_capital:${source.name}` : source.kind
}

/**
 * Runs the waterfall (WF-003..WF-010). Each defaulter's own tranches cover its own loss first;
 * residual losses of simultaneous defaulters are pooled and the mutualised tranches are consumed in
 * order, each tranche's draw attributed to defaulters pro rata to their residual losses.
 * Invariant: Σ draws + tornUp + uncovered = Σ close-out losses.
 */
export function planDefaultWaterfall(
  policy: WaterfallPolicy,
  input: WaterfallInput,
): WaterfallPlan {
  assertValidPolicy(validateWaterfallPolicy(policy), 'waterfall')
  assertUniqueIds(
    input.defaulters.map((defaulter) => defaulter.memberId),
    'defaulter',
  )
  assertUniqueIds(
    input.members.map((member) => member.memberId),
    'clearing member',
  )
  const defaulters = [...input.defaulters].sort((a, b) => compareIds(a.memberId, b.memberId))
  const defaulterIds = new Set(defaulters.map((defaulter) => defaulter.memberId))
  const survivors = input.members
    .filter((member) => !defaulterIds.has(member.memberId))
    .sort((a, b) => compareIds(a.memberId, b.memberId))
  for (const defaulter of defaulters) {
    assert(
      defaulter.closeOutLoss >= 0n &&
        defaulter.margin >= 0n &&
        defaulter.defaultFundContribution >= 0n,
      `Invariant: defaulter amounts are not negative (WF-003, member=${defaulter.memberId})`,
    )
  }
  for (const member of survivors) {
    assert(
      member.defaultFundContribution >= 0n &&
        member.variationMarginGain >= 0n &&
        member.assessmentsAlreadyCalled >= 0n,
      `Invariant: member amounts are not negative (WF-003, member=${member.memberId})`,
    )
  }
  const defaultCount = input.defaultsInCappedPeriod ?? defaulters.length
  const draws: SourceDraw[] = []

  // Own resources, defaulter by defaulter (WF-004).
  const residual = new Map(
    defaulters.map((defaulter) => [defaulter.memberId, defaulter.closeOutLoss]),
  )
  const ownUsed = new Map(defaulters.map((defaulter) => [defaulter.memberId, ZERO]))
  policy.tranches.forEach((tranche, trancheIndex) => {
    const [source] = tranche.sources
    if (source === undefined || !OWN_SOURCES.has(source.kind)) return
    const payers: PayerShare[] = []
    let capacity = ZERO
    for (const defaulter of defaulters) {
      const resource =
        source.kind === 'defaulter_margin' ? defaulter.margin : defaulter.defaultFundContribution
      capacity = add(capacity, resource)
      const left = residual.get(defaulter.memberId) ?? ZERO
      const used = min(left, resource)
      residual.set(defaulter.memberId, sub(left, used))
      ownUsed.set(defaulter.memberId, add(ownUsed.get(defaulter.memberId) ?? ZERO, used))
      if (used > 0n) payers.push({ payerId: defaulter.memberId, amount: used })
    }
    draws.push({
      trancheIndex,
      tranche: tranche.name,
      source: sourceName(source),
      capacity,
      drawn: sum(payers.map((payer) => payer.amount)),
      payers,
      forDefaulters: payers,
      rule: 'WF-004',
      reason: "a defaulter's own resources cover only its own loss",
    })
  })

  // Mutualised tranches over the pooled residual (WF-005..WF-009).
  const residualLosses = defaulters.map((defaulter) => ({
    key: defaulter.memberId,
    weight: residual.get(defaulter.memberId) ?? ZERO,
  }))
  const totalResidual = sum(residualLosses.map((entry) => fromScaled(entry.weight)))
  let remaining = totalResidual
  let replenishment = ZERO
  policy.tranches.forEach((tranche, trancheIndex) => {
    if (tranche.sources.some((source) => OWN_SOURCES.has(source.kind))) return
    const capacities = tranche.sources.map((source) =>
      sourceCapacity(source, survivors, defaultCount, input.ccpCapitalRemaining),
    )
    const trancheCapacity = sum(capacities.map((capacity) => capacity.total))
    const drawn = min(remaining, trancheCapacity)
    const bySource =
      drawn === 0n
        ? new Map<string, bigint>()
        : allocateProRata(
            drawn,
            capacities.map((capacity, index) => ({ key: String(index), weight: capacity.total })),
          )
    tranche.sources.forEach((source, index) => {
      const capacity = capacities[index]
      assert(capacity !== undefined, 'Invariant: every source has a capacity (WF-005)')
      const share = fromScaled(bySource.get(String(index)) ?? 0n)
      const { shares, unallocated } = allocateProRataCapped(share, capacity.payers)
      assert(
        unallocated === 0n,
        `Invariant: a source's share fits its payers' capacity (WF-005, source=${sourceName(source)})`,
      )
      const payers = [...shares]
        .filter(([, amount]) => amount > 0n)
        .map(([payerId, amount]) => ({ payerId, amount: fromScaled(amount) }))
      const attributed =
        share === 0n || totalResidual === 0n
          ? new Map<string, bigint>()
          : allocateProRata(share, residualLosses)
      if (source.kind === 'member_default_fund') replenishment = add(replenishment, share)
      draws.push({
        trancheIndex,
        tranche: tranche.name,
        source: sourceName(source),
        capacity: capacity.total,
        drawn: share,
        payers,
        forDefaulters: [...attributed]
          .filter(([, amount]) => amount > 0n)
          .map(([payerId, amount]) => ({ payerId, amount: fromScaled(amount) })),
        rule: capacity.rule,
        reason: capacity.reason,
      })
    })
    remaining = sub(remaining, drawn)
  })

  const totalLoss = sum(defaulters.map((defaulter) => defaulter.closeOutLoss))
  const covered = sum(draws.map((draw) => draw.drawn))
  const tornUp = policy.endOfWaterfall === 'partial_tear_up' ? remaining : ZERO
  const uncovered = policy.endOfWaterfall === 'uncovered' ? remaining : ZERO
  assert(
    add(add(covered, tornUp), uncovered) === totalLoss,
    'Invariant: Σ draws + torn up + uncovered = total loss (WF-010)',
  )
  for (const draw of draws) {
    assert(
      draw.drawn <= draw.capacity && draw.drawn >= 0n,
      `Invariant: a draw stays within its capacity (WF-010, source=${draw.source})`,
    )
    assert(
      sum(draw.payers.map((payer) => payer.amount)) === draw.drawn,
      `Invariant: payers' shares sum to the draw (WF-010, source=${draw.source})`,
    )
  }
  return {
    policyId: policy.id,
    totalLoss,
    draws,
    defaulters: defaulters.map((defaulter) => ({
      memberId: defaulter.memberId,
      closeOutLoss: defaulter.closeOutLoss,
      ownResourcesUsed: ownUsed.get(defaulter.memberId) ?? ZERO,
      residualLoss: residual.get(defaulter.memberId) ?? ZERO,
    })),
    covered,
    tornUp,
    uncovered,
    defaultFundReplenishment: replenishment,
  }
}

interface SourceCapacity {
  readonly total: Fixed
  readonly payers: { key: string; weight: bigint; cap: bigint }[]
  readonly rule: string
  readonly reason: string
}

function sourceCapacity(
  source: WaterfallSource,
  survivors: readonly ClearingMember[],
  defaultCount: number,
  capitalRemaining: ReadonlyMap<string, Fixed> | undefined,
): SourceCapacity {
  const build = (
    payers: { key: string; weight: bigint; cap: bigint }[],
    rule: string,
    reason: string,
  ): SourceCapacity => ({
    total: fromScaled(payers.reduce((total, payer) => total + payer.cap, 0n)),
    payers,
    rule,
    reason,
  })
  switch (source.kind) {
    case 'ccp_capital': {
      const amount = max(
        ZERO,
        min(source.amount, capitalRemaining?.get(source.name) ?? source.amount),
      )
      return build(
        [{ key: `ccp:${source.name}`, weight: 1n, cap: amount }],
        'WF-006',
        'clearing-house capital, used in full before the next tranche',
      )
    }
    case 'member_default_fund':
      return build(
        survivors.map((member) => ({
          key: member.memberId,
          weight: member.defaultFundContribution,
          cap: member.defaultFundContribution,
        })),
        'WF-007',
        "surviving members' default fund, pro rata to contributions",
      )
    case 'member_assessments': {
      const multiple =
        defaultCount > 1 && source.capMultipleForSeveralDefaults !== null
          ? source.capMultipleForSeveralDefaults
          : source.capMultiple
      return build(
        survivors.map((member) => ({
          key: member.memberId,
          weight: member.defaultFundContribution,
          // The cap rounds down: a member is never assessed beyond k × contribution.
          cap: max(
            ZERO,
            sub(
              mul(multiple, member.defaultFundContribution, 'floor'),
              member.assessmentsAlreadyCalled,
            ),
          ),
        })),
        'WF-008',
        'assessments pro rata to contributions, capped per capped period',
      )
    }
    case 'variation_margin_gains_haircut':
      return build(
        survivors.map((member) => ({
          key: member.memberId,
          weight: member.variationMarginGain,
          cap: member.variationMarginGain,
        })),
        'WF-009',
        'variation-margin gains haircut pro rata to gains',
      )
    case 'defaulter_margin':
    case 'defaulter_default_fund':
      assert(false, "Invariant: a defaulter's own resources are not mutualised (WF-004)")
  }
}

/** Rules of an assessment capped period, in business days (Eurex: 20, at most 3 months ≈ 63). */
export interface CappedPeriodRules {
  readonly periodBusinessDays: number
  readonly maxBusinessDays: number
}

export interface CappedPeriod {
  /** First business day (index) of the period: the first default's declaration day. */
  readonly start: number
  /** First business day after the period: the period covers [start, end). */
  readonly end: number
  readonly defaultDays: readonly number[]
}

/**
 * Capped periods from declaration days (WF-011, theory.md W4): a default opens a period of
 * `periodBusinessDays`; a default declared before the period's end extends it to that day +
 * `periodBusinessDays`, never beyond start + `maxBusinessDays`; a default on or after the end
 * opens a new period with a fresh cap. Days are business-day indexes supplied by the caller.
 */
export function cappedPeriods(
  defaultDays: readonly number[],
  rules: CappedPeriodRules,
): CappedPeriod[] {
  assert(
    Number.isSafeInteger(rules.periodBusinessDays) &&
      rules.periodBusinessDays > 0 &&
      rules.maxBusinessDays >= rules.periodBusinessDays,
    'Invariant: a capped period has a positive length within its maximum (WF-011)',
  )
  const periods: { start: number; end: number; defaultDays: number[] }[] = []
  for (const day of [...defaultDays].sort((a, b) => a - b)) {
    assert(
      Number.isSafeInteger(day),
      'Invariant: declaration days are whole business-day indexes (WF-011)',
    )
    const current = periods.at(-1)
    if (current !== undefined && day < current.end) {
      current.end = Math.min(
        Math.max(current.end, day + rules.periodBusinessDays),
        current.start + rules.maxBusinessDays,
      )
      current.defaultDays.push(day)
    } else {
      periods.push({
        start: day,
        end: Math.min(day + rules.periodBusinessDays, day + rules.maxBusinessDays),
        defaultDays: [day],
      })
    }
  }
  return periods
}

export interface StressScenario {
  readonly scenarioId: string
  /** Portfolio loss of each member group under the scenario (loss positive). */
  readonly losses: readonly { readonly groupId: string; readonly stressLoss: Fixed }[]
}

export interface GroupCollateral {
  readonly groupId: string
  readonly margin: Fixed
  readonly defaultFundContribution: Fixed
}

export interface ScenarioCover {
  readonly scenarioId: string
  /** Uncollateralised losses, largest first (ties by group id). */
  readonly uncollateralised: readonly { readonly groupId: string; readonly amount: Fixed }[]
  readonly cover1: Fixed
  readonly cover2: Fixed
  /** max(largest, second + third largest) (EMIR Art. 43 reading, theory.md §1.7). */
  readonly emir: Fixed
}

export interface CoverReport {
  readonly scenarios: readonly ScenarioCover[]
  readonly cover1: Fixed
  readonly cover2: Fixed
  readonly emir: Fixed
  readonly defaultFundSize: Fixed
  readonly adequate: { readonly cover1: boolean; readonly cover2: boolean; readonly emir: boolean }
}

/**
 * Cover-1 / Cover-2 stress sizing (WF-012, theory.md §1.7): U = max(0, loss − margin − (optionally)
 * own DF contribution) per group and scenario; Cover 1 = largest U, Cover 2 = two largest, EMIR =
 * max(largest, second + third); each requirement is the worst over scenarios, and the fund is
 * adequate for a rule when its size is at least that requirement. Exact.
 */
export function coverStress(
  scenarios: readonly StressScenario[],
  collateral: readonly GroupCollateral[],
  options: { readonly includeOwnDefaultFund: boolean; readonly defaultFundSize: Fixed },
): CoverReport {
  assertUniqueIds(
    collateral.map((entry) => entry.groupId),
    'member group',
  )
  const collateralBy = new Map(collateral.map((entry) => [entry.groupId, entry]))
  const covers = scenarios.map((scenario): ScenarioCover => {
    assertUniqueIds(
      scenario.losses.map((entry) => entry.groupId),
      `member group in scenario ${scenario.scenarioId}`,
    )
    const uncollateralised = scenario.losses
      .map(({ groupId, stressLoss }) => {
        const held = collateralBy.get(groupId)
        const offset =
          held === undefined
            ? ZERO
            : options.includeOwnDefaultFund
              ? add(held.margin, held.defaultFundContribution)
              : held.margin
        return { groupId, amount: max(ZERO, sub(stressLoss, offset)) }
      })
      .sort((a, b) =>
        a.amount !== b.amount ? (a.amount > b.amount ? -1 : 1) : compareIds(a.groupId, b.groupId),
      )
    const [first, second, third] = uncollateralised.map((entry) => entry.amount)
    const cover1 = first ?? ZERO
    const cover2 = add(cover1, second ?? ZERO)
    return {
      scenarioId: scenario.scenarioId,
      uncollateralised,
      cover1,
      cover2,
      emir: max(cover1, add(second ?? ZERO, third ?? ZERO)),
    }
  })
  const worst = (pick: (cover: ScenarioCover) => Fixed): Fixed =>
    covers.reduce((best, cover) => max(best, pick(cover)), ZERO)
  const cover1 = worst((cover) => cover.cover1)
  const cover2 = worst((cover) => cover.cover2)
  const emir = worst((cover) => cover.emir)
  return {
    scenarios: covers,
    cover1,
    cover2,
    emir,
    defaultFundSize: options.defaultFundSize,
    adequate: {
      cover1: options.defaultFundSize >= cover1,
      cover2: options.defaultFundSize >= cover2,
      emir: options.defaultFundSize >= emir,
    },
  }
}
