export * from './black76.ts'
export * from './option.ts'
export * from './real-math.ts'
export * from './option-mark.ts'
