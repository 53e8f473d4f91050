/**
 * `lor margin --model portfolio` and option positions end to end (docs/spec/portfolio-margin.md,
 * PFM-030..PFM-038): the real command line is spawned; published examples are reproduced through
 * the calculator and checked against `lor portfolio` on the same portfolio written as a file.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))

function lor(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/lor.js', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

type OptionJson = Record<string, string | null>

interface PortfolioJson {
  readonly requirement: string
  readonly legsTotal: string
  readonly reduction: string
  readonly initialMargin?: string
  readonly offsets: { kind: string; product: string; amount: string; description: string }[]
  readonly [key: string]: unknown
}

interface ReportJson {
  readonly model: string
  readonly equity: string
  readonly walletBalance: string
  readonly optionValue: string
  readonly optionSettlement: string
  readonly initialMargin: string
  readonly maintenanceMargin: string
  readonly marginExcess: string
  readonly liquidatable: boolean
  readonly options: OptionJson[]
  readonly positions: Record<string, string>[]
  readonly portfolio: PortfolioJson
}

function margin(...args: string[]): ReportJson {
  const result = lor('margin', '--model', 'portfolio', ...args, '--json')
  expect(result.stderr).toBe('')
  expect(result.status).toBe(0)
  return JSON.parse(result.stdout) as ReportJson
}

function optionOf(report: ReportJson, market: string): OptionJson {
  const found = report.options.find((option) => option.market === market)
  if (found === undefined) throw new Error(`no option ${market} in the report`)
  return found
}

// The portfolio of examples/portfolio/future-with-protective-put.yaml (docs/portfolio-margin.md):
// long 1 BTC at 60,000 and a 55,000 put, T 0.25, σ 60 %, under the same SPAN parameters.
const protectivePut = [
  '--preset',
  'binance-usdm',
  '--wallet',
  '10000',
  '--position',
  'BTCUSDT:1@60000',
  '--mark',
  'BTCUSDT=60000',
  '--option',
  'BTC-27DEC24-55000-P:1',
  '--vol',
  '0.6',
  '--tte',
  '0.25',
]

// The short-strangle hedge of test/cli/fixtures/built-in-grid-btc.yaml on Deribit (inverse, BTC).
const deribitHedge = [
  '--preset',
  'deribit',
  '--wallet',
  '1',
  '--position',
  'BTC-PERPETUAL:-6000@60000',
  '--mark',
  'BTC-PERPETUAL=60000',
  '--option',
  'BTC-27DEC24-55000-P:1',
  '--option',
  'BTC-27DEC24-70000-C:-1',
  '--vol',
  '0.6',
]

describe('PFM-033: --model portfolio margins the calculator account as one portfolio', () => {
  it('the protective-put example gives the documented SPAN requirement 6,130.504… and its offset', () => {
    const report = margin(...protectivePut, '--portfolio-rules', 'test/cli/fixtures/span-btc.yaml')
    expect(report.model).toBe('portfolio')
    expect(report.portfolio.requirement).toBe('6130.504095773423331425')
    expect(report.portfolio.legsTotal).toBe('12570.623783264100982946')
    expect(report.portfolio.offsets.map((item) => [item.kind, item.amount])).toEqual([
      ['scenario_netting', '-6440.119687490677651521'],
    ])
    // SPAN has one requirement: initial = maintenance.
    expect(report.maintenanceMargin).toBe('6130.504095773423331425')
    expect(report.initialMargin).toBe(report.maintenanceMargin)
  })

  it('PFM-035: the built-in grid equals Deribit’s published parameters written out as a portfolio file', () => {
    const report = margin(...deribitHedge, '--tte', '0.082191780821917808')
    const file = lor('portfolio', 'test/cli/fixtures/built-in-grid-btc.yaml', '--json')
    expect(file.status).toBe(0)
    const expected = JSON.parse(file.stdout) as PortfolioJson
    expect(report.portfolio.requirement).toBe(expected.requirement)
    expect(report.portfolio.legsTotal).toBe(expected.legsTotal)
    expect(report.portfolio.offsets).toEqual(expected.offsets)
    expect(report.portfolio.requirement).toBe('0.156943132806122433')
    // IM = MM: Deribit's IM/MM ratio is not published (theory.md §2.5).
    expect(report.initialMargin).toBe(report.maintenanceMargin)
    // -6,000 contracts × 10 USD ÷ 60,000 = -1 BTC of the underlying.
    expect(report.positions[0]?.underlyingAmount).toBe('-1')
  })

  it('PFM-035 / W10 (theory.md): call +10 and put −20 at one strike → net short 10 → 0.1 BTC contingency', () => {
    const report = margin(
      '--preset',
      'deribit',
      '--wallet',
      '10',
      '--mark',
      'BTC-PERPETUAL=60000',
      '--option',
      'BTC-27DEC24-60000-C:10',
      '--option',
      'BTC-27DEC24-60000-P:-20',
      '--vol',
      '0.6',
      '--tte',
      '0.082191780821917808',
    )
    const product = (report.portfolio.products as Record<string, string>[])[0]
    expect(product?.netShortOptionContingency).toBe('0.1')
    expect(product?.futuresCalendarContingency).toBe('0')
  })

  it('PFM-036: equity = wallet + futures uPnL + signed option values; below the requirement → liquidatable', () => {
    const healthy = margin(...protectivePut, '--portfolio-rules', 'test/cli/fixtures/span-btc.yaml')
    expect(healthy.optionValue).toBe(optionOf(healthy, 'BTC-27DEC24-55000-P').positionValue)
    expect(healthy.equity).toBe('14640.036520726807421371')
    expect(healthy.liquidatable).toBe(false)
    // Wallet 1,000: equity 5,640.04 < 6,130.50.
    const thin = margin(
      ...protectivePut.map((arg) => (arg === '10000' ? '1000' : arg)),
      '--portfolio-rules',
      'test/cli/fixtures/span-btc.yaml',
    )
    expect(thin.equity).toBe('5640.036520726807421371')
    expect(thin.marginExcess).toBe('-490.467575046615910054')
    expect(thin.liquidatable).toBe(true)
  })

  it('PFM-033: a linear grid file with an IM multiplier: IM = 1.3 × MM (rounded up)', () => {
    const report = margin(
      ...protectivePut,
      '--portfolio-rules',
      'test/cli/fixtures/grid-linear-rules.yaml',
    )
    expect(report.portfolio.initialMargin).toBe(report.initialMargin)
    const mm = Number(report.maintenanceMargin)
    expect(Number(report.initialMargin)).toBeCloseTo(mm * 1.3, 6)
    expect(Number(report.portfolio.reduction)).toBeGreaterThan(0)
  })

  it('PFM-033: the text report prints the account line and the offsets as lor portfolio does', () => {
    const result = lor(
      'margin',
      '--model',
      'portfolio',
      ...protectivePut,
      '--portfolio-rules',
      'test/cli/fixtures/span-btc.yaml',
    )
    expect(result.status).toBe(0)
    expect(result.stdout).toContain('maintenance margin 6130.504095773423331425')
    expect(result.stdout).toContain('not liquidatable')
    expect(result.stdout).toContain('offsets (signed change to the sum of the legs):')
    expect(result.stdout).toContain(
      'scenario_netting BTC: 2 positions revalued together: scan risk 6130.504095773423331425 (scenario 14)',
    )
    expect(result.stdout).toContain('BTC-27DEC24-55000-P')
  })
})

describe('PFM-034: options valued with Black-76 in the calculator', () => {
  it.each([
    // OPT-002 examples, through the calculator: the underlying's mark is the forward F.
    [
      'Hull futures option put (F = K = 20, r 9 %, T 4/12, σ 25 %)',
      'P',
      '20',
      '0.25',
      '0.09',
      '0.333333333333333333',
      '1.1166',
    ],
    [
      'Haug Black-76 call (F = K = 19, T 0.75, r 10 %, σ 28 %)',
      'C',
      '19',
      '0.28',
      '0.1',
      '0.75',
      '1.7011',
    ],
    ['Haug Black-76 put (same inputs)', 'P', '19', '0.28', '0.1', '0.75', '1.7011'],
  ])('%s = %s', (_name, right, price, vol, rate, tte, value) => {
    const name = `BTC-27DEC24-${price}-${right}`
    const report = margin(
      '--preset',
      'binance-usdm',
      '--wallet',
      '100',
      '--mark',
      `BTCUSDT=${price}`,
      '--option',
      `${name}:1`,
      '--vol',
      vol,
      '--interest-rate',
      rate,
      '--tte',
      tte,
    )
    const option = optionOf(report, name)
    expect(Number(option.value).toFixed(4)).toBe(value)
    expect(option.status).toBe('open')
  })

  it('OPT-003 through the calculator: call delta − put delta = e^(−rT); equal gamma and vega', () => {
    const report = margin(
      '--preset',
      'binance-usdm',
      '--wallet',
      '100000',
      '--mark',
      'BTCUSDT=60000',
      '--option',
      'BTC-27DEC24-65000-C:1',
      '--option',
      'BTC-27DEC24-65000-P:-1',
      '--vol',
      '0.55',
      '--interest-rate',
      '0.05',
      '--tte',
      '0.5',
    )
    const call = optionOf(report, 'BTC-27DEC24-65000-C')
    const put = optionOf(report, 'BTC-27DEC24-65000-P')
    expect(Number(call.delta) - Number(put.delta)).toBeCloseTo(Math.exp(-0.05 * 0.5), 12)
    expect(call.gamma).toBe(put.gamma)
    expect(call.vega).toBe(put.vega)
    // A short put's position delta is −size × delta.
    expect(Number(put.positionDelta)).toBeCloseTo(-Number(put.delta), 15)
    // c − p = D(F − K) (put-call parity).
    expect(Number(call.value) - Number(put.value)).toBeCloseTo(Math.exp(-0.025) * -5000, 6)
  })

  it('PFM-034: an inverse account carries an option at value ÷ F in the base asset; the premium gives uPnL', () => {
    const report = margin(
      ...deribitHedge.slice(0, 8),
      '--option',
      'BTC-27DEC24-55000-P:2@0.03',
      '--vol',
      '0.6',
      '--at',
      '2024-11-27T08:00Z',
    )
    const put = optionOf(report, 'BTC-27DEC24-55000-P')
    // 30 days to the 27 Dec 2024 08:00 UTC expiry.
    expect(put.timeToExpiryYears).toBe('0.082191780821917808')
    expect(put.expiry).toBe('2024-12-27T08:00:00.000Z')
    expect(Number(put.contractValue)).toBeCloseTo(Number(put.value) / 60000, 15)
    expect(Number(put.unrealizedPnl)).toBeCloseTo(2 * (Number(put.contractValue) - 0.03), 15)
  })
})

describe('PFM-037: expiry settlement at intrinsic value', () => {
  const expiring = [
    '--preset',
    'deribit',
    '--wallet',
    '1',
    '--mark',
    'BTC-PERPETUAL=50000',
    '--option',
    'BTC-27DEC24-55000-P:2',
    '--option',
    'BTC-27DEC24-45000-P:-1',
    '--option',
    'BTC-27DEC24-60000-C:-1',
    '--vol',
    '0.6',
  ]

  it('past the expiry every option settles: put 55,000 at 50,000 pays 5,000 ÷ 50,000 = 0.1 BTC per contract', () => {
    const report = margin(...expiring, '--at', '2024-12-28')
    expect(
      report.options.map((option) => [option.market, option.status, option.positionValue]),
    ).toEqual([
      ['BTC-27DEC24-55000-P', 'settled', '0.2'],
      ['BTC-27DEC24-45000-P', 'settled', '0'],
      ['BTC-27DEC24-60000-C', 'settled', '0'],
    ])
    expect(optionOf(report, 'BTC-27DEC24-55000-P').value).toBe('5000')
    expect(report.optionSettlement).toBe('0.2')
    expect(report.equity).toBe('1.2')
    // Settled options leave the portfolio: nothing is left to margin.
    expect(report.maintenanceMargin).toBe('0')
  })

  it('at the expiry instant the option settles; one minute before it is still open', () => {
    expect(
      optionOf(margin(...expiring, '--at', '2024-12-27T08:00Z'), 'BTC-27DEC24-55000-P').status,
    ).toBe('settled')
    const before = margin(...expiring, '--at', '2024-12-27T07:59Z')
    const put = optionOf(before, 'BTC-27DEC24-55000-P')
    expect(put.status).toBe('open')
    expect(Number(before.maintenanceMargin)).toBeGreaterThan(0)
  })

  it('--expiry moves the expiry time; --tte 0 settles', () => {
    const moved = margin(
      ...expiring,
      '--expiry',
      'BTC-27DEC24-55000-P=2024-12-28T08:00Z',
      '--at',
      '2024-12-28',
    )
    expect(optionOf(moved, 'BTC-27DEC24-55000-P').status).toBe('open')
    expect(optionOf(moved, 'BTC-27DEC24-45000-P').status).toBe('settled')
    const zero = margin(...expiring, '--tte', '0')
    expect(zero.options.every((option) => option.status === 'settled')).toBe(true)
  })
})

describe('PFM-038: bad input: one line on stderr, exit code 2, nothing on stdout', () => {
  const base = ['--preset', 'binance-usdm', '--wallet', '100', '--mark', 'BTCUSDT=50000']
  const option = ['--option', 'BTC-27DEC24-55000-P:1']
  const cases: [string, string[], RegExp][] = [
    [
      'PFM-032: options under the venue model',
      [...base, ...option, '--vol', '0.5', '--tte', '0.1'],
      /--option BTC-27DEC24-55000-P:1: options need --model portfolio \(binance-usdm's margin model charges rates on position value/,
    ],
    [
      'PFM-032: portfolio flags under the venue model',
      [...base, '--vol', '0.5'],
      /--vol: only with --model portfolio/,
    ],
    [
      'unknown model',
      [...base, '--model', 'tiered'],
      /--model tiered: expected venue or portfolio/,
    ],
    [
      'PFM-030: malformed option',
      [
        ...base,
        '--model',
        'portfolio',
        '--option',
        'BTC-27DEC24-55000:1',
        '--vol',
        '0.5',
        '--tte',
        '0.1',
      ],
      /option name "BTC-27DEC24-55000" is not BASE-DDMMMYY-STRIKE-C\|P/,
    ],
    [
      'PFM-030: option without size',
      [
        ...base,
        '--model',
        'portfolio',
        '--option',
        'BTC-27DEC24-55000-P',
        '--vol',
        '0.5',
        '--tte',
        '0.1',
      ],
      /expected NAME:SIZE\[@PREMIUM\]/,
    ],
    [
      'PFM-030: impossible date',
      [
        ...base,
        '--model',
        'portfolio',
        '--option',
        'BTC-31FEB24-55000-P:1',
        '--vol',
        '0.5',
        '--tte',
        '0.1',
      ],
      /"31FEB24" is not a date/,
    ],
    [
      'missing volatility',
      [...base, '--model', 'portfolio', ...option, '--tte', '0.1'],
      /missing volatility: give --vol BTC-27DEC24-55000-P=VOL/,
    ],
    [
      'missing time to expiry',
      [...base, '--model', 'portfolio', ...option, '--vol', '0.5'],
      /missing time to expiry: give --at TIME/,
    ],
    [
      'PFM-031: volatility for an unknown option',
      [...base, '--model', 'portfolio', ...option, '--vol', 'X=0.5', '--tte', '0.1'],
      /--vol X=0.5: no --option X/,
    ],
    [
      'zero volatility',
      [...base, '--model', 'portfolio', ...option, '--vol', '0', '--tte', '0.1'],
      /--vol BTC-27DEC24-55000-P=0: must be greater than 0/,
    ],
    [
      'missing underlying mark',
      [
        ...base,
        '--model',
        'portfolio',
        '--option',
        'ETH-27DEC24-3000-P:1',
        '--vol',
        '0.5',
        '--tte',
        '0.1',
      ],
      /missing --mark ETHUSDT=PRICE/,
    ],
    [
      'bad valuation time',
      [...base, '--model', 'portfolio', ...option, '--vol', '0.5', '--at', '2024-13-01'],
      /--at 2024-13-01: "2024-13-01" is not a time/,
    ],
    [
      'PFM-031: option settings without an option',
      [...base, '--model', 'portfolio', '--vol', '0.5'],
      /--vol 0.5: no --option to apply it to/,
    ],
    [
      'isolated margin under the portfolio model',
      [
        ...base,
        '--model',
        'portfolio',
        '--position',
        'BTCUSDT:1@50000',
        '--isolated',
        'BTCUSDT=10',
      ],
      /--isolated: not with --model portfolio/,
    ],
    [
      'no built-in parameters for the underlying',
      [
        '--preset',
        'binance-usdm',
        '--wallet',
        '100',
        '--model',
        'portfolio',
        '--position',
        'SOLUSDT:1@20',
        '--mark',
        'SOLUSDT=20',
        '--mmr',
        'SOLUSDT=0.01',
        '--imr',
        'SOLUSDT=0.02',
      ],
      /no built-in portfolio parameters for SOL \(built in: BTC, ETH\); give --portfolio-rules FILE/,
    ],
    [
      'rules file with its own instruments',
      [
        ...base,
        '--model',
        'portfolio',
        '--portfolio-rules',
        'examples/portfolio/deribit-grid.yaml',
      ],
      /--portfolio-rules examples\/portfolio\/deribit-grid.yaml: instruments: not read here/,
    ],
    [
      'span rules for an inverse account',
      [
        '--preset',
        'deribit',
        '--wallet',
        '1',
        '--model',
        'portfolio',
        '--position',
        'BTC-PERPETUAL:10@60000',
        '--mark',
        'BTC-PERPETUAL=60000',
        '--portfolio-rules',
        'test/cli/fixtures/span-btc.yaml',
      ],
      /the span model margins in the quote asset; these positions settle in their base asset/,
    ],
    [
      'linear grid for an inverse account',
      [
        '--preset',
        'deribit',
        '--wallet',
        '1',
        '--model',
        'portfolio',
        '--position',
        'BTC-PERPETUAL:10@60000',
        '--mark',
        'BTC-PERPETUAL=60000',
        '--portfolio-rules',
        'test/cli/fixtures/grid-linear-rules.yaml',
      ],
      /grid.settlement: "linear", but the positions settle in their base asset \(inverse\): use inverse/,
    ],
    [
      'missing rules file',
      [...base, '--model', 'portfolio', '--portfolio-rules', 'test/cli/fixtures/none.yaml'],
      /--portfolio-rules test\/cli\/fixtures\/none.yaml: cannot read the file/,
    ],
    [
      'a product the rules do not list',
      [
        '--preset',
        'binance-usdm',
        '--wallet',
        '100',
        '--model',
        'portfolio',
        '--position',
        'ETHUSDT:1@3000',
        '--mark',
        'ETHUSDT=3000',
        '--portfolio-rules',
        'test/cli/fixtures/span-btc.yaml',
      ],
      /--position ETHUSDT:1@3000: no product "ETH" in span.products/,
    ],
  ]

  it.each(cases)('%s', (_name, args, message) => {
    const result = lor('margin', ...args)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(/^lor: error: [^\n]+\n$/)
    expect(result.stderr).toMatch(message)
    expect(result.status).toBe(2)
  })
})

describe("PFM-035: a rule set's own portfolioMargin section", () => {
  it('deribit-pm is margined by its own grid (IM 1.3 × MM), not the built-in one (IM = MM)', () => {
    const args = [
      '--wallet',
      '0.2',
      '--wallet-asset',
      'BTC',
      '--position',
      'BTC-PERPETUAL:6000@60000',
      '--mark',
      'BTC-PERPETUAL=60000',
    ]
    const own = margin('--preset', 'deribit-pm', ...args)
    const builtIn = margin('--preset', 'deribit', ...args)
    // 1 BTC long, inverse: the −10 % cell loses 1 × 0.1 ÷ 0.9 BTC under both grids.
    expect(own.maintenanceMargin).toBe('0.111111111111111112')
    expect(builtIn.maintenanceMargin).toBe(own.maintenanceMargin)
    expect(own.initialMargin).toBe('0.144444444444444446')
    expect(builtIn.initialMargin).toBe(builtIn.maintenanceMargin)
  })
})
