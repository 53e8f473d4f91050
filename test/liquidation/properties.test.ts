// LIQ-060..LIQ-063 properties over random event sequences, bankruptcy-price settlement variants
// (binance-usdm ×2, bitmex, vega); the runner and its checks are in property-runner.ts. 5,000
// sequences per variant by default; `npm run test:properties` runs 100,000 per variant
// (LOR_LIQUIDATION_RUNS=100000) with properties-fill-price.test.ts in parallel.
import { describe, it } from 'vitest'
import { runVariant, VARIANT_TIMEOUT_MS, variants } from './property-runner.ts'

const bankruptcySettled = variants.filter(
  (variant) => variant.rules.liquidation?.settlement === 'at_bankruptcy_price',
)

describe('LIQ-060..LIQ-062: random sequences per waterfall variant (bankruptcy-price settlement)', () => {
  it.each(bankruptcySettled)('$name', (variant) => runVariant(variant), VARIANT_TIMEOUT_MS)
})
