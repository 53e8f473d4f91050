export * from './grid.ts'
export * from './parse.ts'
export * from './span.ts'
