/**
 * Explanations from the journal (docs/journal.md, JNL-017): why an entry did what it did, and what
 * happened to an account, told from what the entries recorded: the command that triggered it, the
 * prices in force, the equity and maintenance margin the engine reported, the rule set (id, version,
 * who changed it) in force, the fills and fund movements. Nothing is recomputed.
 */
import { canonicalJson, type JsonValue } from './canonical.ts'
import type { JournalEntry } from './entry.ts'
import { JournalError } from './errors.ts'
import { GENESIS_FORMAT } from './genesis.ts'
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

/** One event with its sentence. */
export interface ExplainedEvent {
  readonly event: JsonObject
  readonly text: string
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
}

/** Context carried while reading the journal in order. */
class Context {
  rules: RulesInForce
  readonly marks = new Map<string, MarkInForce>()

  constructor(rules: RulesInForce) {
    this.rules = rules
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
    const explainedEvents = events.map((event) => ({ event, text: describeEvent(event) }))
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
  if (genesis !== null) {
    const document = JSON.parse(genesis.genesisJson) as {
      format?: unknown
      ruleSet?: { id?: unknown; version?: unknown }
    }
    if (document.format === GENESIS_FORMAT) {
      id = typeof document.ruleSet?.id === 'string' ? document.ruleSet.id : id
      version = typeof document.ruleSet?.version === 'string' ? document.ruleSet.version : version
    }
  }
  return new Context({ id, version, sinceSequence: null, author: null, effectiveTimeMs: null })
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
  let total = 0
  for await (const entry of readEntries(store)) {
    const command = parseObject(entry.commandJson, entry.sequence)
    const result = parseObject(entry.resultJson, entry.sequence)
    const events = parseEvents(entry.eventsJson, entry.sequence)
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
  return { account, entries: kept, total }
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
      return `mark price of ${c('market')} set to ${c('mark')}${command.index === undefined ? '' : ` (index ${c('index')})`}`
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
export function describeEvent(event: JsonObject): string {
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
      return `${e('account')} is below maintenance in ${e('asset')}: equity ${e('equity')} < maintenance margin ${e('maintenanceMargin')}`
    case 'expiry_settled':
      return `${e('account')} settled ${e('size')} ${e('market')} at ${e('settlementPrice')} (realized PnL ${e('realizedPnl')})`
    case 'market_expired':
      return `market ${e('market')} expired at ${e('settlementPrice')}`
    case 'rules_changed':
      return `rule set ${e('id')} ${e('version')} now in force`
    default:
      return `${text(event.type)}: ${fieldsText(event)}`
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
