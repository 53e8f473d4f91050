/**
 * JNL-011 command codec: the wire form (decimals as strings) decodes to engine commands or to
 * issues {code, path, message}, never throws, and encoding is canonical and the exact inverse.
 */
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { fixedOf } from '../../src/core/num/fixed.ts'
import {
  decodeCommand,
  decodeCommandText,
  encodeCommand,
  type JournalCommand,
} from '../../src/journal/codec.ts'
import { smallRuleSet } from './small-rules.ts'
import { takeWorkload } from './workload.ts'

const examples: JournalCommand[] = [
  { type: 'deposit', account: 'alice', asset: 'USDT', amount: fixedOf('1000.5') },
  { type: 'withdraw', account: 'alice', asset: 'USDT', amount: fixedOf('0.000000000000000001') },
  {
    type: 'trade',
    account: 'alice',
    market: 'BTCUSDT',
    size: fixedOf('-0.25'),
    price: fixedOf('30000.1'),
    liquidity: 'taker',
    counterparty: 'bob',
    counterpartyLiquidity: 'maker',
  },
  { type: 'mark_price', market: 'BTCUSDT', mark: fixedOf('29999.99'), index: fixedOf('30000') },
  { type: 'funding', market: 'BTCUSDT', rate: fixedOf('-0.0001') },
  { type: 'set_margin_mode', account: 'alice', market: 'BTCUSDT', marginMode: 'isolated' },
  { type: 'add_isolated_margin', account: 'alice', market: 'BTCUSDT', amount: fixedOf('10') },
  { type: 'set_leverage', account: 'alice', market: 'BTCUSDT', leverage: null },
  { type: 'set_leverage', account: 'alice', market: 'BTCUSDT', leverage: fixedOf('20') },
  { type: 'expire', market: 'BTCUSD_240628', settlementPrice: fixedOf('61000') },
  {
    type: 'liquidation_fill',
    orderId: 'liq-1',
    size: fixedOf('-0.5'),
    price: fixedOf('29000'),
    counterparty: 'bob',
  },
  { type: 'liquidation_takeover', orderId: 'liq-1' },
  { type: 'insurance_fund_deposit', fund: 'main', asset: 'USDT', amount: fixedOf('250000') },
  {
    type: 'rules_change',
    ruleSet: smallRuleSet(),
    author: 'risk desk',
    effectiveTimeMs: 1_700_000_000_000,
  },
]

describe('JNL-011 command codec', () => {
  it('round-trips every command type exactly, as canonical JSON', () => {
    for (const command of examples) {
      const text = encodeCommand(command)
      const decoded = decodeCommandText(text)
      expect(decoded.ok).toBe(true)
      if (!decoded.ok) continue
      expect(encodeCommand(decoded.command)).toBe(text)
      if (command.type !== 'rules_change') expect(decoded.command).toEqual(command)
    }
    expect(encodeCommand(examples[0]!)).toBe(
      '{"account":"alice","amount":"1000.5","asset":"USDT","type":"deposit"}',
    )
  })

  it('round-trips a seeded workload', () => {
    for (const { command } of takeWorkload(3, 500, { ruleSet: smallRuleSet() })) {
      const decoded = decodeCommandText(encodeCommand(command))
      expect(decoded.ok && encodeCommand(decoded.command)).toBe(encodeCommand(command))
    }
  })

  it.each([
    [null, 'not_an_object', ''],
    [{ amount: '1' }, 'missing_field', 'type'],
    [{ type: 'teleport' }, 'unknown_command_type', 'type'],
    [{ type: 'deposit', account: 'a', asset: 'USDT' }, 'missing_field', 'amount'],
    [
      { type: 'deposit', account: 'a', asset: 'USDT', amount: 1.5 },
      'not_a_decimal_string',
      'amount',
    ],
    [{ type: 'deposit', account: 'a', asset: 'USDT', amount: '1e5' }, 'not_a_decimal', 'amount'],
    [
      { type: 'deposit', account: 'a', asset: 'USDT', amount: '0.0000000000000000001' },
      'too_many_decimals',
      'amount',
    ],
    [{ type: 'deposit', account: '', asset: 'USDT', amount: '1' }, 'not_a_string', 'account'],
    [
      { type: 'deposit', account: 'a', asset: 'USDT', amount: '1', memo: 'x' },
      'unknown_field',
      'memo',
    ],
    [
      { type: 'trade', account: 'a', market: 'M', size: '1', price: '1', liquidity: 'both' },
      'not_a_choice',
      'liquidity',
    ],
    [
      { type: 'set_margin_mode', account: 'a', market: 'M', marginMode: 'portfolio' },
      'not_a_choice',
      'marginMode',
    ],
    [
      { type: 'rules_change', ruleSet: {}, author: 'x', effectiveTimeMs: -1 },
      'not_a_time',
      'effectiveTimeMs',
    ],
  ])('refuses %j with %s at "%s"', (input, code, path) => {
    const decoded = decodeCommand(input)
    expect(decoded.ok).toBe(false)
    if (!decoded.ok) expect(decoded.issues).toContainEqual(expect.objectContaining({ code, path }))
  })

  it('reports rule-set problems with their full path', () => {
    const decoded = decodeCommand(
      { type: 'rules_change', ruleSet: { id: 'x' }, author: 'a', effectiveTimeMs: 0 },
      'command',
    )
    expect(decoded.ok).toBe(false)
    if (!decoded.ok)
      expect(decoded.issues.every((issue) => issue.path.startsWith('command.ruleSet'))).toBe(true)
  })

  it('refuses text that is not JSON with not_json', () => {
    const decoded = decodeCommandText('{"type":')
    expect(decoded.ok ? 'ok' : decoded.issues[0]?.code).toBe('not_json')
  })

  test.prop([fc.anything()])('never throws on any input', (input) => {
    const decoded = decodeCommand(input)
    expect(typeof decoded.ok).toBe('boolean')
  })

  test.prop([
    fc.constantFrom('deposit', 'withdraw', 'trade', 'funding', 'rules_change'),
    fc.dictionary(fc.string(), fc.jsonValue()),
  ])('never throws on any fields under a known type', (type, fields) => {
    const decoded = decodeCommand({ ...fields, type })
    expect(typeof decoded.ok).toBe('boolean')
  })
})
