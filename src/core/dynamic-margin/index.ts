export * from './apc.ts'
export * from './ewma.ts'
