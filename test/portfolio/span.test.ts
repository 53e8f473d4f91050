import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Fixed, fixedOf, formatFixed } from '../../src/core/num/fixed.ts'
import {
  type PortfolioInstrument,
  type SpanProduct,
  type SpanRules,
  scanRiskOf,
  spanPortfolioMargin,
  standardScenarios,
} from '../../src/core/portfolio/span.ts'

const f = fixedOf
const show = (value: Fixed): string => formatFixed(value)
const array = (values: readonly number[]): Fixed[] => values.map((value) => f(String(value)))

function product(overrides: Partial<SpanProduct> & { id: string }): SpanProduct {
  return {
    contractSize: f('1'),
    priceScanRange: f('1'),
    volatilityScanRange: f('0.04'),
    shortOptionMinimum: f('0'),
    weightedPriceRisk: 'normal',
    intraSpreads: [],
    ...overrides,
  }
}

// theory.md W1: McMillan, Options as a Strategic Investment, ch. 34 (CME S&P 500 futures and a
// Dec 410 call). Risk arrays in SPAN sign (loss positive), the 16 standard scenarios.
const longFuture = [
  0, 0, -3330, -3330, 3330, 3330, -6670, -6670, 6670, 6670, -10000, -10000, 10000, 10000, -7000,
  7000,
]
const longCall = [
  -460, 610, -2640, -1730, 1270, 2340, -5210, -4540, 2540, 3430, -8060, -7640, 3380, 3990, -3130,
  1500,
]

const w1Rules: SpanRules = {
  scenarios: standardScenarios(f('2'), f('0.35')),
  products: [product({ id: 'SP', contractSize: f('500'), priceScanRange: f('20') })],
  interSpreads: [],
}
const w1Instruments: PortfolioInstrument[] = [
  {
    kind: 'risk_array',
    market: 'SP-DEC',
    product: 'SP',
    tier: 'DEC',
    riskArray: array(longFuture),
    delta: f('1'),
    isOption: false,
    value: f('0'),
  },
  {
    kind: 'risk_array',
    market: 'SP-DEC-410-C',
    product: 'SP',
    tier: 'DEC',
    riskArray: array(longCall),
    delta: f('0.5'),
    isOption: true,
    value: f('4000'),
  },
]

describe('PFM-004: scan risk from published risk arrays (theory.md W1, McMillan ch. 34)', () => {
  it.each([
    ['1 long future', '10000', 13, [['SP-DEC', '1']]],
    ['1 long call', '3990', 14, [['SP-DEC-410-C', '1']]],
    [
      'covered write (+1 future, −1 call)',
      '6620',
      13,
      [
        ['SP-DEC', '1'],
        ['SP-DEC-410-C', '-1'],
      ],
    ],
    [
      'ratio write (+3 futures, −5 calls)',
      '13500',
      16,
      [
        ['SP-DEC', '3'],
        ['SP-DEC-410-C', '-5'],
      ],
    ],
    ['1 short call', '8060', 11, [['SP-DEC-410-C', '-1']]],
  ] as const)('%s: scan risk %s (scenario %i)', (_, expected, scenario, positions) => {
    const result = spanPortfolioMargin(
      w1Rules,
      w1Instruments,
      positions.map(([market, size]) => ({ market: market ?? '', size: f(size ?? '0') })),
    )
    const risk = result.products[0]
    expect(risk === undefined ? '' : show(risk.scanRisk)).toBe(expected)
    expect(risk?.worstScenario).toBe(scenario)
    expect(show(result.requirement)).toBe(expected)
  })

  it('covered write: per-scenario portfolio losses as published', () => {
    const result = spanPortfolioMargin(w1Rules, w1Instruments, [
      { market: 'SP-DEC', size: f('1') },
      { market: 'SP-DEC-410-C', size: f('-1') },
    ])
    expect(result.products[0]?.portfolioRiskArray.map(show)).toEqual([
      '460',
      '-610',
      '-690',
      '-1600',
      '2060',
      '990',
      '-1460',
      '-2130',
      '4130',
      '3240',
      '-1940',
      '-2360',
      '6620',
      '6010',
      '-3870',
      '5500',
    ])
    // Itemised: 10,000 + 8,060 standalone; revalued together 6,620.
    expect(show(result.legsTotal)).toBe('18060')
    expect(result.offsets.map((item) => [item.kind, show(item.amount)])).toEqual([
      ['scenario_netting', '-11440'],
    ])
  })

  it("PFM-002: a future's computed risk array matches the published one (PSR $10,000, extreme 2 × 35 %)", () => {
    const computed = spanPortfolioMargin(
      w1Rules,
      [{ kind: 'future', market: 'SP-DEC', product: 'SP', tier: 'DEC', price: f('410') }],
      [{ market: 'SP-DEC', size: f('1') }],
    )
    const losses = computed.instruments[0]?.riskArray.map(
      (loss) => Math.round(Number(formatFixed(loss)) / 10) * 10,
    )
    expect(losses).toEqual(longFuture)
    expect(show(computed.requirement)).toBe('10000')
  })

  it('PFM-004: scan risk is the largest loss, never below 0', () => {
    expect(scanRiskOf(array([-5, -1, -3]))).toEqual({ scanRisk: f('0'), worstScenario: 0 })
    expect(show(scanRiskOf(array([-5, 7, 7])).scanRisk)).toBe('7')
  })
})

describe('PFM-007: inter-product spread credit (theory.md W2, CME spread-calc example: corn vs soybeans 2:1 at 55 %)', () => {
  const rules: SpanRules = {
    scenarios: standardScenarios(f('2'), f('0.35')),
    products: [
      product({ id: 'CORN', priceScanRange: f('1750') }),
      product({ id: 'SOY', priceScanRange: f('2500') }),
    ],
    interSpreads: [
      {
        id: 'CORN-SOY',
        creditRate: f('0.55'),
        legs: [
          { product: 'CORN', deltaRatio: f('2'), side: 'A' },
          { product: 'SOY', deltaRatio: f('1'), side: 'B' },
        ],
      },
    ],
  }
  const instruments: PortfolioInstrument[] = [
    { kind: 'future', market: 'ZC', product: 'CORN', tier: 'M1', price: f('450') },
    { kind: 'future', market: 'ZS', product: 'SOY', tier: 'M1', price: f('1200') },
  ]

  it('outright 6,000, credit 3,300, margin 2,700', () => {
    const result = spanPortfolioMargin(rules, instruments, [
      { market: 'ZC', size: f('2') },
      { market: 'ZS', size: f('-1') },
    ])
    expect(show(result.legsTotal)).toBe('6000')
    expect(show(result.requirement)).toBe('2700')
    expect(result.offsets.map((item) => [item.kind, item.product, show(item.amount)])).toEqual([
      ['inter_spread_credit', 'CORN', '-1925'],
      ['inter_spread_credit', 'SOY', '-1375'],
    ])
  })

  it('no credit when the legs are on the same side', () => {
    const result = spanPortfolioMargin(rules, instruments, [
      { market: 'ZC', size: f('2') },
      { market: 'ZS', size: f('1') },
    ])
    expect(show(result.requirement)).toBe('6000')
    expect(result.offsets).toEqual([])
  })
})

describe('PFM-006: calendar spread charge (theory.md W3, CME spread-calc example)', () => {
  const rules: SpanRules = {
    scenarios: standardScenarios(f('2'), f('0.35')),
    products: [
      product({
        id: 'X',
        priceScanRange: f('500'),
        intraSpreads: [
          { tierA: 'M2', tierB: 'M3', chargePerSpread: f('200') },
          { tierA: 'M2', tierB: 'M4', chargePerSpread: f('50') },
          { tierA: 'M3', tierB: 'M4', chargePerSpread: f('0') },
        ],
      }),
    ],
    interSpreads: [],
  }
  const instruments: PortfolioInstrument[] = [
    { kind: 'future', market: 'X-M2', product: 'X', tier: 'M2', price: f('100') },
    { kind: 'future', market: 'X-M3', product: 'X', tier: 'M3', price: f('100') },
    {
      kind: 'future',
      market: 'X-M4',
      product: 'X',
      tier: 'M4',
      price: f('100'),
      priceScanRange: f('750'),
    },
  ]

  it.each([
    ['X-M2', 'X-M3', '200', '1000'],
    ['X-M2', 'X-M4', '300', '1250'],
    ['X-M3', 'X-M4', '250', '1250'],
  ])('+1 %s / −1 %s → %s (legs %s)', (long, short, expected, legs) => {
    const result = spanPortfolioMargin(rules, instruments, [
      { market: long, size: f('1') },
      { market: short, size: f('-1') },
    ])
    expect(show(result.requirement)).toBe(expected)
    expect(show(result.legsTotal)).toBe(legs)
    expect(result.offsets.some((item) => item.kind === 'intra_spread_charge')).toBe(true)
  })
})

describe('PFM-003, PFM-008: options revalued with Black-76; short option minimum', () => {
  const rules: SpanRules = {
    scenarios: standardScenarios(f('3'), f('0.35')),
    products: [
      product({
        id: 'BTC',
        priceScanRange: f('9000'),
        volatilityScanRange: f('0.1'),
        shortOptionMinimum: f('500'),
      }),
    ],
    interSpreads: [],
  }
  const put: PortfolioInstrument = {
    kind: 'option',
    market: 'BTC-P55000',
    product: 'BTC',
    tier: 'DEC',
    right: 'put',
    strike: f('55000'),
    underlyingPrice: f('60000'),
    timeToExpiryYears: f('0.25'),
    volatility: f('0.6'),
    rate: f('0'),
  }
  const farCall: PortfolioInstrument = {
    kind: 'option',
    market: 'BTC-C200000',
    product: 'BTC',
    tier: 'DEC',
    right: 'call',
    strike: f('200000'),
    underlyingPrice: f('60000'),
    timeToExpiryYears: f('0.05'),
    volatility: f('0.3'),
    rate: f('0'),
  }
  const future: PortfolioInstrument = {
    kind: 'future',
    market: 'BTC-DEC',
    product: 'BTC',
    tier: 'DEC',
    price: f('60000'),
  }

  it('a protective put caps the loss of a long future: requirement below the legs', () => {
    const result = spanPortfolioMargin(
      rules,
      [future, put],
      [
        { market: 'BTC-DEC', size: f('1') },
        { market: 'BTC-P55000', size: f('1') },
      ],
    )
    expect(result.requirement < result.legsTotal).toBe(true)
    expect(result.requirement < f('9000')).toBe(true)
    expect(result.offsets[0]?.kind).toBe('scenario_netting')
    // The put's delta is negative, so the net delta is below 1.
    const netDelta = result.products[0]?.netDelta ?? f('1')
    expect(netDelta < f('1') && netDelta > f('0')).toBe(true)
  })

  it('PFM-008: a far out-of-the-money short call pays at least the short option minimum', () => {
    const result = spanPortfolioMargin(rules, [farCall], [{ market: 'BTC-C200000', size: f('-2') }])
    expect(show(result.requirement)).toBe('1000')
    expect(
      result.products[0]?.scanRisk !== undefined && result.products[0].scanRisk < f('1000'),
    ).toBe(true)
  })
})

describe('PFM-011: properties (fast-check, fixed seeds)', () => {
  // Every price scan range is `scale` × its base value, so widening one widens all of them.
  const rules = (scale: number): SpanRules => ({
    scenarios: standardScenarios(f('3'), f('0.35')),
    products: [
      product({
        id: 'BTC',
        priceScanRange: f(String(6000 * scale)),
        volatilityScanRange: f('0.1'),
        shortOptionMinimum: f('100'),
        intraSpreads: [{ tierA: 'MAR', tierB: 'JUN', chargePerSpread: f('300') }],
      }),
      product({
        id: 'ETH',
        contractSize: f('10'),
        priceScanRange: f(String(300 * scale)),
        volatilityScanRange: f('0.1'),
      }),
    ],
    interSpreads: [
      {
        id: 'BTC-ETH',
        creditRate: f('0.5'),
        legs: [
          { product: 'BTC', deltaRatio: f('1'), side: 'A' },
          { product: 'ETH', deltaRatio: f('2'), side: 'B' },
        ],
      },
    ],
  })
  const instruments = (scale: number): PortfolioInstrument[] => [
    { kind: 'future', market: 'BTC-MAR', product: 'BTC', tier: 'MAR', price: f('60000') },
    {
      kind: 'future',
      market: 'BTC-JUN',
      product: 'BTC',
      tier: 'JUN',
      price: f('61000'),
      priceScanRange: f(String(7000 * scale)),
    },
    {
      kind: 'option',
      market: 'BTC-MAR-55000-P',
      product: 'BTC',
      tier: 'MAR',
      right: 'put',
      strike: f('55000'),
      underlyingPrice: f('60000'),
      timeToExpiryYears: f('0.1'),
      volatility: f('0.6'),
      rate: f('0'),
    },
    {
      kind: 'option',
      market: 'BTC-MAR-65000-C',
      product: 'BTC',
      tier: 'MAR',
      right: 'call',
      strike: f('65000'),
      underlyingPrice: f('60000'),
      timeToExpiryYears: f('0.1'),
      volatility: f('0.55'),
      rate: f('0'),
    },
    { kind: 'future', market: 'ETH-MAR', product: 'ETH', tier: 'MAR', price: f('3000') },
  ]
  const merge = (positions: readonly { market: string; size: number }[]) => {
    const merged = new Map<string, number>()
    for (const position of positions)
      merged.set(position.market, (merged.get(position.market) ?? 0) + position.size)
    return [...merged]
      .filter(([, size]) => size !== 0)
      .map(([market, size]) => ({ market, size: f(String(size)) }))
  }
  const size = fc.integer({ min: -5, max: 5 }).filter((value) => value !== 0)
  const anyPortfolio = fc
    .array(
      fc.record({ market: fc.constantFrom(...instruments(1).map((each) => each.market)), size }),
      { minLength: 1, maxLength: 4 },
    )
    .map(merge)
  const futuresPortfolio = fc
    .array(fc.record({ market: fc.constantFrom('BTC-MAR', 'BTC-JUN', 'ETH-MAR'), size }), {
      minLength: 1,
      maxLength: 4,
    })
    .map(merge)
  // Value moves one way with the price: long futures and calls with short puts (or the mirror).
  const oneWayPortfolio = fc
    .tuple(fc.constantFrom(1, -1), fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3))
    .map(([direction, futures, later, calls, puts]) =>
      merge([
        { market: 'BTC-MAR', size: direction * futures },
        { market: 'BTC-JUN', size: direction * later },
        { market: 'BTC-MAR-65000-C', size: direction * calls },
        { market: 'BTC-MAR-55000-P', size: -direction * puts },
        { market: 'ETH-MAR', size: -direction * futures },
      ]),
    )
    .filter((positions) => positions.length > 0)

  it('a hedged portfolio never needs more margin than the sum of its legs (seed 42)', () => {
    fc.assert(
      fc.property(anyPortfolio, (positions) => {
        const result = spanPortfolioMargin(rules(1), instruments(1), positions)
        expect(result.requirement <= result.legsTotal).toBe(true)
        expect(result.requirement >= 0n).toBe(true)
      }),
      { seed: 42, numRuns: 60 },
    )
  })

  it.each([
    ['futures with calendar and inter-product spreads', futuresPortfolio],
    ['positions whose value moves one way with the price, options included', oneWayPortfolio],
  ])('margin is monotone non-decreasing in the scan range: %s (seed 43)', (_, portfolio) => {
    fc.assert(
      fc.property(
        portfolio,
        fc.integer({ min: 2, max: 12 }),
        fc.integer({ min: 0, max: 6 }),
        (positions, low, extra) => {
          const narrow = spanPortfolioMargin(rules(low / 10), instruments(low / 10), positions)
          const wide = spanPortfolioMargin(
            rules((low + extra) / 10),
            instruments((low + extra) / 10),
            positions,
          )
          expect(wide.requirement >= narrow.requirement).toBe(true)
        },
      ),
      { seed: 43, numRuns: 30 },
    )
  })
})
