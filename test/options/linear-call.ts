/**
 * A shared fixture of the option tests: a rule-set patch that lists a USDT-settled call on
 * binance-usdm's BTCUSDT (contracts of 0.01 BTC, strike 60,000, expiring 2026-03-27T08:00Z) and
 * margins the two together by SPAN. `fees` sets the call's fee fields (all 0 by default).
 */
export const LINEAR_CALL = 'BTC-27MAR26-60000-C-USDT'
export const LINEAR_CALL_EXPIRY = 1_774_598_400_000

export function linearCallPatch(fees: Record<string, unknown> = {}): unknown {
  return {
    markets: [
      {
        market: LINEAR_CALL,
        kind: 'option',
        baseAsset: 'BTC',
        quoteAsset: 'USDT',
        settlementAsset: 'USDT',
        contractSize: '0.01',
        tickSize: '0.1',
        lotSize: '1',
        expiryTimeMs: LINEAR_CALL_EXPIRY,
        option: { underlying: 'BTCUSDT', right: 'call', strike: '60000' },
        makerFeeRate: '0',
        takerFeeRate: '0',
        liquidationFeeRate: '0',
        ...fees,
      },
    ],
    portfolioMargin: {
      model: 'span',
      span: { products: [{ id: 'BTC', contractSize: '1', priceScanRange: '6000' }] },
      markets: [
        { market: 'BTCUSDT', product: 'BTC', tier: 'PERP' },
        { market: LINEAR_CALL, product: 'BTC', tier: '27MAR26' },
      ],
    },
  }
}
