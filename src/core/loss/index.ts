/** Loss-allocation planners: insurance fund, ADL, socialized loss, default waterfall (docs/spec/*.md). */
export * from './adl.ts'
export * from './ccp-presets.ts'
export * from './common.ts'
export * from './default-waterfall.ts'
export * from './insurance-fund.ts'
export * from './socialized-loss.ts'
