export * from './apc.ts'
export * from './ewma.ts'
export * from './params.ts'
