export * from './black76.ts'
export * from './option.ts'
export * from './real-math.ts'
