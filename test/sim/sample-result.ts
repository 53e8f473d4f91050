/**
 * A small synthetic `SimulationResult` for report tests. It is built from the real path, population
 * and impact modules, but liquidation is a deliberately simple test rule (a position is closed when
 * the price crosses entry × (1 ∓ (1/leverage − maintenance rate)); shortfall goes to the fund, then
 * to ADL of the most profitable opposite accounts). It exercises every part of the report; it is
 * not the engine's liquidation logic.
 */
import { abs, type Fixed, fixedOf, mul, neg, toNumber } from '../../src/core/num/fixed.ts'
import { createImpactModel } from '../../src/sim/impact.ts'
import { generateShockPath, namedShock } from '../../src/sim/paths/shocks.ts'
import { defaultPopulationSpec, generatePopulation } from '../../src/sim/population.ts'
import type {
  Shortfall,
  AutoDeleverageEvent,
  BalancePoint,
  ForcedClose,
  RuleSetOutcome,
  SimulationResult,
} from '../../src/sim/report/result.ts'

export function buildSampleResult(): SimulationResult {
  const shock = namedShock('builtin-crash')!
  const path = generateShockPath(shock)
  const population = generatePopulation(defaultPopulationSpec({ accountCount: 400, seed: 11 }))
  const ruleSets = [
    { ruleSetId: 'venue-a', venue: 'Venue A', maintenanceRate: 0.005, fund: '250000' },
    { ruleSetId: 'venue-b', venue: 'Venue B', maintenanceRate: 0.01, fund: '60000' },
  ]
  const outcomes = ruleSets.map((ruleSet): RuleSetOutcome => {
    const impact = createImpactModel({
      impactCoefficient: 0.8,
      volatility: 0.04,
      volume: 2e9,
      halfLifeSteps: 60,
    })
    const open = population.accounts.flatMap((account) =>
      account.positions.map((position) => {
        const buffer = 1 / toNumber(account.leverage) - ruleSet.maintenanceRate
        const long = position.size > 0n
        return {
          account,
          position,
          long,
          trigger: toNumber(position.entryPrice) * (long ? 1 - buffer : 1 + buffer),
          closed: false,
        }
      }),
    )
    let fund = fixedOf(ruleSet.fund)
    const fundPath: BalancePoint[] = [{ timeMs: path.startTimeMs, balance: fund }]
    const closes: ForcedClose[] = []
    const deleverages: AutoDeleverageEvent[] = []
    let badDebt = 0n as Fixed
    const shortfalls: Shortfall[] = []
    const prices = path.points.map((point, step) => {
      let price = impact.impactedPrice(point.price, step, path.tickSize)
      for (const entry of open) {
        if (entry.closed) continue
        const crossed = entry.long
          ? toNumber(price) <= entry.trigger
          : toNumber(price) >= entry.trigger
        if (!crossed) continue
        entry.closed = true
        const size = entry.position.size
        const value = mul(abs(size), price, 'half_even')
        const pnl = mul(size, (price - entry.position.entryPrice) as Fixed, 'half_even')
        const equity = (entry.account.collateral + pnl) as Fixed
        closes.push({
          timeMs: point.timeMs,
          account: entry.account.id,
          market: entry.position.market,
          size: neg(size),
          price,
          value,
          kind: 'liquidation',
        })
        if (equity < 0n) {
          badDebt = (badDebt - equity) as Fixed
          shortfalls.push({ timeMs: point.timeMs, account: entry.account.id, amount: neg(equity) })
          fund = (fund + equity) as Fixed
          if (fund < 0n) {
            deleverages.push({
              timeMs: point.timeMs,
              account: `adl-${deleverages.length + 1}`,
              market: entry.position.market,
              size: size,
              price,
              value: neg(fund),
            })
            fund = 0n as Fixed
          }
        } else fund = (fund + mul(value, fixedOf('0.0002'), 'floor')) as Fixed
        fundPath.push({ timeMs: point.timeMs, balance: fund })
        impact.applyForcedFlow(step, toNumber(size > 0n ? neg(value) : value))
        price = impact.impactedPrice(point.price, step, path.tickSize)
      }
      return { timeMs: point.timeMs, price }
    })
    fundPath.push({ timeMs: path.points.at(-1)!.timeMs, balance: fund })
    const losses = Array.from({ length: 200 }, (_, index) =>
      fixedOf(String(((index * 7919) % 200) * (ruleSet.maintenanceRate * 10_000))),
    )
    return {
      ruleSetId: ruleSet.ruleSetId,
      venue: ruleSet.venue,
      market: 'BTCUSDT',
      settlementAsset: 'USDT',
      quoteAsset: 'USDT',
      prices,
      forcedCloses: closes,
      insuranceFund: fundPath,
      autoDeleverages: deleverages,
      socializedLosses: [],
      shortfalls,
      badDebt,
      monteCarloLosses: losses,
    }
  })
  return {
    title: 'Sample stress test: builtin-crash',
    scenario: {
      name: shock.name,
      description: shock.description,
      seed: shock.noise?.seed ?? 0,
      pathSource: path.source,
      population: population.source,
    },
    market: 'BTCUSDT',
    settlementAsset: 'USDT',
    stepMs: path.stepMs,
    exogenousPrices: path.points.map((point) => ({ timeMs: point.timeMs, price: point.price })),
    outcomes,
  }
}
