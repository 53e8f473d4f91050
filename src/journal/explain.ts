/**
 * Explanations from the journal (docs/journal.md, JNL-017): why an entry did what it did, and what
 * happened to an account, told from what the entries recorded: the command that triggered it, the
 * prices in force, the equity and maintenance margin the engine reported, the rule set (id, version,
 * who changed it) in force, the fills and fund movements. Nothing is recomputed.
 */
import { add, type Fixed, formatFixed, parseFixed, ZERO } from '../core/num/fixed.ts'
import { canonicalJson, type JsonValue } from './canonical.ts'
import type { JournalEntry } from './entry.ts'
import { JournalError } from './errors.ts'
import { isGenesisFormat } from './genesis.ts'
import { readEntries } from './replay.ts'
import type { JournalStore } from './store.ts'

type JsonObject = { readonly [key: string]: JsonValue }

/** The rule set in force at an entry, and where it came from. */
export interface RulesInForce {
  readonly id: string
  readonly version: string
  /** The entry of the rule change that installed it, or null for the journal's genesis. */
  readonly sinceSequence: number | null
  readonly author: string | null
  readonly effectiveTimeMs: number | null
}

/** The latest mark (and index) of a market, and the entry that set it. */
export interface MarkInForce {
  readonly mark: string
  readonly index: string | null
  readonly sequence: number
}

/** One event with its sentence, and for liquidation and loss events the facts as data. */
export interface ExplainedEvent {
  readonly event: JsonObject
  readonly text: string
  /** What the event means, as data (liquidation, fund, ADL, socialized loss, allocation), or null. */
  readonly detail: JsonObject | null
}

/** Everything an entry's explanation says. */
export interface EntryExplanation {
  readonly sequence: number
  readonly timestampMs: number
  readonly time: string
  readonly idempotencyKey: string
  readonly command: JsonObject
  readonly commandText: string
  readonly result: JsonObject
  readonly resultText: string
  readonly rules: RulesInForce
  /** Marks in force just before the command (what the engine saw as it started). */
  readonly marksBefore: Readonly<Record<string, MarkInForce>>
  readonly events: readonly ExplainedEvent[]
  /** The causal chain, step by step, in words. */
  readonly chain: readonly string[]
}

/** An account's history: the entries whose command or events name it. */
export interface AccountExplanation {
  readonly account: string
  readonly entries: readonly EntryExplanation[]
  /** Entries that name the account, before `limit` kept the last ones. */
  readonly total: number
  /** Every liquidation the account took part in (liquidated, deleveraged or charged), in causal order. */
  readonly liquidations: readonly LiquidationChain[]
}

/** Context carried while reading the journal in order. */
class Context {
  rules: RulesInForce
  /** The `liquidation.adl` section of the rule set in force (file form), or null. */
  adlPolicy: JsonObject | null
  readonly marks = new Map<string, MarkInForce>()

  constructor(rules: RulesInForce, adlPolicy: JsonObject | null) {
    this.rules = rules
    this.adlPolicy = adlPolicy
  }

  explain(
    entry: JournalEntry,
    command: JsonObject,
    result: JsonObject,
    events: readonly JsonObject[],
  ): EntryExplanation {
    const marksBefore = Object.fromEntries(
      [...this.marks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    )
    const explainedEvents = events.map((event) => ({
      event,
      text: describeEvent(event, this.adlPolicy),
      detail: detailOf(event, this.adlPolicy),
    }))
    const explanation: EntryExplanation = {
      sequence: entry.sequence,
      timestampMs: entry.timestampMs,
      time: new Date(entry.timestampMs).toISOString(),
      idempotencyKey: entry.idempotencyKey,
      command,
      commandText: describeCommand(command),
      result,
      resultText: describeResult(result),
      rules: this.rules,
      marksBefore,
      events: explainedEvents,
      chain: chainOf(entry, command, result, explainedEvents, this.rules, this.marks),
    }
    return explanation
  }

  /** Moves the context past an entry. */
  advance(
    entry: JournalEntry,
    command: JsonObject,
    result: JsonObject,
    events: readonly JsonObject[],
  ): void {
    if (result.status !== 'ok') return
    for (const event of events) {
      if (
        event.type === 'mark_updated' &&
        typeof event.market === 'string' &&
        typeof event.mark === 'string'
      ) {
        this.marks.set(event.market, {
          mark: event.mark,
          index: typeof event.index === 'string' ? event.index : null,
          sequence: entry.sequence,
        })
      }
      if (
        event.type === 'rules_changed' &&
        typeof event.id === 'string' &&
        typeof event.version === 'string'
      ) {
        this.rules = {
          id: event.id,
          version: event.version,
          sinceSequence: entry.sequence,
          author: typeof command.author === 'string' ? command.author : null,
          effectiveTimeMs:
            typeof command.effectiveTimeMs === 'number' ? command.effectiveTimeMs : null,
        }
        this.adlPolicy = adlPolicyOf(command.ruleSet)
      }
    }
  }
}

function parseObject(text: string, sequence: number): JsonObject {
  const value = JSON.parse(text) as JsonValue
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new JournalError('corrupt_entry', `entry ${sequence}: not an object`, sequence)
  return value as JsonObject
}

function parseEvents(text: string, sequence: number): JsonObject[] {
  const value = JSON.parse(text) as JsonValue
  if (!Array.isArray(value))
    throw new JournalError('corrupt_entry', `entry ${sequence}: events are not a list`, sequence)
  return (value as JsonValue[]).filter(
    (event): event is JsonObject =>
      typeof event === 'object' && event !== null && !Array.isArray(event),
  )
}

async function startingContext(store: JournalStore): Promise<Context> {
  const genesis = await store.readGenesis()
  let id = '(unknown)'
  let version = '(unknown)'
  let adlPolicy: JsonObject | null = null
  if (genesis !== null) {
    const document = JSON.parse(genesis.genesisJson) as {
      format?: unknown
      ruleSet?: { id?: unknown; version?: unknown }
    }
    if (isGenesisFormat(document.format)) {
      id = typeof document.ruleSet?.id === 'string' ? document.ruleSet.id : id
      version = typeof document.ruleSet?.version === 'string' ? document.ruleSet.version : version
      adlPolicy = adlPolicyOf(document.ruleSet as JsonValue | undefined)
    }
  }
  return new Context(
    { id, version, sinceSequence: null, author: null, effectiveTimeMs: null },
    adlPolicy,
  )
}

/** Explains one entry (null when the journal has no such entry). */
export async function explainEntry(
  store: JournalStore,
  sequence: number,
): Promise<EntryExplanation | null> {
  const context = await startingContext(store)
  for await (const entry of readEntries(store)) {
    const command = parseObject(entry.commandJson, entry.sequence)
    const result = parseObject(entry.resultJson, entry.sequence)
    const events = parseEvents(entry.eventsJson, entry.sequence)
    if (entry.sequence === sequence) return context.explain(entry, command, result, events)
    context.advance(entry, command, result, events)
    if (entry.sequence > sequence) break
  }
  return null
}

/** Explains every entry that names `account` in its command or events; keeps the last `limit`. */
export async function explainAccount(
  store: JournalStore,
  account: string,
  limit = Number.POSITIVE_INFINITY,
): Promise<AccountExplanation> {
  const context = await startingContext(store)
  const kept: EntryExplanation[] = []
  const chains = new ChainCollector()
  let total = 0
  for await (const entry of readEntries(store)) {
    const command = parseObject(entry.commandJson, entry.sequence)
    const result = parseObject(entry.resultJson, entry.sequence)
    const events = parseEvents(entry.eventsJson, entry.sequence)
    chains.add(entry, command, result, events, context)
    if (namesAccount(command, account) || events.some((event) => namesAccount(event, account))) {
      total += 1
      const explained = context.explain(entry, command, result, events)
      kept.push({
        ...explained,
        events: explained.events.filter(
          (item) => namesAccount(item.event, account) || !hasAccountField(item.event),
        ),
      })
      if (kept.length > limit) kept.shift()
    }
    context.advance(entry, command, result, events)
  }
  return { account, entries: kept, total, liquidations: chains.chainsOf(account) }
}

function namesAccount(value: JsonObject, account: string): boolean {
  return value.account === account || value.counterparty === account
}

function hasAccountField(value: JsonObject): boolean {
  return typeof value.account === 'string'
}

const text = (value: JsonValue | undefined): string =>
  value === undefined || value === null
    ? '–'
    : typeof value === 'string'
      ? value
      : canonicalJson(value)

/** One sentence for a command. */
export function describeCommand(command: JsonObject): string {
  const c = (key: string) => text(command[key])
  switch (typeof command.type === 'string' ? command.type : '') {
    case 'deposit':
      return `deposit of ${c('amount')} ${c('asset')} to ${c('account')}`
    case 'withdraw':
      return `withdrawal of ${c('amount')} ${c('asset')} from ${c('account')}`
    case 'trade': {
      const size = c('size')
      const side = size.startsWith('-') ? `sells ${size.slice(1)}` : `buys ${size}`
      const against = command.counterparty === undefined ? 'the book' : c('counterparty')
      return `${c('account')} ${side} ${c('market')} at ${c('price')} (${c('liquidity')}) against ${against}`
    }
    case 'mark_price':
      return `mark price of ${c('market')} set to ${c('mark')}${command.index === undefined ? '' : ` (index ${c('index')})`}${command.volatility === undefined ? '' : ` (implied volatility ${c('volatility')})`}`
    case 'funding':
      return `funding of ${c('market')} at rate ${c('rate')}`
    case 'set_margin_mode':
      return `${c('account')} sets ${c('market')} to ${c('marginMode')} margin`
    case 'add_isolated_margin':
      return `${c('account')} adds ${c('amount')} to the isolated margin of ${c('market')}`
    case 'set_leverage':
      return `${c('account')} sets the leverage of ${c('market')} to ${command.leverage === null ? 'the maximum' : c('leverage')}`
    case 'expire':
      return `expiry of ${c('market')} at settlement price ${c('settlementPrice')}`
    case 'liquidation_fill':
      return `liquidation order ${c('orderId')} filled: ${c('size')} at ${c('price')}${command.counterparty === undefined ? '' : ` against ${c('counterparty')}`}`
    case 'liquidation_takeover':
      return `the venue takes over the rest of liquidation order ${c('orderId')}`
    case 'insurance_fund_deposit':
      return `deposit of ${c('amount')} ${c('asset')} to insurance fund ${c('fund')}`
    case 'rules_change': {
      const ruleSet = command.ruleSet as JsonObject | undefined
      return `rule change to ${text(ruleSet?.id)} ${text(ruleSet?.version)} by ${c('author')}, effective ${typeof command.effectiveTimeMs === 'number' ? new Date(command.effectiveTimeMs).toISOString() : '–'}`
    }
    default:
      return `${text(command.type)} ${fieldsText(command)}`
  }
}

function describeResult(result: JsonObject): string {
  if (result.status === 'ok') return 'applied'
  const context = fieldsText(result, ['status'])
  return `refused: ${text(result.status)}${context === '' ? '' : ` (${context})`}`
}

function fieldsText(value: JsonObject, skip: readonly string[] = ['type']): string {
  return Object.keys(value)
    .filter((key) => !skip.includes(key))
    .sort()
    .map((key) => `${key}=${text(value[key])}`)
    .join(', ')
}

/** One sentence for an event; unknown event types are listed with their fields. */
export function describeEvent(event: JsonObject, adlPolicy: JsonObject | null = null): string {
  const e = (key: string) => text(event[key])
  switch (typeof event.type === 'string' ? event.type : '') {
    case 'account_opened':
      return `account ${e('account')} opened`
    case 'deposit_applied':
      return `${e('account')} credited ${e('amount')} ${e('asset')}`
    case 'withdrawal_applied':
      return `${e('account')} debited ${e('amount')} ${e('asset')}`
    case 'fill_applied': {
      const size = e('size')
      const side = size.startsWith('-') ? `sold ${size.slice(1)}` : `bought ${size}`
      return `fill: ${e('account')} ${side} ${e('market')} at ${e('price')} against ${e('counterparty')} (${e('liquidity')}, fee ${e('fee')}, realized PnL ${e('realizedPnl')}); position now ${e('positionSize')}`
    }
    case 'funding_paid':
      return `${e('account')} ${e('amount').startsWith('-') ? `received ${e('amount').slice(1)}` : `paid ${e('amount')}`} funding on ${e('market')} at rate ${e('rate')}`
    case 'insurance_fund_credited':
      return `insurance fund credited ${e('amount')} ${e('asset')} (${e('reason')})`
    case 'mark_updated':
      return `mark of ${e('market')} is now ${e('mark')}${event.index === null || event.index === undefined ? '' : ` (index ${e('index')})`}`
    case 'account_below_maintenance':
      return `${e('account')} is below maintenance in ${e('asset')}${event.market === null || event.market === undefined ? '' : ` (isolated ${e('market')})`}: equity ${e('equity')} < maintenance margin ${e('maintenanceMargin')}`
    case 'expiry_settled':
      return `${e('account')} settled ${e('size')} ${e('market')} at ${e('settlementPrice')} (realized PnL ${e('realizedPnl')})`
    case 'market_expired':
      return `market ${e('market')} expired at ${e('settlementPrice')}`
    case 'rules_changed':
      return `rule set ${e('id')} ${e('version')} now in force`
    case 'isolated_margin_moved':
      return `${e('account')} moved ${unsigned(e('amount'))} ${e('amount').startsWith('-') ? 'from the isolated margin of' : 'to the isolated margin of'} ${e('market')}`
    case 'margin_mode_set':
      return `${e('account')} set ${e('market')} to ${e('marginMode')} margin`
    case 'leverage_set':
      return `${e('account')} set the leverage of ${e('market')} to ${event.leverage === null ? 'the maximum' : e('leverage')}`
    case 'liquidation_order_placed':
      return `liquidation order ${e('orderId')} placed for ${e('account')} (${e('scope')}): ${sideOf(e('size'))} ${unsigned(e('size'))} of ${e('positionSize')} ${e('market')}, ${e('policy')} (${e('reason')}), limit ${event.limitPrice === null ? 'none' : e('limitPrice')}, bankruptcy price ${e('bankruptcyPrice')}, at mark ${e('markPrice')} with equity ${e('equity')} < maintenance margin ${e('maintenanceMargin')} (${e('rule')}, ${e('ruleSetId')} ${e('ruleSetVersion')})`
    case 'liquidation_order_filled':
      return `liquidation order ${e('orderId')} of ${e('account')} filled: ${unsigned(e('size'))} ${e('market')} at ${event.price === null ? 'several prices' : e('price')} against ${listText(event.counterparties)} (bankruptcy price ${e('bankruptcyPrice')}): realized PnL ${e('realizedPnl')}, surplus ${e('surplus')} and liquidation fee ${e('fee')} to the insurance fund, shortfall ${e('gap')} for the loss chain; ${unsigned(e('remaining'))} remaining (${e('rule')})`
    case 'liquidation_takeover':
      return `the venue takes over ${unsigned(e('size'))} ${e('market')} of order ${e('orderId')} (${e('account')}) ${event.via === 'adl' ? 'through ADL' : 'into the book'} at mark ${e('markPrice')}: estimated shortfall ${e('estimatedShortfall')} beyond the bankruptcy price ${e('bankruptcyPrice')}, the insurance fund could give ${e('fundAvailable')}, ADL trigger ${event.adlTriggerActive === true ? 'active' : 'not active'}; ${e('reason')} (${e('rule')})`
    case 'adl_deleveraged': {
      const ranking = rankingOf(adlPolicy)
      return `ADL: ${e('account')} deleveraged ${unsigned(e('size'))} ${e('market')} at ${e('price')} against ${e('counterparty')} (order ${e('orderId')}): rank ${e('rank')}${event.score === null ? '' : `, score ${e('score')}`} under ${ranking === null ? 'the ranking of the rule set' : `${ranking.kind} (${ranking.formula})`}; ${e('reason')}; forgoes ${e('haircutVersusMark')} versus the mark; ${e('allocation')} allocation, ${alternativeAllocation(e('allocation'))} would have closed ${e('alternativeClosed')} (${e('rule')})`
    }
    case 'backstop_takeover':
      return `backstop ${e('backstop')} takes over ${e('account')}'s ${event.market === null ? `cross positions in ${e('asset')}` : e('market')} (${listText(event.markets)}) with margin ${e('marginTransferred')}: equity ${e('equity')} < maintenance ${e('maintenanceMargin')} × threshold ${e('threshold')} (${e('rule')})`
    case 'insurance_fund_pool_changed':
      return `insurance fund ${e('fund')} ${e('amount').startsWith('-') ? `drew ${unsigned(e('amount'))}` : `received ${e('amount')}`} ${e('asset')} (${fundReasonText(e('reason'))}${event.market === null ? '' : `, ${e('market')}`}): balance now ${e('balance')} (${e('rule')})`
    case 'socialized_loss_charged':
      return `socialized loss: ${e('account')} charged ${e('amount')} for order ${e('orderId')} of ${e('counterparty')} (${e('basis')} basis, ${e('rule')})`
    case 'shortfall_allocated':
      return `shortfall ${e('shortfall')} ${e('asset')} of order ${e('orderId')} (${e('account')}) covered: insurance fund ${e('insuranceFund')}${event.fund === null ? '' : ` (${e('fund')}, limited by ${e('fundLimitedBy')})`}, ADL ${e('adl')}, socialized ${e('socialized')}, uncovered ${e('uncovered')}${event.chainExhausted === true ? `: the chain is exhausted, ${e('account')} is left ${e('uncovered')} below zero` : ''} (${e('rule')})`
    default:
      return `${text(event.type)}: ${fieldsText(event)}`
  }
}

const unsigned = (value: string): string => (value.startsWith('-') ? value.slice(1) : value)
const sideOf = (size: string): string => (size.startsWith('-') ? 'sell' : 'buy')
const listText = (value: JsonValue | undefined): string =>
  Array.isArray(value) ? (value as JsonValue[]).map((item) => text(item)).join(', ') : text(value)

function alternativeAllocation(allocation: string): string {
  return allocation === 'queue' ? 'min_winner_haircut' : 'queue'
}

function fundReasonText(reason: string): string {
  switch (reason) {
    case 'shortfall_draw':
      return 'draw to cover a shortfall'
    case 'liquidation_surplus':
      return 'liquidation surplus'
    case 'liquidation_fee':
      return 'liquidation fee'
    case 'over_collection':
      return 'over-collection of a socialized charge'
    default:
      return reason
  }
}

/** The ADL ranking formulas in words (src/core/loss/adl.ts, ADL-001..ADL-005). */
const RANKING_FORMULAS: Readonly<Record<string, string>> = {
  bitmex_pnl_leverage:
    'PnL% × effective leverage when in profit, PnL% ÷ effective leverage otherwise; highest first',
  binance_leverage_pnl:
    'PnL percent (uPnL ÷ wallet) × margin ratio (maintenance ÷ margin balance); highest first',
  hyperliquid_index: '(mark ÷ entry for longs, entry ÷ mark for shorts) × notional ÷ account value',
  pnl_only: 'unrealized PnL of the position; highest first',
  dydx_offset: 'pseudo-random order from a hash of the seed and the account id',
}

/** The ranking formula of an ADL policy (file form), or null. */
function rankingOf(adlPolicy: JsonObject | null): { kind: string; formula: string } | null {
  const ranking = adlPolicy?.ranking
  if (typeof ranking !== 'object' || ranking === null || Array.isArray(ranking)) return null
  const kind = (ranking as JsonObject).kind
  if (typeof kind !== 'string') return null
  return { kind, formula: RANKING_FORMULAS[kind] ?? kind }
}

/** The `liquidation.adl` section of a rule set in file form, or null. */
function adlPolicyOf(ruleSet: JsonValue | undefined): JsonObject | null {
  if (typeof ruleSet !== 'object' || ruleSet === null || Array.isArray(ruleSet)) return null
  const liquidation = (ruleSet as JsonObject).liquidation
  if (typeof liquidation !== 'object' || liquidation === null || Array.isArray(liquidation))
    return null
  const adl = (liquidation as JsonObject).adl
  return typeof adl === 'object' && adl !== null && !Array.isArray(adl) ? (adl as JsonObject) : null
}

/** What a liquidation or loss event means, as data; null for other events. */
export function detailOf(
  event: JsonObject,
  adlPolicy: JsonObject | null = null,
): JsonObject | null {
  const e = (key: string) => event[key] ?? null
  const ruleSet = { id: e('ruleSetId'), version: e('ruleSetVersion') }
  switch (typeof event.type === 'string' ? event.type : '') {
    case 'account_below_maintenance':
      return {
        step: 'trigger',
        account: e('account'),
        asset: e('asset'),
        scope: event.market === null || event.market === undefined ? 'cross' : 'isolated',
        equity: e('equity'),
        maintenanceMargin: e('maintenanceMargin'),
      }
    case 'liquidation_order_placed':
      return {
        step: 'order',
        orderId: e('orderId'),
        account: e('account'),
        market: e('market'),
        scope: e('scope'),
        side: sideOf(text(event.size)),
        size: unsigned(text(event.size)),
        positionSize: e('positionSize'),
        closesWholePosition: unsigned(text(event.size)) === unsigned(text(event.positionSize)),
        policy: e('policy'),
        policyReason: e('reason'),
        limitPrice: e('limitPrice'),
        bankruptcyPrice: e('bankruptcyPrice'),
        markPrice: e('markPrice'),
        equity: e('equity'),
        maintenanceMargin: e('maintenanceMargin'),
        rule: e('rule'),
        ruleSet,
      }
    case 'liquidation_order_filled':
      return {
        step: 'fill',
        orderId: e('orderId'),
        account: e('account'),
        market: e('market'),
        size: unsigned(text(event.size)),
        price: e('price'),
        counterparties: e('counterparties'),
        bankruptcyPrice: e('bankruptcyPrice'),
        realizedPnl: e('realizedPnl'),
        surplusToFund: e('surplus'),
        feeToFund: e('fee'),
        shortfall: e('gap'),
        remaining: unsigned(text(event.remaining)),
        rule: e('rule'),
        ruleSet,
      }
    case 'liquidation_takeover':
      return {
        step: 'takeover',
        orderId: e('orderId'),
        account: e('account'),
        market: e('market'),
        size: unsigned(text(event.size)),
        via: e('via'),
        markPrice: e('markPrice'),
        bankruptcyPrice: e('bankruptcyPrice'),
        estimatedShortfall: e('estimatedShortfall'),
        fundAvailable: e('fundAvailable'),
        fundCoversShortfall: compareDecimals(event.fundAvailable, event.estimatedShortfall) >= 0,
        adlTriggerActive: e('adlTriggerActive'),
        why: e('reason'),
        rule: e('rule'),
        ruleSet,
      }
    case 'adl_deleveraged': {
      const ranking = rankingOf(adlPolicy)
      return {
        step: 'adl',
        orderId: e('orderId'),
        deleveragedAccount: e('account'),
        liquidatedAccount: e('counterparty'),
        market: e('market'),
        size: unsigned(text(event.size)),
        price: e('price'),
        rank: e('rank'),
        score: e('score'),
        rankingFormula:
          ranking === null ? null : { kind: ranking.kind, description: ranking.formula },
        eligibility: adlPolicy?.eligibility ?? null,
        why: `rank ${text(event.rank)}${event.score === null ? '' : ` with score ${text(event.score)}`}${ranking === null ? '' : ` under ${ranking.kind}`}: ${text(event.reason)}`,
        haircutVersusMark: e('haircutVersusMark'),
        allocation: e('allocation'),
        alternativeAllocation: alternativeAllocation(text(event.allocation)),
        alternativeClosed: e('alternativeClosed'),
        rule: e('rule'),
        ruleSet,
      }
    }
    case 'backstop_takeover':
      return {
        step: 'backstop',
        account: e('account'),
        backstop: e('backstop'),
        asset: e('asset'),
        markets: e('markets'),
        equity: e('equity'),
        maintenanceMargin: e('maintenanceMargin'),
        threshold: e('threshold'),
        marginTransferred: e('marginTransferred'),
        rule: e('rule'),
        ruleSet,
      }
    case 'insurance_fund_pool_changed':
      return {
        step: text(event.reason) === 'shortfall_draw' ? 'fund_draw' : 'fund_credit',
        fund: e('fund'),
        asset: e('asset'),
        market: e('market'),
        amount: e('amount'),
        balance: e('balance'),
        reason: e('reason'),
        rule: e('rule'),
      }
    case 'socialized_loss_charged':
      return {
        step: 'socialized',
        orderId: e('orderId'),
        chargedAccount: e('account'),
        liquidatedAccount: e('counterparty'),
        market: e('market'),
        amount: e('amount'),
        basis: e('basis'),
        rule: e('rule'),
        ruleSet,
      }
    case 'shortfall_allocated':
      return {
        step: event.chainExhausted === true ? 'uncovered' : 'allocation',
        orderId: e('orderId'),
        account: e('account'),
        market: e('market'),
        asset: e('asset'),
        shortfall: e('shortfall'),
        insuranceFund: e('insuranceFund'),
        fund: e('fund'),
        fundLimitedBy: e('fundLimitedBy'),
        adl: e('adl'),
        socialized: e('socialized'),
        uncovered: e('uncovered'),
        chainExhausted: e('chainExhausted'),
        rule: e('rule'),
        ruleSet,
      }
    default:
      return null
  }
}

function chainOf(
  entry: JournalEntry,
  command: JsonObject,
  result: JsonObject,
  events: readonly ExplainedEvent[],
  rules: RulesInForce,
  marks: ReadonlyMap<string, MarkInForce>,
): string[] {
  const chain = [
    `entry ${entry.sequence} at ${new Date(entry.timestampMs).toISOString()}: ${describeCommand(command)} → ${describeResult(result)}`,
  ]
  const since =
    rules.sinceSequence === null
      ? 'since the journal began'
      : `since entry ${rules.sinceSequence}${rules.author === null ? '' : `, changed by ${rules.author}`}`
  chain.push(`rules in force: ${rules.id} version ${rules.version} (${since})`)
  const market = typeof command.market === 'string' ? command.market : null
  if (market !== null) {
    const mark = marks.get(market)
    const label = command.type === 'mark_price' ? 'previous mark' : 'mark'
    chain.push(
      mark === undefined
        ? `no ${label} of ${market} yet`
        : `${label} of ${market}: ${mark.mark} (set by entry ${mark.sequence})`,
    )
  }
  for (const { event, text: sentence } of events) {
    if (event.type === 'account_below_maintenance') {
      const trigger =
        command.type === 'mark_price'
          ? `the new mark of ${text(command.market)} (${text(command.mark)})`
          : describeCommand(command)
      chain.push(`because of ${trigger}: ${sentence}`)
    } else {
      chain.push(sentence)
    }
  }
  return chain
}

/** The explanation of one entry as text lines. */
export function formatEntryExplanation(explanation: EntryExplanation): string {
  return explanation.chain
    .map((line, index) => (index === 0 ? line : `  ${index === 1 ? '' : '- '}${line}`))
    .join('\n')
}

/** A decimal string of an event as a number, or null. */
function decimalOf(value: JsonValue | undefined): Fixed | null {
  if (typeof value !== 'string') return null
  const parsed = parseFixed(value)
  return parsed.ok ? parsed.value : null
}

/** −1, 0 or 1 for two decimal strings (a missing value counts as 0). */
function compareDecimals(a: JsonValue | undefined, b: JsonValue | undefined): number {
  const left = decimalOf(a) ?? ZERO
  const right = decimalOf(b) ?? ZERO
  return left < right ? -1 : left > right ? 1 : 0
}

/** One step of a liquidation chain, from one event (or one refused command) of one entry. */
export interface ChainStep {
  readonly sequence: number
  readonly time: string
  /** trigger, order, fill, refused, below_maintenance, takeover, adl, fund_draw, fund_credit, socialized, allocation, uncovered, backstop. */
  readonly step: string
  readonly text: string
  readonly detail: JsonObject | null
}

/** The price that set a liquidation off, and the account's figures at that moment. */
export interface ChainTrigger {
  readonly sequence: number
  readonly market: string
  readonly mark: string | null
  /** The mark before it, and the entry that had set it (null: none). */
  readonly previousMark: string | null
  readonly previousMarkSequence: number | null
  readonly equity: string | null
  readonly maintenanceMargin: string | null
  readonly asset: string | null
  readonly scope: string | null
}

/** How the chain ended, summed over its allocations. */
export interface ChainOutcome {
  /** The liquidated position after the last step that changed it (null: not seen). */
  readonly positionAfter: string | null
  readonly remaining: string | null
  readonly shortfall: string
  readonly insuranceFund: string
  readonly adl: string
  readonly socialized: string
  readonly uncovered: string
  readonly chainExhausted: boolean
}

/** A whole liquidation, in causal order, and how the explained account took part in it. */
export interface LiquidationChain {
  /** The liquidation order, or null for a backstop takeover. */
  readonly orderId: string | null
  /** The liquidated account. */
  readonly account: string
  readonly market: string
  /** liquidated; deleveraged (an ADL counterparty); charged (a socialized loss payer). */
  readonly role: 'liquidated' | 'deleveraged' | 'charged'
  readonly rules: RulesInForce
  readonly trigger: ChainTrigger | null
  readonly steps: readonly ChainStep[]
  readonly outcome: ChainOutcome
  /** For a deleveraged or charged account: its own ADL or socialized steps, with why. */
  readonly participation: readonly JsonObject[]
  /** The chain in words, one line per step. */
  readonly text: readonly string[]
}

interface BuildingChain {
  readonly key: string
  readonly orderId: string | null
  readonly account: string
  readonly market: string
  readonly rules: RulesInForce
  readonly trigger: ChainTrigger | null
  readonly steps: ChainStep[]
  positionAfter: string | null
  remaining: string | null
  done: boolean
}

/** Assembles liquidation chains while the journal is read in order. */
class ChainCollector {
  private readonly chains = new Map<string, BuildingChain>()

  add(
    entry: JournalEntry,
    command: JsonObject,
    result: JsonObject,
    events: readonly JsonObject[],
    context: Context,
  ): void {
    const time = new Date(entry.timestampMs).toISOString()
    const step = (kind: string, sentence: string, detail: JsonObject | null): ChainStep => ({
      sequence: entry.sequence,
      time,
      step: kind,
      text: sentence,
      detail,
    })
    const commandOrder =
      (command.type === 'liquidation_fill' || command.type === 'liquidation_takeover') &&
      typeof command.orderId === 'string'
        ? command.orderId
        : null
    const ofCommand = commandOrder === null ? undefined : this.chains.get(commandOrder)
    if (result.status !== 'ok') {
      if (ofCommand !== undefined)
        ofCommand.steps.push(
          step(
            'refused',
            `${describeCommand(command)} → ${describeResult(result)}`,
            refusalDetail(command, result),
          ),
        )
      return
    }
    const placedHere = new Set<string>()
    for (const event of events) {
      const type = typeof event.type === 'string' ? event.type : ''
      if (type === 'liquidation_order_placed' || type === 'backstop_takeover') {
        const account = text(event.account)
        const market =
          type === 'backstop_takeover'
            ? event.market === null
              ? listText(event.markets)
              : text(event.market)
            : text(event.market)
        const below = events.find(
          (candidate) =>
            candidate.type === 'account_below_maintenance' && candidate.account === account,
        )
        const orderId = type === 'liquidation_order_placed' ? text(event.orderId) : null
        const key = orderId ?? `backstop:${entry.sequence}:${account}`
        const trigger = triggerOf(entry, command, below, market, context)
        const chain: BuildingChain = {
          key,
          orderId,
          account,
          market,
          rules: context.rules,
          trigger,
          steps: [],
          positionAfter: null,
          remaining: null,
          done: type === 'backstop_takeover',
        }
        if (below !== undefined)
          chain.steps.push(
            step(
              'trigger',
              `${triggerText(trigger, command)}: ${describeEvent(below)}`,
              detailOf(below),
            ),
          )
        chain.steps.push(
          step(
            type === 'backstop_takeover' ? 'backstop' : 'order',
            describeEvent(event, context.adlPolicy),
            detailOf(event, context.adlPolicy),
          ),
        )
        this.chains.set(key, chain)
        placedHere.add(account)
        continue
      }
      const orderId = typeof event.orderId === 'string' ? event.orderId : null
      const chain =
        orderId !== null
          ? this.chains.get(orderId)
          : type === 'insurance_fund_pool_changed'
            ? ofCommand
            : undefined
      if (chain !== undefined) {
        const detail = detailOf(event, context.adlPolicy)
        chain.steps.push(
          step(
            typeof detail?.step === 'string' ? detail.step : type,
            describeEvent(event, context.adlPolicy),
            detail,
          ),
        )
        if (type === 'liquidation_order_filled') {
          chain.remaining = unsigned(text(event.remaining))
          if (chain.remaining === '0') chain.done = true
        }
        continue
      }
      if (
        type === 'fill_applied' &&
        ofCommand !== undefined &&
        event.account === ofCommand.account &&
        event.market === ofCommand.market
      ) {
        ofCommand.positionAfter = text(event.positionSize)
        continue
      }
      if (
        type === 'account_below_maintenance' &&
        command.type === 'mark_price' &&
        typeof event.account === 'string' &&
        !placedHere.has(event.account)
      ) {
        for (const open of this.chains.values()) {
          if (open.done || open.account !== event.account) continue
          open.steps.push(
            step(
              'below_maintenance',
              `the mark of ${text(command.market)} moved to ${text(command.mark)} while ${open.orderId ?? 'the takeover'} is open: ${describeEvent(event)}`,
              detailOf(event),
            ),
          )
        }
      }
    }
  }

  /** The chains `account` took part in, in the order they started. */
  chainsOf(account: string): LiquidationChain[] {
    const found: LiquidationChain[] = []
    for (const chain of this.chains.values()) {
      const own = chain.steps.filter(
        (item) =>
          item.detail?.deleveragedAccount === account || item.detail?.chargedAccount === account,
      )
      const role =
        chain.account === account
          ? 'liquidated'
          : own.some((item) => item.step === 'adl')
            ? 'deleveraged'
            : own.length > 0
              ? 'charged'
              : null
      if (role === null) continue
      found.push(finishChain(chain, role, account, own))
    }
    return found
  }
}

function refusalDetail(command: JsonObject, result: JsonObject): JsonObject {
  return { step: 'refused', command, code: result.status ?? null, result }
}

function triggerOf(
  entry: JournalEntry,
  command: JsonObject,
  below: JsonObject | undefined,
  market: string,
  context: Context,
): ChainTrigger {
  const before = context.marks.get(market)
  const isMark = command.type === 'mark_price' && command.market === market
  return {
    sequence: entry.sequence,
    market,
    mark: isMark ? text(command.mark) : (before?.mark ?? null),
    previousMark: isMark ? (before?.mark ?? null) : null,
    previousMarkSequence: isMark ? (before?.sequence ?? null) : (before?.sequence ?? null),
    equity: below === undefined ? null : text(below.equity),
    maintenanceMargin: below === undefined ? null : text(below.maintenanceMargin),
    asset: below === undefined ? null : text(below.asset),
    scope:
      below === undefined
        ? null
        : below.market === null || below.market === undefined
          ? 'cross'
          : 'isolated',
  }
}

function triggerText(trigger: ChainTrigger, command: JsonObject): string {
  if (command.type === 'mark_price') {
    const from =
      trigger.previousMark === null
        ? ''
        : ` from ${trigger.previousMark} (set by entry ${trigger.previousMarkSequence ?? '?'})`
    return `the mark of ${trigger.market} moved to ${trigger.mark ?? '–'}${from}`
  }
  return `after ${describeCommand(command)}, at the mark ${trigger.mark ?? '–'} of ${trigger.market}`
}

function finishChain(
  chain: BuildingChain,
  role: LiquidationChain['role'],
  account: string,
  own: readonly ChainStep[],
): LiquidationChain {
  let shortfall = ZERO
  let insuranceFund = ZERO
  let adl = ZERO
  let socialized = ZERO
  let uncovered = ZERO
  let chainExhausted = false
  for (const item of chain.steps) {
    if (item.step !== 'allocation' && item.step !== 'uncovered') continue
    const detail = item.detail ?? {}
    shortfall = add(shortfall, decimalOf(detail.shortfall) ?? ZERO)
    insuranceFund = add(insuranceFund, decimalOf(detail.insuranceFund) ?? ZERO)
    adl = add(adl, decimalOf(detail.adl) ?? ZERO)
    socialized = add(socialized, decimalOf(detail.socialized) ?? ZERO)
    uncovered = add(uncovered, decimalOf(detail.uncovered) ?? ZERO)
    if (detail.chainExhausted === true) chainExhausted = true
  }
  const outcome: ChainOutcome = {
    positionAfter: chain.positionAfter,
    remaining: chain.remaining,
    shortfall: formatFixed(shortfall),
    insuranceFund: formatFixed(insuranceFund),
    adl: formatFixed(adl),
    socialized: formatFixed(socialized),
    uncovered: formatFixed(uncovered),
    chainExhausted,
  }
  const name = chain.orderId === null ? 'backstop takeover' : `liquidation ${chain.orderId}`
  const since =
    chain.rules.sinceSequence === null
      ? 'since the journal began'
      : `since entry ${chain.rules.sinceSequence}`
  const lines = [
    `${name} of ${chain.account} in ${chain.market}, under ${chain.rules.id} version ${chain.rules.version} (${since})${role === 'liquidated' ? '' : `; ${account} was ${role === 'deleveraged' ? 'deleveraged' : 'charged'} by it`}`,
    ...chain.steps.map((item) => `entry ${item.sequence}: ${item.text}`),
  ]
  const participation = own.map((item) => item.detail ?? {})
  for (const detail of participation)
    if (detail.step === 'adl')
      lines.push(
        `why ${account}: ${text(detail.why)}; it closed ${text(detail.size)} at ${text(detail.price)}, forgoing ${text(detail.haircutVersusMark)} versus the mark (${text(detail.alternativeAllocation)} would have closed ${text(detail.alternativeClosed)})`,
      )
  lines.push(
    `result: ${chain.account}'s ${chain.market} position ${chain.positionAfter ?? 'unchanged'}${chain.remaining === null || chain.remaining === '0' ? '' : `, ${chain.remaining} still to close`}; shortfall ${outcome.shortfall} covered by the insurance fund ${outcome.insuranceFund}, ADL ${outcome.adl}, socialized ${outcome.socialized}, uncovered ${outcome.uncovered}${chainExhausted ? ' (chain exhausted)' : ''}`,
  )
  return {
    orderId: chain.orderId,
    account: chain.account,
    market: chain.market,
    role,
    rules: chain.rules,
    trigger: chain.trigger,
    steps: chain.steps,
    outcome,
    participation,
    text: lines,
  }
}

/** A liquidation chain as text lines. */
export function formatLiquidationChain(chain: LiquidationChain): string {
  return chain.text.map((line, index) => (index === 0 ? line : `  - ${line}`)).join('\n')
}
