/**
 * Scenario files (docs/scenarios.md, SCN-001..SCN-004): YAML or JSON, read with the YAML failsafe
 * schema so every scalar stays the exact text written (decimals are never floats). Parsing turns
 * the document into a typed `Scenario` or into the first issue, naming its path in the file
 * (e.g. `timeline[3].price: "abc" is not a decimal number`).
 */
import { parse as parseYaml } from 'yaml'
import type { Command, Liquidity } from '../core/engine/index.ts'
import { REFUSAL_CODES } from '../core/engine/index.ts'
import { ccpWaterfallPresets } from '../core/loss/ccp-presets.ts'
import type {
  ClearingMember,
  Defaulter,
  GroupCollateral,
  StressScenario,
  WaterfallPolicy,
} from '../core/loss/default-waterfall.ts'
import type { MarginMode } from '../core/model/account.ts'
import { type Fixed, parseFixed } from '../core/num/fixed.ts'

/** A problem in a scenario file: where (`timeline[3].price`) and what. */
export interface ScenarioIssue {
  readonly path: string
  readonly message: string
}

/** An expected decimal: `exact`, or `rounded` (written `~0.17`: equal after rounding to the decimals shown). */
export interface ExpectedDecimal {
  readonly value: Fixed
  readonly decimals: number | null
  readonly text: string
}

export interface ExpectedPosition {
  /** `0` expects no open position. */
  readonly size?: ExpectedDecimal
  readonly entryPrice?: ExpectedDecimal
  readonly isolatedMargin?: ExpectedDecimal
}

export interface ExpectedAccount {
  readonly balances: ReadonlyMap<string, ExpectedDecimal>
  readonly equity: ReadonlyMap<string, ExpectedDecimal>
  readonly positions: ReadonlyMap<string, ExpectedPosition>
}

/** An `expect:` block: checked at its place in the timeline, or at the end. */
export interface Expectations {
  readonly path: string
  readonly accounts: ReadonlyMap<string, ExpectedAccount>
  readonly insuranceFund: ReadonlyMap<string, ExpectedDecimal>
  /** Fund pools of the rule set's layout: fund id → asset → balance. */
  readonly insurancePools: ReadonlyMap<string, ReadonlyMap<string, ExpectedDecimal>>
  readonly feePool: ReadonlyMap<string, ExpectedDecimal>
  /** Number of events of each type emitted so far. */
  readonly events: ReadonlyMap<string, number>
}

export interface ScenarioPosition {
  readonly market: string
  readonly size: Fixed
  readonly entryPrice: Fixed
  readonly marginMode: MarginMode
  readonly leverage: Fixed | null
  readonly isolatedMargin: Fixed
}

export interface ScenarioAccount {
  readonly id: string
  readonly balances: ReadonlyMap<string, Fixed>
  readonly positions: readonly ScenarioPosition[]
}

export type ScenarioStep =
  | {
      readonly kind: 'command'
      readonly path: string
      readonly command: Command
      readonly expectedResult: string
    }
  | {
      readonly kind: 'time'
      readonly path: string
      readonly atMs: number | null
      readonly advanceMs: number | null
    }
  | { readonly kind: 'expect'; readonly path: string; readonly expectations: Expectations }
  | DefaultWaterfallStep
  | CoverStressStep

/** What a `default_waterfall` step expects; every map and value is optional. */
export interface WaterfallExpectations {
  /** Drawn per source name (`ccp_capital:<name>`, `member_default_fund`, ...), summed over tranches. */
  readonly sources: ReadonlyMap<string, ExpectedDecimal>
  /** Drawn per tranche name. */
  readonly tranches: ReadonlyMap<string, ExpectedDecimal>
  /** Per source name: what each payer (member id, `ccp:<name>`, defaulter) paid. */
  readonly payers: ReadonlyMap<string, ReadonlyMap<string, ExpectedDecimal>>
  readonly covered: ExpectedDecimal | null
  readonly uncovered: ExpectedDecimal | null
  readonly tornUp: ExpectedDecimal | null
  readonly replenishment: ExpectedDecimal | null
}

/**
 * A clearing house's default waterfall (docs/scenarios.md, SCN-020): a preset policy run over the
 * members and defaulters written in the step, independent of the trading engine's state.
 */
export interface DefaultWaterfallStep {
  readonly kind: 'default_waterfall'
  readonly path: string
  readonly policy: WaterfallPolicy
  readonly defaulters: readonly Defaulter[]
  readonly members: readonly ClearingMember[]
  readonly defaultsInCappedPeriod: number | null
  readonly capitalRemaining: ReadonlyMap<string, Fixed>
  readonly expect: WaterfallExpectations
}

/** Cover-1 / Cover-2 sizing of a default fund (docs/scenarios.md, SCN-021). */
export interface CoverStressStep {
  readonly kind: 'cover_stress'
  readonly path: string
  readonly defaultFund: Fixed
  readonly includeOwnDefaultFund: boolean
  readonly collateral: readonly GroupCollateral[]
  readonly scenarios: readonly StressScenario[]
  readonly expect: {
    readonly cover1: ExpectedDecimal | null
    readonly cover2: ExpectedDecimal | null
    readonly emir: ExpectedDecimal | null
    readonly adequate: ReadonlyMap<'cover1' | 'cover2' | 'emir', boolean>
  }
}

/**
 * Automatic execution of liquidation orders (docs/scenarios.md, SCN-010): after each command the
 * runner fills every open order at this price, or hands it to a takeover when the price is beyond
 * the order's limit.
 */
export interface LiquidationExecution {
  readonly price: 'mark' | 'bankruptcy' | 'mark_with_slippage'
  /** Fraction of the mark, worse for the liquidated side (`mark_with_slippage`). */
  readonly slippage: Fixed
}

export interface Scenario {
  readonly description: string
  /** `null`: liquidation orders wait for `liquidation_fill` / `liquidation_takeover` steps. */
  readonly liquidationExecution: LiquidationExecution | null
  /** Preset id (`binance-usdm`, `bitmex@2020-01-01`) or rule-set file path, relative to the scenario. */
  readonly preset: string
  /** Deep-merged into the rule-set document before validation. */
  readonly overridePatch: unknown
  /** `PATH=VALUE` assignments applied after the patch. */
  readonly overrideAssignments: readonly string[]
  readonly startMs: number
  readonly accounts: readonly ScenarioAccount[]
  readonly timeline: readonly ScenarioStep[]
  readonly expect: Expectations | null
}

class IssueError extends Error {
  constructor(readonly issue: ScenarioIssue) {
    super(`${issue.path}: ${issue.message}`)
  }
}

function fail(path: string, message: string): never {
  throw new IssueError({ path, message })
}

type Node = unknown

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`
  return path === '' ? key : `${path}.${key}`
}

function record(node: Node, path: string, allowed: readonly string[]): Record<string, Node> {
  if (typeof node !== 'object' || node === null || Array.isArray(node))
    fail(path === '' ? '(file)' : path, 'is not a mapping of fields')
  const fields = node as Record<string, Node>
  for (const key of Object.keys(fields)) {
    if (!allowed.includes(key))
      fail(join(path, key), `unknown field (expected one of: ${allowed.join(', ')})`)
  }
  return fields
}

function optionalRecord(node: Node, path: string): Record<string, Node> {
  if (node === undefined || node === null) return {}
  if (typeof node !== 'object' || Array.isArray(node)) fail(path, 'is not a mapping')
  return node as Record<string, Node>
}

function list(node: Node, path: string): readonly Node[] {
  if (node === undefined) return []
  if (!Array.isArray(node)) fail(path, 'is not a list')
  return node as Node[]
}

function text(node: Node, path: string): string {
  if (typeof node !== 'string' || node === '') fail(path, 'is missing or empty')
  return node
}

function optionalText(node: Node, path: string): string | undefined {
  return node === undefined ? undefined : text(node, path)
}

function decimal(node: Node, path: string): Fixed {
  if (typeof node !== 'string') fail(path, 'is missing (a decimal number is needed)')
  const parsed = parseFixed(node.trim())
  if (!parsed.ok) fail(path, parsed.message)
  return parsed.value
}

function optionalDecimal(node: Node, path: string): Fixed | undefined {
  return node === undefined ? undefined : decimal(node, path)
}

function oneOf<T extends string>(node: Node, path: string, choices: readonly T[]): T {
  const value = text(node, path)
  if (!(choices as readonly string[]).includes(value))
    fail(path, `"${value}" is not one of: ${choices.join(', ')}`)
  return value as T
}

function expectedDecimal(node: Node, path: string): ExpectedDecimal {
  if (typeof node !== 'string') fail(path, 'is missing (a decimal number is needed)')
  const written = node.trim()
  const rounded = written.startsWith('~')
  const body = rounded ? written.slice(1) : written
  const value = decimal(body, path)
  const decimals = rounded ? (body.split('.')[1] ?? '').length : null
  return { value, decimals, text: written }
}

function decimalsByAsset(node: Node, path: string): Map<string, ExpectedDecimal> {
  const result = new Map<string, ExpectedDecimal>()
  for (const [asset, value] of Object.entries(optionalRecord(node, path)))
    result.set(asset, expectedDecimal(value, join(path, asset)))
  return result
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
}

function duration(node: Node, path: string): number {
  const value = text(node, path)
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value)
  if (match === null)
    fail(path, `"${value}" is not a duration (e.g. 8h, 30m, 15s, 250ms, or milliseconds)`)
  return Number(match[1]) * (DURATION_UNITS[match[2] ?? 'ms'] ?? 1)
}

function instant(node: Node, path: string): number {
  const value = text(node, path)
  if (/^\d+$/.test(value)) return Number(value)
  const parsed = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(
    value,
  )
    ? Date.parse(value)
    : Number.NaN
  if (Number.isNaN(parsed))
    fail(
      path,
      `"${value}" is not a time (ISO 8601 like 2024-01-01T08:00:00Z, or milliseconds since 1970)`,
    )
  return parsed
}

function integer(node: Node, path: string): number {
  const value = text(node, path)
  if (!/^\d+$/.test(value)) fail(path, `"${value}" is not a whole number`)
  return Number(value)
}

const LIQUIDITIES: readonly Liquidity[] = ['maker', 'taker']
const MARGIN_MODES: readonly MarginMode[] = ['cross', 'isolated']
const RESULTS = ['ok', ...REFUSAL_CODES] as const

function parseExpectations(node: Node, path: string, extra: readonly string[] = []): Expectations {
  const fields = record(node, path, [
    'accounts',
    'insuranceFund',
    'insurancePools',
    'feePool',
    'events',
    ...extra,
  ])
  const accounts = new Map<string, ExpectedAccount>()
  for (const [id, accountNode] of Object.entries(
    optionalRecord(fields.accounts, join(path, 'accounts')),
  )) {
    const accountPath = join(join(path, 'accounts'), id)
    const account = record(accountNode, accountPath, ['balances', 'equity', 'positions'])
    const positions = new Map<string, ExpectedPosition>()
    for (const [market, positionNode] of Object.entries(
      optionalRecord(account.positions, join(accountPath, 'positions')),
    )) {
      const positionPath = join(join(accountPath, 'positions'), market)
      const position = record(positionNode, positionPath, ['size', 'entryPrice', 'isolatedMargin'])
      positions.set(market, {
        ...(position.size === undefined
          ? {}
          : { size: expectedDecimal(position.size, join(positionPath, 'size')) }),
        ...(position.entryPrice === undefined
          ? {}
          : { entryPrice: expectedDecimal(position.entryPrice, join(positionPath, 'entryPrice')) }),
        ...(position.isolatedMargin === undefined
          ? {}
          : {
              isolatedMargin: expectedDecimal(
                position.isolatedMargin,
                join(positionPath, 'isolatedMargin'),
              ),
            }),
      })
    }
    accounts.set(id, {
      balances: decimalsByAsset(account.balances, join(accountPath, 'balances')),
      equity: decimalsByAsset(account.equity, join(accountPath, 'equity')),
      positions,
    })
  }
  const events = new Map<string, number>()
  for (const [type, count] of Object.entries(optionalRecord(fields.events, join(path, 'events')))) {
    events.set(type, integer(count, join(join(path, 'events'), type)))
  }
  return {
    path,
    accounts,
    insuranceFund: decimalsByAsset(fields.insuranceFund, join(path, 'insuranceFund')),
    insurancePools: new Map(
      Object.entries(optionalRecord(fields.insurancePools, join(path, 'insurancePools'))).map(
        ([fund, node]) => [fund, decimalsByAsset(node, join(join(path, 'insurancePools'), fund))],
      ),
    ),
    feePool: decimalsByAsset(fields.feePool, join(path, 'feePool')),
    events,
  }
}

const STEP_FIELDS: Readonly<Record<string, readonly string[]>> = {
  deposit: ['account', 'asset', 'amount'],
  withdraw: ['account', 'asset', 'amount'],
  trade: [
    'account',
    'market',
    'size',
    'price',
    'liquidity',
    'counterparty',
    'counterpartyLiquidity',
  ],
  mark_price: ['market', 'mark', 'index', 'volatility'],
  funding: ['market', 'rate'],
  set_margin_mode: ['account', 'market', 'marginMode'],
  add_isolated_margin: ['account', 'market', 'amount'],
  set_leverage: ['account', 'market', 'leverage'],
  expire: ['market', 'settlementPrice'],
  liquidation_fill: ['orderId', 'size', 'price', 'counterparty', 'availableVolume'],
  liquidation_takeover: ['orderId'],
  insurance_fund_deposit: ['fund', 'asset', 'amount'],
  time: ['at', 'advance'],
  expect: ['accounts', 'insuranceFund', 'insurancePools', 'feePool', 'events'],
  default_waterfall: [
    'preset',
    'members',
    'defaulters',
    'defaultsInCappedPeriod',
    'capitalRemaining',
    'expect',
  ],
  cover_stress: ['defaultFund', 'includeOwnDefaultFund', 'collateral', 'scenarios', 'expect'],
}

function parseStep(node: Node, path: string): ScenarioStep {
  const type = oneOf(optionalRecord(node, path).type, join(path, 'type'), Object.keys(STEP_FIELDS))
  const allowed = STEP_FIELDS[type] ?? []
  if (type === 'expect')
    return { kind: 'expect', path, expectations: parseExpectations(node, path, ['type']) }
  if (type === 'default_waterfall')
    return parseDefaultWaterfall(record(node, path, ['type', ...allowed]), path)
  if (type === 'cover_stress')
    return parseCoverStress(record(node, path, ['type', ...allowed]), path)
  const fields = record(node, path, ['type', 'result', ...allowed])
  const at = (key: string) => join(path, key)
  if (type === 'time') {
    if ((fields.at === undefined) === (fields.advance === undefined))
      fail(path, 'a time step has exactly one of `at` or `advance`')
    return {
      kind: 'time',
      path,
      atMs: fields.at === undefined ? null : instant(fields.at, at('at')),
      advanceMs: fields.advance === undefined ? null : duration(fields.advance, at('advance')),
    }
  }
  const expectedResult =
    fields.result === undefined ? 'ok' : oneOf(fields.result, at('result'), RESULTS)
  const command = ((): Command => {
    switch (type) {
      case 'deposit':
      case 'withdraw':
        return {
          type,
          account: text(fields.account, at('account')),
          asset: text(fields.asset, at('asset')),
          amount: decimal(fields.amount, at('amount')),
        }
      case 'trade': {
        const counterparty = optionalText(fields.counterparty, at('counterparty'))
        const counterpartyLiquidity =
          fields.counterpartyLiquidity === undefined
            ? undefined
            : oneOf(fields.counterpartyLiquidity, at('counterpartyLiquidity'), LIQUIDITIES)
        return {
          type,
          account: text(fields.account, at('account')),
          market: text(fields.market, at('market')),
          size: decimal(fields.size, at('size')),
          price: decimal(fields.price, at('price')),
          liquidity:
            fields.liquidity === undefined
              ? 'taker'
              : oneOf(fields.liquidity, at('liquidity'), LIQUIDITIES),
          ...(counterparty === undefined ? {} : { counterparty }),
          ...(counterpartyLiquidity === undefined ? {} : { counterpartyLiquidity }),
        }
      }
      case 'mark_price': {
        const index = optionalDecimal(fields.index, at('index'))
        const volatility = optionalDecimal(fields.volatility, at('volatility'))
        return {
          type,
          market: text(fields.market, at('market')),
          mark: decimal(fields.mark, at('mark')),
          ...(index === undefined ? {} : { index }),
          ...(volatility === undefined ? {} : { volatility }),
        }
      }
      case 'funding':
        return {
          type,
          market: text(fields.market, at('market')),
          rate: decimal(fields.rate, at('rate')),
        }
      case 'set_margin_mode':
        return {
          type,
          account: text(fields.account, at('account')),
          market: text(fields.market, at('market')),
          marginMode: oneOf(fields.marginMode, at('marginMode'), MARGIN_MODES),
        }
      case 'add_isolated_margin':
        return {
          type,
          account: text(fields.account, at('account')),
          market: text(fields.market, at('market')),
          amount: decimal(fields.amount, at('amount')),
        }
      case 'set_leverage':
        return {
          type,
          account: text(fields.account, at('account')),
          market: text(fields.market, at('market')),
          leverage: fields.leverage === 'max' ? null : decimal(fields.leverage, at('leverage')),
        }
      case 'expire':
        return {
          type,
          market: text(fields.market, at('market')),
          settlementPrice: decimal(fields.settlementPrice, at('settlementPrice')),
        }
      case 'liquidation_fill': {
        const counterparty = optionalText(fields.counterparty, at('counterparty'))
        return {
          type,
          orderId: text(fields.orderId, at('orderId')),
          size: decimal(fields.size, at('size')),
          price: decimal(fields.price, at('price')),
          ...(counterparty === undefined ? {} : { counterparty }),
          ...(fields.availableVolume === undefined
            ? {}
            : { availableVolume: decimal(fields.availableVolume, at('availableVolume')) }),
        }
      }
      case 'liquidation_takeover':
        return { type, orderId: text(fields.orderId, at('orderId')) }
      case 'insurance_fund_deposit':
        return {
          type,
          fund: text(fields.fund, at('fund')),
          asset: text(fields.asset, at('asset')),
          amount: decimal(fields.amount, at('amount')),
        }
      default:
        return fail(at('type'), `"${type}" is not a command`)
    }
  })()
  return { kind: 'command', path, command, expectedResult }
}

function nonNegative(node: Node, path: string): Fixed {
  const value = decimal(node, path)
  if (value < 0n) fail(path, 'is negative')
  return value
}

function optionalNonNegative(node: Node, path: string): Fixed {
  return node === undefined ? (0n as Fixed) : nonNegative(node, path)
}

function optionalExpected(node: Node, path: string): ExpectedDecimal | null {
  return node === undefined ? null : expectedDecimal(node, path)
}

function uniqueIds(ids: readonly string[], path: string, what: string): void {
  const seen = new Set<string>()
  for (const id of ids) {
    if (seen.has(id)) fail(path, `${what} "${id}" is listed twice`)
    seen.add(id)
  }
}

function parseDefaultWaterfall(fields: Record<string, Node>, path: string): DefaultWaterfallStep {
  const at = (key: string) => join(path, key)
  const presetId = oneOf(fields.preset, at('preset'), [...ccpWaterfallPresets.keys()])
  const policy = ccpWaterfallPresets.get(presetId)
  if (policy === undefined) fail(at('preset'), `"${presetId}" is not a waterfall preset`)
  const defaulters = list(fields.defaulters, at('defaulters')).map((node, index) => {
    const itemPath = join(at('defaulters'), index)
    const item = record(node, itemPath, ['member', 'loss', 'margin', 'defaultFund'])
    return {
      memberId: text(item.member, join(itemPath, 'member')),
      closeOutLoss: nonNegative(item.loss, join(itemPath, 'loss')),
      margin: optionalNonNegative(item.margin, join(itemPath, 'margin')),
      defaultFundContribution: optionalNonNegative(item.defaultFund, join(itemPath, 'defaultFund')),
    }
  })
  if (defaulters.length === 0) fail(at('defaulters'), 'lists no defaulter')
  const members: ClearingMember[] = []
  list(fields.members, at('members')).forEach((node, index) => {
    const itemPath = join(at('members'), index)
    const item = record(node, itemPath, [
      'member',
      'count',
      'defaultFund',
      'variationMarginGain',
      'assessmentsAlreadyCalled',
    ])
    const id = text(item.member, join(itemPath, 'member'))
    const count = item.count === undefined ? null : integer(item.count, join(itemPath, 'count'))
    if (count !== null && (count < 1 || count > 100_000))
      fail(join(itemPath, 'count'), 'is not between 1 and 100000')
    const shape = {
      defaultFundContribution: optionalNonNegative(item.defaultFund, join(itemPath, 'defaultFund')),
      variationMarginGain: optionalNonNegative(
        item.variationMarginGain,
        join(itemPath, 'variationMarginGain'),
      ),
      assessmentsAlreadyCalled: optionalNonNegative(
        item.assessmentsAlreadyCalled,
        join(itemPath, 'assessmentsAlreadyCalled'),
      ),
    }
    if (count === null) members.push({ memberId: id, ...shape })
    else
      for (let number = 1; number <= count; number += 1)
        members.push({
          memberId: `${id}${String(number).padStart(String(count).length, '0')}`,
          ...shape,
        })
  })
  uniqueIds(
    defaulters.map((defaulter) => defaulter.memberId),
    at('defaulters'),
    'defaulter',
  )
  uniqueIds(
    members.map((member) => member.memberId),
    at('members'),
    'member',
  )
  const capitalNames = policy.tranches.flatMap((tranche) =>
    tranche.sources.flatMap((source) => (source.kind === 'ccp_capital' ? [source.name] : [])),
  )
  const capitalRemaining = new Map<string, Fixed>()
  for (const [name, value] of Object.entries(
    optionalRecord(fields.capitalRemaining, at('capitalRemaining')),
  )) {
    const valuePath = join(at('capitalRemaining'), name)
    if (!capitalNames.includes(name))
      fail(valuePath, `is not a capital tranche of ${policy.id} (${capitalNames.join(', ')})`)
    capitalRemaining.set(name, nonNegative(value, valuePath))
  }
  const expectFields = record(optionalRecord(fields.expect, at('expect')), at('expect'), [
    'sources',
    'tranches',
    'payers',
    'covered',
    'uncovered',
    'tornUp',
    'replenishment',
  ])
  const expectPath = (key: string) => join(at('expect'), key)
  return {
    kind: 'default_waterfall',
    path,
    policy,
    defaulters,
    members,
    defaultsInCappedPeriod:
      fields.defaultsInCappedPeriod === undefined
        ? null
        : integer(fields.defaultsInCappedPeriod, at('defaultsInCappedPeriod')),
    capitalRemaining,
    expect: {
      sources: decimalsByAsset(expectFields.sources, expectPath('sources')),
      tranches: decimalsByAsset(expectFields.tranches, expectPath('tranches')),
      payers: new Map(
        Object.entries(optionalRecord(expectFields.payers, expectPath('payers'))).map(
          ([source, node]) => [source, decimalsByAsset(node, join(expectPath('payers'), source))],
        ),
      ),
      covered: optionalExpected(expectFields.covered, expectPath('covered')),
      uncovered: optionalExpected(expectFields.uncovered, expectPath('uncovered')),
      tornUp: optionalExpected(expectFields.tornUp, expectPath('tornUp')),
      replenishment: optionalExpected(expectFields.replenishment, expectPath('replenishment')),
    },
  }
}

function parseCoverStress(fields: Record<string, Node>, path: string): CoverStressStep {
  const at = (key: string) => join(path, key)
  const collateral = list(fields.collateral, at('collateral')).map((node, index) => {
    const itemPath = join(at('collateral'), index)
    const item = record(node, itemPath, ['group', 'margin', 'defaultFund'])
    return {
      groupId: text(item.group, join(itemPath, 'group')),
      margin: optionalNonNegative(item.margin, join(itemPath, 'margin')),
      defaultFundContribution: optionalNonNegative(item.defaultFund, join(itemPath, 'defaultFund')),
    }
  })
  uniqueIds(
    collateral.map((entry) => entry.groupId),
    at('collateral'),
    'group',
  )
  const scenarios = list(fields.scenarios, at('scenarios')).map((node, index) => {
    const itemPath = join(at('scenarios'), index)
    const item = record(node, itemPath, ['scenario', 'losses'])
    return {
      scenarioId: text(item.scenario, join(itemPath, 'scenario')),
      losses: Object.entries(optionalRecord(item.losses, join(itemPath, 'losses'))).map(
        ([groupId, value]) => ({
          groupId,
          stressLoss: nonNegative(value, join(join(itemPath, 'losses'), groupId)),
        }),
      ),
    }
  })
  if (scenarios.length === 0) fail(at('scenarios'), 'lists no stress scenario')
  const expectFields = record(optionalRecord(fields.expect, at('expect')), at('expect'), [
    'cover1',
    'cover2',
    'emir',
    'adequate',
  ])
  const expectPath = (key: string) => join(at('expect'), key)
  const adequate = new Map<'cover1' | 'cover2' | 'emir', boolean>()
  for (const [rule, value] of Object.entries(
    optionalRecord(expectFields.adequate, expectPath('adequate')),
  )) {
    const rulePath = join(expectPath('adequate'), rule)
    const key = oneOf(rule, rulePath, ['cover1', 'cover2', 'emir'] as const)
    adequate.set(key, oneOf(value, rulePath, ['true', 'false'] as const) === 'true')
  }
  return {
    kind: 'cover_stress',
    path,
    defaultFund: nonNegative(fields.defaultFund, at('defaultFund')),
    includeOwnDefaultFund:
      fields.includeOwnDefaultFund === undefined
        ? false
        : oneOf(fields.includeOwnDefaultFund, at('includeOwnDefaultFund'), [
            'true',
            'false',
          ] as const) === 'true',
    collateral,
    scenarios,
    expect: {
      cover1: optionalExpected(expectFields.cover1, expectPath('cover1')),
      cover2: optionalExpected(expectFields.cover2, expectPath('cover2')),
      emir: optionalExpected(expectFields.emir, expectPath('emir')),
      adequate,
    },
  }
}

function parseAccount(id: string, node: Node, path: string): ScenarioAccount {
  const fields = record(node, path, ['balances', 'positions'])
  const balances = new Map<string, Fixed>()
  for (const [asset, amount] of Object.entries(
    optionalRecord(fields.balances, join(path, 'balances')),
  )) {
    balances.set(asset, decimal(amount, join(join(path, 'balances'), asset)))
  }
  const positions: ScenarioPosition[] = []
  for (const [market, positionNode] of Object.entries(
    optionalRecord(fields.positions, join(path, 'positions')),
  )) {
    const positionPath = join(join(path, 'positions'), market)
    const position = record(positionNode, positionPath, [
      'size',
      'entryPrice',
      'marginMode',
      'leverage',
      'isolatedMargin',
    ])
    const marginMode =
      position.marginMode === undefined
        ? 'cross'
        : oneOf(position.marginMode, join(positionPath, 'marginMode'), MARGIN_MODES)
    const isolatedMargin = optionalDecimal(
      position.isolatedMargin,
      join(positionPath, 'isolatedMargin'),
    )
    if (marginMode === 'isolated' && isolatedMargin === undefined)
      fail(join(positionPath, 'isolatedMargin'), 'is needed for an isolated position')
    if (marginMode === 'cross' && isolatedMargin !== undefined)
      fail(join(positionPath, 'isolatedMargin'), 'belongs to isolated positions only')
    positions.push({
      market,
      size: decimal(position.size, join(positionPath, 'size')),
      entryPrice: decimal(position.entryPrice, join(positionPath, 'entryPrice')),
      marginMode,
      leverage: optionalDecimal(position.leverage, join(positionPath, 'leverage')) ?? null,
      isolatedMargin: isolatedMargin ?? (0n as Fixed),
    })
  }
  return { id, balances, positions }
}

/** Reads scenario text (YAML or JSON) into a scenario, or the first issue found. */
export function parseScenarioText(
  source: string,
): { ok: true; scenario: Scenario } | { ok: false; issue: ScenarioIssue } {
  let document: unknown
  try {
    document = parseYaml(source, { schema: 'failsafe', uniqueKeys: true })
  } catch (error) {
    const message =
      error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error)
    return {
      ok: false,
      issue: { path: '(file)', message: `is not valid YAML or JSON: ${message}` },
    }
  }
  try {
    return { ok: true, scenario: parseScenarioDocument(document) }
  } catch (error) {
    if (error instanceof IssueError) return { ok: false, issue: error.issue }
    throw error
  }
}

function parseScenarioDocument(document: unknown): Scenario {
  const fields = record(document, '', [
    'description',
    'preset',
    'overrides',
    'start',
    'accounts',
    'timeline',
    'expect',
    'liquidation_execution',
  ])
  let liquidationExecution: LiquidationExecution | null = null
  if (fields.liquidation_execution !== undefined) {
    const execution = record(fields.liquidation_execution, 'liquidation_execution', [
      'price',
      'slippage',
    ])
    const price = oneOf(execution.price, 'liquidation_execution.price', [
      'mark',
      'bankruptcy',
      'mark_with_slippage',
    ] as const)
    const slippage =
      execution.slippage === undefined
        ? (0n as Fixed)
        : decimal(execution.slippage, 'liquidation_execution.slippage')
    if (slippage < 0n) fail('liquidation_execution.slippage', 'is negative')
    liquidationExecution = { price, slippage }
  }
  let overridePatch: unknown = null
  const overrideAssignments: string[] = []
  if (Array.isArray(fields.overrides)) {
    list(fields.overrides, 'overrides').forEach((item, index) =>
      overrideAssignments.push(text(item, join('overrides', index))),
    )
  } else if (fields.overrides !== undefined) {
    overridePatch = optionalRecord(fields.overrides, 'overrides')
  }
  const accounts = Object.entries(optionalRecord(fields.accounts, 'accounts')).map(([id, node]) => {
    if (id.startsWith('@'))
      fail(join('accounts', id), 'account ids starting with @ are reserved for system accounts')
    return parseAccount(id, node, join('accounts', id))
  })
  return {
    description: optionalText(fields.description, 'description') ?? '',
    liquidationExecution,
    preset: text(fields.preset, 'preset'),
    overridePatch,
    overrideAssignments,
    startMs: fields.start === undefined ? 0 : instant(fields.start, 'start'),
    accounts,
    timeline: list(fields.timeline, 'timeline').map((node, index) =>
      parseStep(node, join('timeline', index)),
    ),
    expect: fields.expect === undefined ? null : parseExpectations(fields.expect, 'expect'),
  }
}
