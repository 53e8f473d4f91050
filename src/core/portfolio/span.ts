/**
 * SPAN-style scenario portfolio margin (docs/spec/portfolio-margin.md, PFM-001..PFM-012).
 *
 * Positions are grouped by product (a SPAN "combined commodity": every future and option on one
 * underlying). For each product:
 *   scan risk   = max(0, max over scenarios s of Σ size × riskArray[s])        (loss positive)
 *   intra charge= Σ over calendar spreads formed from opposite net deltas of two tiers × charge
 *   inter credit= Σ over inter-product spreads: creditRate × weighted price risk × deltas used
 *   requirement = max(scan risk + intra charge − inter credit, short option minimum, 0)
 * The portfolio requirement is the sum over products. The result is itemised against the sum of
 * the legs (each position margined alone): every offset is an item that says how much it moved
 * the requirement, and legs total + Σ items = requirement exactly.
 */
import { assert } from '../assert.ts'
import {
  abs,
  add,
  div,
  type Fixed,
  fixed,
  fixedOf,
  formatFixed,
  max,
  min,
  mul,
  mul3,
  neg,
  ONE,
  sign,
  sub,
  sum,
  ZERO,
} from '../num/fixed.ts'
import { black76, type OptionRight } from '../options/black76.ts'

/** One scenario of a risk array, in multiples of the product's scan ranges. */
export interface ScanScenario {
  /** Price move as a multiple of the price scan range (e.g. −1/3, +1, or ±2 for an extreme move). */
  readonly priceMove: Fixed
  /** Volatility move as a multiple of the volatility scan range (−1, 0 or +1). */
  readonly volatilityMove: Fixed
  /** Share of the scenario's loss that counts (1, or the cover fraction of an extreme move). */
  readonly weight: Fixed
}

/** A calendar (intra-product) spread: net deltas of opposite sign in two tiers, charged per spread. */
export interface IntraSpreadRule {
  readonly tierA: string
  readonly tierB: string
  /** Charge per spread (one delta of each leg), in the settlement currency. */
  readonly chargePerSpread: Fixed
}

/** One leg of an inter-product spread. */
export interface InterSpreadLeg {
  readonly product: string
  /** Deltas of this product in one spread (corn 2 : soybeans 1). */
  readonly deltaRatio: Fixed
  /** Legs on side A need net deltas of one sign, legs on side B the opposite sign. */
  readonly side: 'A' | 'B'
}

/** An inter-product spread credit between correlated products (BTC vs ETH, corn vs soybeans). */
export interface InterSpreadRule {
  readonly id: string
  /** Share of the legs' weighted price risk credited, 0..1. */
  readonly creditRate: Fixed
  readonly legs: readonly InterSpreadLeg[]
}

/**
 * How the weighted price risk (price risk per delta) of a product is found:
 * - `normal`: (scan risk − time risk) ÷ |net delta|;
 * - `scan_range`: price scan range × contract size (the outright risk of one future).
 */
export type WeightedPriceRiskMethod = 'normal' | 'scan_range'

/** One product (combined commodity) and its margin parameters. */
export interface SpanProduct {
  readonly id: string
  /** Units of the underlying per contract: a loss of one price point costs this much. */
  readonly contractSize: Fixed
  /** Price scan range in price points (a future's outright margin is this × contract size). */
  readonly priceScanRange: Fixed
  /** Volatility scan range in absolute volatility (0.05 = 5 vol points). */
  readonly volatilityScanRange: Fixed
  /** Charge per short option contract; the product's requirement is never below it. */
  readonly shortOptionMinimum: Fixed
  readonly weightedPriceRisk: WeightedPriceRiskMethod
  /** Calendar spreads, formed in this order. */
  readonly intraSpreads: readonly IntraSpreadRule[]
}

/** The scenario portfolio margin rules: scenarios, products and inter-product spreads. */
export interface SpanRules {
  readonly scenarios: readonly ScanScenario[]
  readonly products: readonly SpanProduct[]
  /** Inter-product spreads, formed in this order (priority). */
  readonly interSpreads: readonly InterSpreadRule[]
}

interface InstrumentBase {
  readonly market: string
  readonly product: string
  /** Tier (usually the expiry month) used to form calendar spreads. */
  readonly tier: string
  /** Overrides the product's price scan range for this instrument (a month with its own range). */
  readonly priceScanRange?: Fixed
}

/** An instrument of a scenario portfolio, with the market data its risk array is computed from. */
export type PortfolioInstrument =
  | (InstrumentBase & { readonly kind: 'future'; readonly price: Fixed })
  | (InstrumentBase & {
      readonly kind: 'option'
      readonly right: OptionRight
      readonly strike: Fixed
      /** Price of the underlying future or forward (F). */
      readonly underlyingPrice: Fixed
      readonly timeToExpiryYears: Fixed
      readonly volatility: Fixed
      readonly rate: Fixed
    })
  /** A published risk array (loss positive, per long contract) with its delta. */
  | (InstrumentBase & {
      readonly kind: 'risk_array'
      readonly riskArray: readonly Fixed[]
      readonly delta: Fixed
      /** True when the instrument is an option (counts toward the short option minimum). */
      readonly isOption: boolean
      /** Value of one contract (for the net option value); 0 when not given. */
      readonly value: Fixed
    })

/** A signed holding of an instrument, in contracts (+ long, − short). */
export interface PortfolioPosition {
  readonly market: string
  readonly size: Fixed
}

/** Risk array and delta of one long contract (PFM-002, PFM-003). */
export interface InstrumentRisk {
  readonly market: string
  /** Loss per long contract in each scenario (positive = loss), weight applied. */
  readonly riskArray: readonly Fixed[]
  /** Delta per contract, in contracts of the underlying future. */
  readonly delta: Fixed
  /** Value of one contract (options: Black-76 × contract size; futures: 0). */
  readonly value: Fixed
  readonly isOption: boolean
}

/** The 16 standard SPAN scenarios (PFM-001): 7 price moves × 2 volatility moves, then two extremes. */
export function standardScenarios(extremeMove: Fixed, extremeCover: Fixed): ScanScenario[] {
  const third = fixedOf('0.333333333333333333')
  const twoThirds = fixedOf('0.666666666666666667')
  const moves = [ZERO, third, neg(third), twoThirds, neg(twoThirds), ONE, neg(ONE)]
  const scenarios: ScanScenario[] = []
  for (const priceMove of moves) {
    for (const volatilityMove of [ONE, neg(ONE)]) {
      scenarios.push({ priceMove, volatilityMove, weight: ONE })
    }
  }
  // The standard order lists the unchanged price first with vol up, then vol down: 1/2 = (0,+1), (0,−1).
  scenarios.push({ priceMove: extremeMove, volatilityMove: ZERO, weight: extremeCover })
  scenarios.push({ priceMove: neg(extremeMove), volatilityMove: ZERO, weight: extremeCover })
  return scenarios
}

/** Risk array of one long contract (PFM-002): linear for futures, Black-76 revaluation for options. */
export function instrumentRisk(
  rules: SpanRules,
  product: SpanProduct,
  instrument: PortfolioInstrument,
): InstrumentRisk {
  if (instrument.kind === 'risk_array') {
    assert(
      instrument.riskArray.length === rules.scenarios.length,
      `Invariant: a risk array has one entry per scenario (PFM-002, market=${instrument.market})`,
    )
    return {
      market: instrument.market,
      riskArray: instrument.riskArray,
      delta: instrument.delta,
      value: instrument.value,
      isOption: instrument.isOption,
    }
  }
  const scanRange = instrument.priceScanRange ?? product.priceScanRange
  if (instrument.kind === 'future') {
    const riskArray = rules.scenarios.map((scenario) =>
      mul3(
        neg(mul(scenario.priceMove, scanRange, 'half_even')),
        product.contractSize,
        scenario.weight,
        'ceil',
      ),
    )
    return { market: instrument.market, riskArray, delta: ONE, value: ZERO, isOption: false }
  }
  const base = black76({
    right: instrument.right,
    forward: instrument.underlyingPrice,
    strike: instrument.strike,
    timeToExpiryYears: instrument.timeToExpiryYears,
    volatility: instrument.volatility,
    rate: instrument.rate,
  })
  const riskArray = rules.scenarios.map((scenario) => {
    const forward = max(
      ZERO,
      add(instrument.underlyingPrice, mul(scenario.priceMove, scanRange, 'half_even')),
    )
    const volatility = max(
      ZERO,
      add(
        instrument.volatility,
        mul(scenario.volatilityMove, product.volatilityScanRange, 'half_even'),
      ),
    )
    const moved = black76({
      right: instrument.right,
      forward,
      strike: instrument.strike,
      timeToExpiryYears: instrument.timeToExpiryYears,
      volatility,
      rate: instrument.rate,
    })
    return mul3(sub(base.value, moved.value), product.contractSize, scenario.weight, 'ceil')
  })
  return {
    market: instrument.market,
    riskArray,
    delta: base.delta,
    value: mul(base.value, product.contractSize, 'half_even'),
    isOption: true,
  }
}

/** A calendar spread formed inside a product. */
export interface IntraSpreadItem {
  readonly tierA: string
  readonly tierB: string
  readonly spreads: Fixed
  readonly charge: Fixed
}

/** One product's share of an inter-product spread credit. */
export interface InterSpreadItem {
  readonly spread: string
  readonly spreads: Fixed
  readonly deltasUsed: Fixed
  readonly weightedPriceRisk: Fixed
  readonly credit: Fixed
}

/** The margin of one product (combined commodity). */
export interface ProductMargin {
  readonly product: string
  /** Σ of the positions' risk arrays, per scenario. */
  readonly portfolioRiskArray: readonly Fixed[]
  readonly scanRisk: Fixed
  /** 1-based index of the scenario that sets the scan risk (0 when no scenario loses). */
  readonly worstScenario: number
  /** Average of the first two scenarios (price unchanged, volatility up and down). */
  readonly timeRisk: Fixed
  readonly netDelta: Fixed
  readonly weightedPriceRisk: Fixed
  readonly intraSpreads: readonly IntraSpreadItem[]
  readonly intraSpreadCharge: Fixed
  readonly interSpreads: readonly InterSpreadItem[]
  readonly interSpreadCredit: Fixed
  readonly shortOptionContracts: Fixed
  readonly shortOptionMinimum: Fixed
  /** max(scan + intra − inter, short option minimum, 0). */
  readonly requirement: Fixed
  /** Long option value − short option value (informational; SPAN credits it against the requirement in equity). */
  readonly netOptionValue: Fixed
}

/** One position's requirement when margined alone. */
export interface LegMargin {
  readonly market: string
  readonly product: string
  readonly size: Fixed
  readonly scanRisk: Fixed
  readonly shortOptionMinimum: Fixed
  readonly requirement: Fixed
}

/** How an offset (or a charge) moved the requirement away from the sum of the legs. */
export interface OffsetItem {
  readonly kind:
    | 'scenario_netting'
    | 'intra_spread_charge'
    | 'inter_spread_credit'
    | 'short_option_minimum'
    | 'contingency'
  readonly product: string
  readonly description: string
  /** Signed change to the requirement: negative reduces it. */
  readonly amount: Fixed
}

/** The itemised portfolio requirement (PFM-010). */
export interface PortfolioMarginResult {
  readonly requirement: Fixed
  /** Σ of each position margined alone. */
  readonly legsTotal: Fixed
  /** legsTotal − requirement. */
  readonly reduction: Fixed
  readonly legs: readonly LegMargin[]
  readonly products: readonly ProductMargin[]
  readonly offsets: readonly OffsetItem[]
  readonly instruments: readonly InstrumentRisk[]
}

interface ProductState {
  readonly product: SpanProduct
  readonly risk: ProductMargin
  remainingDelta: Fixed
  credits: InterSpreadItem[]
}

/**
 * Scenario portfolio margin with offsets (PFM-001..PFM-010). Every position's market must be
 * among `instruments` and every instrument's product among `rules.products` (checked by the file
 * loader; asserted here).
 */
export function spanPortfolioMargin(
  rules: SpanRules,
  instruments: readonly PortfolioInstrument[],
  positions: readonly PortfolioPosition[],
): PortfolioMarginResult {
  const productById = new Map(rules.products.map((product) => [product.id, product]))
  const instrumentByMarket = new Map(
    instruments.map((instrument) => [instrument.market, instrument]),
  )
  const riskByMarket = new Map<string, InstrumentRisk>()
  const riskOf = (market: string): { instrument: PortfolioInstrument; risk: InstrumentRisk } => {
    const instrument = instrumentByMarket.get(market)
    assert(
      instrument !== undefined,
      `Condition failed: a position's market is a listed instrument (PFM-009, market=${market})`,
    )
    const product = productById.get(instrument.product)
    assert(
      product !== undefined,
      `Condition failed: an instrument's product is listed (PFM-009, product=${instrument.product})`,
    )
    let risk = riskByMarket.get(market)
    if (risk === undefined) {
      risk = instrumentRisk(rules, product, instrument)
      riskByMarket.set(market, risk)
    }
    return { instrument, risk }
  }
  const byProduct = new Map<string, PortfolioPosition[]>()
  for (const position of positions) {
    if (position.size === 0n) continue
    const { instrument } = riskOf(position.market)
    const list = byProduct.get(instrument.product) ?? []
    list.push(position)
    byProduct.set(instrument.product, list)
  }
  const states: ProductState[] = []
  for (const product of rules.products) {
    const held = byProduct.get(product.id)
    if (held === undefined) continue
    states.push(productMargin(rules, product, held, riskOf))
  }
  applyInterSpreads(rules, states)
  const products = states.map(finishProduct)
  const legs = positions
    .filter((position) => position.size !== 0n)
    .map((position) => legMargin(rules, position, riskOf))
  const legsTotal = sum(legs.map((leg) => leg.requirement))
  const requirement = sum(products.map((product) => product.requirement))
  const offsets = offsetItems(products, legs)
  assert(
    add(legsTotal, sum(offsets.map((item) => item.amount))) === requirement,
    'Invariant: the legs total plus the offset items equals the requirement (PFM-010)',
  )
  return {
    requirement,
    legsTotal,
    reduction: sub(legsTotal, requirement),
    legs,
    products,
    offsets,
    instruments: [...riskByMarket.values()],
  }
}

/** Scan risk of a portfolio risk array: the largest loss, never below 0, and its 1-based scenario (PFM-004). */
export function scanRiskOf(portfolioRiskArray: readonly Fixed[]): {
  scanRisk: Fixed
  worstScenario: number
} {
  let scanRisk = ZERO
  let worstScenario = 0
  portfolioRiskArray.forEach((loss, index) => {
    if (loss > scanRisk) {
      scanRisk = loss
      worstScenario = index + 1
    }
  })
  return { scanRisk, worstScenario }
}

type RiskLookup = (market: string) => { instrument: PortfolioInstrument; risk: InstrumentRisk }

function portfolioArray(
  rules: SpanRules,
  positions: readonly PortfolioPosition[],
  riskOf: RiskLookup,
): Fixed[] {
  return rules.scenarios.map((_, index) =>
    sum(
      positions.map((position) =>
        mul(position.size, riskOf(position.market).risk.riskArray[index] ?? ZERO, 'ceil'),
      ),
    ),
  )
}

function shortOptions(positions: readonly PortfolioPosition[], riskOf: RiskLookup): Fixed {
  return sum(
    positions.map((position) =>
      riskOf(position.market).risk.isOption && position.size < 0n ? neg(position.size) : ZERO,
    ),
  )
}

function legMargin(rules: SpanRules, position: PortfolioPosition, riskOf: RiskLookup): LegMargin {
  const { instrument } = riskOf(position.market)
  const product = rules.products.find((each) => each.id === instrument.product)
  assert(product !== undefined, "Condition failed: an instrument's product is listed (PFM-009)")
  const { scanRisk } = scanRiskOf(portfolioArray(rules, [position], riskOf))
  const shortOptionMinimum = mul(
    shortOptions([position], riskOf),
    product.shortOptionMinimum,
    'ceil',
  )
  return {
    market: position.market,
    product: product.id,
    size: position.size,
    scanRisk,
    shortOptionMinimum,
    requirement: max(scanRisk, shortOptionMinimum),
  }
}

function productMargin(
  rules: SpanRules,
  product: SpanProduct,
  positions: readonly PortfolioPosition[],
  riskOf: RiskLookup,
): ProductState {
  const portfolioRiskArray = portfolioArray(rules, positions, riskOf)
  const { scanRisk, worstScenario } = scanRiskOf(portfolioRiskArray)
  const timeRisk =
    portfolioRiskArray.length >= 2
      ? div(add(portfolioRiskArray[0] ?? ZERO, portfolioRiskArray[1] ?? ZERO), fixed(2), 'ceil')
      : ZERO
  // Net delta per tier, in tier order of first appearance.
  const tierDeltas = new Map<string, Fixed>()
  for (const position of positions) {
    const { instrument, risk } = riskOf(position.market)
    tierDeltas.set(
      instrument.tier,
      add(tierDeltas.get(instrument.tier) ?? ZERO, mul(position.size, risk.delta, 'half_even')),
    )
  }
  const netDelta = sum(tierDeltas.values())
  const intraSpreads: IntraSpreadItem[] = []
  for (const rule of product.intraSpreads) {
    const deltaA = tierDeltas.get(rule.tierA) ?? ZERO
    const deltaB = tierDeltas.get(rule.tierB) ?? ZERO
    if (deltaA === 0n || deltaB === 0n || sign(deltaA) === sign(deltaB)) continue
    const spreads = min(abs(deltaA), abs(deltaB))
    tierDeltas.set(rule.tierA, sub(deltaA, mul(spreads, fixed(sign(deltaA)), 'exact')))
    tierDeltas.set(rule.tierB, sub(deltaB, mul(spreads, fixed(sign(deltaB)), 'exact')))
    intraSpreads.push({
      tierA: rule.tierA,
      tierB: rule.tierB,
      spreads,
      charge: mul(spreads, rule.chargePerSpread, 'ceil'),
    })
  }
  const priceRisk = max(ZERO, sub(scanRisk, timeRisk))
  const weightedPriceRisk =
    product.weightedPriceRisk === 'scan_range'
      ? mul(product.priceScanRange, product.contractSize, 'ceil')
      : netDelta === 0n
        ? ZERO
        : div(priceRisk, abs(netDelta), 'floor')
  const shortOptionContracts = shortOptions(positions, riskOf)
  const netOptionValue = sum(
    positions.map((position) => {
      const { risk } = riskOf(position.market)
      return risk.isOption ? mul(position.size, risk.value, 'half_even') : ZERO
    }),
  )
  return {
    product,
    remainingDelta: netDelta,
    credits: [],
    risk: {
      product: product.id,
      portfolioRiskArray,
      scanRisk,
      worstScenario,
      timeRisk,
      netDelta,
      weightedPriceRisk,
      intraSpreads,
      intraSpreadCharge: sum(intraSpreads.map((item) => item.charge)),
      interSpreads: [],
      interSpreadCredit: ZERO,
      shortOptionContracts,
      shortOptionMinimum: mul(shortOptionContracts, product.shortOptionMinimum, 'ceil'),
      requirement: ZERO,
      netOptionValue,
    },
  }
}

/** Forms inter-product spreads in priority order, consuming the legs' remaining net deltas (PFM-007). */
function applyInterSpreads(rules: SpanRules, states: readonly ProductState[]): void {
  const stateOf = new Map(states.map((state) => [state.product.id, state]))
  for (const rule of rules.interSpreads) {
    const legs = rule.legs.map((leg) => ({ leg, state: stateOf.get(leg.product) }))
    const first = legs[0]
    if (first?.state === undefined || first.state.remainingDelta === 0n) continue
    const sideASign =
      first.leg.side === 'A' ? sign(first.state.remainingDelta) : -sign(first.state.remainingDelta)
    let spreads: Fixed | undefined
    let usable = true
    for (const { leg, state } of legs) {
      const wanted = leg.side === 'A' ? sideASign : -sideASign
      if (
        state === undefined ||
        state.remainingDelta === 0n ||
        sign(state.remainingDelta) !== wanted
      ) {
        usable = false
        break
      }
      const available = div(abs(state.remainingDelta), leg.deltaRatio, 'floor')
      spreads = spreads === undefined ? available : min(spreads, available)
    }
    if (!usable || spreads === undefined || spreads === 0n) continue
    for (const { leg, state } of legs) {
      assert(state !== undefined, 'Invariant: every leg of a formed spread is held (PFM-007)')
      const deltasUsed = mul(spreads, leg.deltaRatio, 'floor')
      state.remainingDelta = sub(
        state.remainingDelta,
        mul(deltasUsed, fixed(sign(state.remainingDelta)), 'exact'),
      )
      const weightedPriceRisk = state.risk.weightedPriceRisk
      state.credits.push({
        spread: rule.id,
        spreads,
        deltasUsed,
        weightedPriceRisk,
        credit: mul3(rule.creditRate, weightedPriceRisk, deltasUsed, 'floor'),
      })
    }
  }
}

function finishProduct(state: ProductState): ProductMargin {
  const risk = state.risk
  const interSpreadCredit = sum(state.credits.map((item) => item.credit))
  const base = sub(add(risk.scanRisk, risk.intraSpreadCharge), interSpreadCredit)
  return {
    ...risk,
    interSpreads: state.credits,
    interSpreadCredit,
    requirement: max(max(base, risk.shortOptionMinimum), ZERO),
  }
}

function offsetItems(products: readonly ProductMargin[], legs: readonly LegMargin[]): OffsetItem[] {
  const items: OffsetItem[] = []
  for (const product of products) {
    const legsOfProduct = legs.filter((leg) => leg.product === product.product)
    const legsTotal = sum(legsOfProduct.map((leg) => leg.requirement))
    const netting = sub(product.scanRisk, legsTotal)
    if (legsOfProduct.length > 1 || netting !== 0n) {
      items.push({
        kind: 'scenario_netting',
        product: product.product,
        description: `${legsOfProduct.length} positions revalued together: scan risk ${formatFixed(product.scanRisk)} (scenario ${product.worstScenario}) instead of the legs' ${formatFixed(legsTotal)}`,
        amount: netting,
      })
    }
    for (const spread of product.intraSpreads) {
      items.push({
        kind: 'intra_spread_charge',
        product: product.product,
        description: `calendar spread ${spread.tierA}/${spread.tierB}: ${formatFixed(spread.spreads)} spreads`,
        amount: spread.charge,
      })
    }
    for (const credit of product.interSpreads) {
      items.push({
        kind: 'inter_spread_credit',
        product: product.product,
        description: `inter-product spread ${credit.spread}: ${formatFixed(credit.deltasUsed)} deltas × weighted price risk ${formatFixed(credit.weightedPriceRisk)}`,
        amount: neg(credit.credit),
      })
    }
    const base = sub(add(product.scanRisk, product.intraSpreadCharge), product.interSpreadCredit)
    const topUp = sub(product.requirement, base)
    if (topUp !== 0n) {
      items.push({
        kind: 'short_option_minimum',
        product: product.product,
        description: `floor: short option minimum ${formatFixed(product.shortOptionMinimum)} (${formatFixed(product.shortOptionContracts)} short options), never below 0`,
        amount: topUp,
      })
    }
  }
  return items
}
