// LIQ-060..LIQ-063 properties over random event sequences, fill-price settlement variants
// (okx, deribit, hyperliquid, drift); the runner and its checks are in property-runner.ts. 5,000
// sequences per variant by default; `npm run test:properties` runs 100,000 per variant
// (LOR_LIQUIDATION_RUNS=100000) with properties.test.ts in parallel.
import { describe, it } from 'vitest'
import { runVariant, VARIANT_TIMEOUT_MS, variants } from './property-runner.ts'

const fillSettled = variants.filter(
  (variant) => variant.rules.liquidation?.settlement === 'at_fill_price',
)

describe('LIQ-060..LIQ-062: random sequences per waterfall variant (fill-price settlement)', () => {
  it.each(fillSettled)('$name', (variant) => runVariant(variant), VARIANT_TIMEOUT_MS)
})
