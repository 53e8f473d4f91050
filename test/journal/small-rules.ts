/**
 * A small rule set for journal tests: one linear perpetual with a two-tier ladder, so the engine
 * work per command is light and the tests spend their time on the journal.
 */
import { parseRuleSet } from '../../src/core/rules/parse.ts'
import type { RuleSet } from '../../src/core/rules/rule-set.ts'

export const SMALL_RULES_DOCUMENT = {
  $schemaVersion: 1,
  id: 'journal-test',
  venue: 'journal test venue',
  version: '1',
  effectiveDate: '2024-01-01',
  sources: ['https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93'],
  description:
    'Test venue: one BTCUSDT perpetual with the first two Binance USDⓈ-M BTCUSDT brackets.',
  liquidationPrice: {
    maintenanceValuation: 'at_liquidation_price',
    closeFeeRate: '0',
    displayRounding: 'toward_safety',
    exactDecimals: 8,
  },
  account: { withdrawalValueFloorRate: '0', feeRounding: 'ceil' },
  markets: [
    {
      market: 'BTCUSDT',
      kind: 'linear_perpetual',
      baseAsset: 'BTC',
      quoteAsset: 'USDT',
      settlementAsset: 'USDT',
      contractSize: '1',
      tickSize: '0.01',
      lotSize: '0.001',
      makerFeeRate: '0.0002',
      takerFeeRate: '0.0004',
      liquidationFeeRate: '0.003',
      maxLeverage: '100',
      margin: {
        kind: 'tiered',
        basis: 'value',
        tiers: [
          {
            floor: '0',
            cap: '50000',
            maintenanceRate: '0.004',
            maxLeverage: '100',
            maintenanceDeduction: '0',
          },
          {
            floor: '50000',
            cap: null,
            maintenanceRate: '0.005',
            maxLeverage: '50',
            maintenanceDeduction: '50',
          },
        ],
      },
    },
  ],
}

/** The journal tests' rule set. */
export function smallRuleSet(): RuleSet {
  const parsed = parseRuleSet(SMALL_RULES_DOCUMENT)
  if (!parsed.ok)
    throw new Error(`journal test rules do not validate: ${JSON.stringify(parsed.issues)}`)
  return parsed.ruleSet
}
