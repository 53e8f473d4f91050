/**
 * A small journal with a story, for the CLI tests: two traders, a rule change, a price drop that
 * puts one of them below maintenance, funding.
 */
import { fixedOf } from '../../src/core/num/fixed.ts'
import { parseRuleSet } from '../../src/core/rules/parse.ts'
import { JournaledEngine } from '../../src/journal/journaled-engine.ts'
import type { JournalStore } from '../../src/journal/store.ts'
import { SMALL_RULES_DOCUMENT, smallRuleSet } from './small-rules.ts'

export const STORY_START_MS = 1_700_000_000_000

/** Writes the story into an empty journal and returns the live state hash. */
export async function writeStory(store: JournalStore): Promise<string> {
  const engine = await JournaledEngine.open({ store, ruleSet: smallRuleSet(), snapshotEvery: 4 })
  const revised = parseRuleSet({
    ...SMALL_RULES_DOCUMENT,
    version: '2',
    markets: SMALL_RULES_DOCUMENT.markets.map((market) => ({ ...market, takerFeeRate: '0.0005' })),
  })
  if (!revised.ok) throw new Error('rule set does not validate')
  let step = 0
  const submit = async (command: Parameters<JournaledEngine['submit']>[0]) => {
    step += 1
    const outcome = await engine.submit(command, {
      idempotencyKey: `story-${step}`,
      timestampMs: STORY_START_MS + step * 1000,
    })
    return outcome
  }
  await submit({ type: 'deposit', account: 'alice', asset: 'USDT', amount: fixedOf('1000') })
  await submit({ type: 'deposit', account: 'bob', asset: 'USDT', amount: fixedOf('100000') })
  await submit({ type: 'mark_price', market: 'BTCUSDT', mark: fixedOf('30000') })
  await submit({
    type: 'rules_change',
    ruleSet: revised.ruleSet,
    author: 'risk desk',
    effectiveTimeMs: STORY_START_MS,
  })
  await submit({
    type: 'trade',
    account: 'alice',
    market: 'BTCUSDT',
    size: fixedOf('1'),
    price: fixedOf('30000'),
    liquidity: 'taker',
    counterparty: 'bob',
  })
  await submit({ type: 'withdraw', account: 'alice', asset: 'USDT', amount: fixedOf('5000') })
  await submit({ type: 'mark_price', market: 'BTCUSDT', mark: fixedOf('29100') })
  await submit({ type: 'funding', market: 'BTCUSDT', rate: fixedOf('0.0001') })
  const hash = engine.stateHash()
  await engine.close()
  return hash
}
