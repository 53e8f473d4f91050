/**
 * JNL-005 choosing the journal: `--db` first, then LOR_DATABASE_URL, then ./lor.db; postgres://
 * URLs select PostgreSQL (with an optional schema), anything else is a SQLite path.
 */
import { describe, expect, it } from 'vitest'
import { isJournalError } from '../../src/journal/errors.ts'
import { openJournal, resolveJournalLocation } from '../../src/journal/open.ts'
import {
  dropSchema,
  describeWithPostgres,
  TEST_DATABASE_URL,
  testSchemaName,
} from './postgres-harness.ts'

describe('JNL-005 resolving --db and LOR_DATABASE_URL', () => {
  it.each([
    [undefined, {}, { backend: 'sqlite', target: './lor.db' }],
    [undefined, { LOR_DATABASE_URL: '' }, { backend: 'sqlite', target: './lor.db' }],
    [
      undefined,
      { LOR_DATABASE_URL: '/data/venue.db' },
      { backend: 'sqlite', target: '/data/venue.db' },
    ],
    [
      'here.db',
      { LOR_DATABASE_URL: 'postgres://db/lor' },
      { backend: 'sqlite', target: 'here.db' },
    ],
    [
      undefined,
      { LOR_DATABASE_URL: 'postgres://user:secret@db:5432/lor' },
      { backend: 'postgres', target: 'postgres://user:secret@db:5432/lor' },
    ],
    [
      'postgresql://db/lor?schema=venue_a',
      {},
      { backend: 'postgres', target: 'postgresql://db/lor', schema: 'venue_a' },
    ],
  ])('--db %s with %j → %j', (option, environment, expected) => {
    expect(resolveJournalLocation(option, environment)).toEqual(expected)
  })

  it.each([['mysql://db/lor'], ['postgres://db/lor?schema=a;drop'], ['  ']])(
    'refuses %s with invalid_database_option',
    (option) => {
      let caught: unknown
      try {
        resolveJournalLocation(option, {})
      } catch (error) {
        caught = error
      }
      expect(isJournalError(caught, 'invalid_database_option')).toBe(true)
    },
  )
})

describeWithPostgres('JNL-005 openJournal on PostgreSQL', () => {
  it('opens a journal in the schema named by the URL, password left out of its location', async () => {
    const schema = testSchemaName()
    const url = new URL(TEST_DATABASE_URL)
    url.searchParams.set('schema', schema)
    try {
      const store = await openJournal(url.toString())
      expect(store.backend).toBe('postgres')
      expect(await store.schemaVersion()).toBe(1)
      expect(store.location).not.toContain('schema=')
      await store.close()
    } finally {
      await dropSchema(schema)
    }
  })
})
