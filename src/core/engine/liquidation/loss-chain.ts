/**
 * The loss chain (docs/spec/liquidation.md, LIQ-040..LIQ-046): a shortfall goes to the insurance
 * fund, then ADL, then socialized loss, as the rule set orders them; the loss planners of
 * src/core/loss do the draws.
 */
import { assert } from '../../assert.ts'
import { evaluateAdlTriggers, type FundState, planFundDraw } from '../../loss/insurance-fund.ts'
import { planOpenInterestCharge, planProRataHaircut } from '../../loss/socialized-loss.ts'
import { unrealizedPnl } from '../../model/position-math.ts'
import { add, type Fixed, max, min, sub, sum, ZERO } from '../../num/fixed.ts'
import type { MarketRules } from '../../rules/rule-set.ts'
import { type Holder, insuranceFundOf, isolatedMargin, wallet } from '../plan.ts'
import { type AccountState, holdersOf } from '../state.ts'
import type { ShortfallRecord } from './plan-part.ts'
import { fundMarketKey, type LiquidationOrder, withFundPoint } from './state.ts'
import { Planner, ruleSetFields } from './planner.ts'
import { isSystemAccount } from './system-accounts.ts'

// The loss chain (LIQ-040..LIQ-046)

export function fundStateOf(
  work: Planner,
  market: string,
  asset: string,
): { fund: string | null; funds: Map<string, FundState> } {
  const holder = insuranceFundOf(work.rules, market)
  const fund = holder.kind === 'insurance_fund' && holder.fund !== undefined ? holder.fund : null
  const funds = new Map<string, FundState>()
  if (fund !== null) {
    const drawn = new Map<string, Fixed>()
    const key = `${fund}/${market}`
    const pending = sum(
      work.drawnDeltas.filter((entry) => entry.key === key).map((entry) => entry.delta),
    )
    drawn.set(market, add(work.state.liquidation.drawnByMarket.get(key) ?? ZERO, pending))
    funds.set(fund, { fundId: fund, balance: work.poolBalance(fund, asset), drawnByMarket: drawn })
  }
  return { fund, funds }
}

/** ADL trigger evaluation after a hypothetical draw (INS-005..INS-007). */
export function triggersAfterDraw(
  work: Planner,
  fund: string | null,
  asset: string,
  market: string,
  drawn: Fixed,
) {
  const policy = work.liquidation.insuranceFund
  if (fund === null || policy.adlTriggers.length === 0)
    return { active: false, states: [] as boolean[], beyondLevel: ZERO }
  const key = fundMarketKey(fund, asset, market)
  const recorded = work.state.liquidation.fundHistory.get(key) ?? []
  const pnl = sub(
    add(
      work.state.liquidation.fundMarketPnl.get(key) ?? ZERO,
      sum(work.marketPnlDeltas.filter((entry) => entry.key === key).map((entry) => entry.delta)),
    ),
    drawn,
  )
  // Every recorded point counts, also those of this millisecond (a peak reached earlier in it).
  const balanceAfter = sub(work.poolBalance(fund, asset), drawn)
  const history = withFundPoint(
    recorded,
    { timestampMs: work.nowMs, balance: balanceAfter, marketPnl: pnl },
    Number.POSITIVE_INFINITY,
  )
  const report = evaluateAdlTriggers(
    policy,
    history,
    work.state.liquidation.triggerActive.get(key) ?? [],
  )
  // LIQ-055: how far the draw takes the fund past the level of its active triggers (the pool's
  // exhaustion threshold; the PnL ratio's trigger level, BY-07 (1)), at most the draw itself.
  let beyondLevel = ZERO
  report.evaluations.forEach((evaluation, index) => {
    const rule = policy.adlTriggers[index]
    if (!evaluation.active || rule === undefined) return
    const beyond =
      rule.kind === 'exhaustion'
        ? sub(rule.threshold, balanceAfter)
        : rule.kind === 'market_pnl_ratio'
          ? evaluation.lossBeyondTrigger
          : drawn
    beyondLevel = max(beyondLevel, min(drawn, max(ZERO, beyond)))
  })
  return {
    active: report.active,
    states: report.evaluations.map((evaluation) => evaluation.active),
    beyondLevel,
  }
}

export function runChain(
  work: Planner,
  order: LiquidationOrder,
  account: AccountState,
  market: MarketRules,
  payee: Holder,
  shortfall: Fixed,
  adlCovered: Fixed,
): { paid: Fixed; uncovered: Fixed } {
  const asset = market.instrument.settlementAsset
  const marketId = market.instrument.market
  if (shortfall === 0n && adlCovered === 0n) return { paid: ZERO, uncovered: ZERO }
  const { fund, funds } = fundStateOf(work, marketId, asset)
  const draw = planFundDraw(work.liquidation.insuranceFund, funds, marketId, shortfall)
  if (draw.drawn > 0n)
    work.fundFlow(marketId, asset, payee, draw.drawn, 'shortfall_draw', draw.explanation.rule)
  if (fund !== null && draw.drawn > 0n) {
    const triggers = triggersAfterDraw(work, fund, asset, marketId, ZERO)
    work.triggerActive.push({ key: fundMarketKey(fund, asset, marketId), active: triggers.states })
  }
  let rest = draw.uncovered
  let socialized = ZERO
  const policy = work.liquidation.socializedLoss
  if (rest > 0n && policy !== null) {
    const mark = work.markOf(marketId)
    const holders: AccountState[] = []
    for (const id of holdersOf(work.state, marketId)) {
      const other = work.state.accounts.get(id)
      if (
        other !== undefined &&
        other.id !== account.id &&
        !isSystemAccount(other.id) &&
        !work.closedPositions.has(`${other.id}/${marketId}`)
      )
        holders.push(other)
    }
    const charges: { account: AccountState; amount: Fixed }[] = []
    if (policy.kind === 'pro_rata_winners' && mark !== undefined) {
      const profits = holders.map((other) => {
        const position = other.positions.get(marketId)
        assert(position !== undefined, 'Invariant: a holder has its position (LIQ-044)')
        return {
          accountId: other.id,
          profit: unrealizedPnl(market.instrument, position.size, position.entryValue, mark),
        }
      })
      const haircuts = planProRataHaircut(policy, rest, profits)
      for (const allocation of haircuts.allocations) {
        const other = work.state.accounts.get(allocation.accountId)
        if (other !== undefined && allocation.haircut > 0n)
          charges.push({ account: other, amount: allocation.haircut })
      }
    }
    if (policy.kind === 'open_interest_charge') {
      const charge = planOpenInterestCharge(
        policy,
        rest,
        holders.map((other) => ({
          accountId: other.id,
          size: other.positions.get(marketId)?.size ?? ZERO,
        })),
      )
      for (const entry of charge.charges) {
        const other = work.state.accounts.get(entry.accountId)
        if (other !== undefined && entry.charge > 0n)
          charges.push({ account: other, amount: entry.charge })
      }
    }
    let collected = ZERO
    for (const { account: other, amount } of charges) {
      const position = other.positions.get(marketId)
      const from =
        position?.marginMode === 'isolated' ? isolatedMargin(other.id, marketId) : wallet(other.id)
      work.transfers.push({ asset, from, to: payee, amount })
      collected = add(collected, amount)
      work.events.push({
        type: 'socialized_loss_charged',
        orderId: order.orderId,
        account: other.id,
        counterparty: account.id,
        market: marketId,
        amount,
        basis: policy.kind === 'pro_rata_winners' ? policy.basis : 'open_interest',
        rule: policy.kind === 'pro_rata_winners' ? 'SOC-002' : 'SOC-009',
        ...ruleSetFields(work.rules),
      })
    }
    const over = max(ZERO, sub(collected, rest))
    if (over > 0n) work.fundFlow(marketId, asset, payee, over, 'over_collection', 'SOC-011')
    socialized = min(collected, rest)
    rest = sub(rest, socialized)
  }
  const uncovered = rest
  const paid = add(draw.drawn, socialized)
  const record: ShortfallRecord = {
    orderId: order.orderId,
    account: account.id,
    asset,
    shortfall: add(shortfall, adlCovered),
    insuranceFund: draw.drawn,
    adl: adlCovered,
    socialized,
    uncovered,
  }
  work.shortfalls.push(record)
  work.events.push({
    type: 'shortfall_allocated',
    orderId: order.orderId,
    account: account.id,
    market: marketId,
    asset,
    shortfall: record.shortfall,
    insuranceFund: record.insuranceFund,
    adl: record.adl,
    socialized: record.socialized,
    uncovered: record.uncovered,
    fund,
    fundLimitedBy: draw.limitedBy,
    chainExhausted: uncovered > 0n,
    rule: uncovered > 0n ? 'LIQ-045' : 'LIQ-040',
    ...ruleSetFields(work.rules),
  })
  return { paid, uncovered }
}
