export * from './allocate.ts'
export * from './fixed.ts'
