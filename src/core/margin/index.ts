export * from './evaluate.ts'
export * from './liquidation-price.ts'
export * from './rates.ts'
