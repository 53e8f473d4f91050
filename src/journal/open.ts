/**
 * Choosing a journal (docs/journal.md): `--db PATH|URL`, else the environment variable
 * LOR_DATABASE_URL, else the SQLite file ./lor.db. A `postgres://` or `postgresql://` URL selects
 * PostgreSQL (an optional `schema` query parameter picks the schema); anything else is a file path.
 */
import { JournalError } from './errors.ts'
import { openPostgresStore } from './postgres-store.ts'
import { openSqliteStore, type SqliteSynchronous } from './sqlite-store.ts'
import type { JournalBackend, JournalStore } from './store.ts'

/** The journal used when neither `--db` nor LOR_DATABASE_URL is given. */
export const DEFAULT_JOURNAL_PATH = './lor.db'

/** The environment variable naming the journal database. */
export const DATABASE_URL_VARIABLE = 'LOR_DATABASE_URL'

/** Where a journal lives, resolved from the option and the environment. */
export interface JournalLocation {
  readonly backend: JournalBackend
  /** File path (SQLite) or connection URL (PostgreSQL). */
  readonly target: string
  /** PostgreSQL schema (from `?schema=`), default `public`. */
  readonly schema?: string
}

export interface OpenJournalOptions {
  /** SQLite only: see `sqlite-store.ts` (default `full`). */
  readonly synchronous?: SqliteSynchronous
  /** SQLite only: commit on a writer thread (see `sqlite-store.ts`; default false). */
  readonly writerThread?: boolean
  /** The environment to read LOR_DATABASE_URL from (default `process.env`). */
  readonly environment?: Readonly<Record<string, string | undefined>>
}

/** Resolves `--db` / LOR_DATABASE_URL / ./lor.db into a location; throws `invalid_database_option`. */
export function resolveJournalLocation(
  option: string | undefined,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): JournalLocation {
  const fromEnvironment = environment[DATABASE_URL_VARIABLE]
  const chosen =
    option ??
    (fromEnvironment === undefined || fromEnvironment === ''
      ? DEFAULT_JOURNAL_PATH
      : fromEnvironment)
  if (chosen.trim() === '')
    throw new JournalError('invalid_database_option', 'the database option is empty')
  if (/^postgres(ql)?:\/\//i.test(chosen)) {
    let url: URL
    try {
      url = new URL(chosen)
    } catch {
      throw new JournalError('invalid_database_option', 'the PostgreSQL URL does not parse')
    }
    const schema = url.searchParams.get('schema')
    url.searchParams.delete('schema')
    if (schema !== null && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
      throw new JournalError(
        'invalid_database_option',
        `schema "${schema}" is not a plain identifier`,
      )
    }
    return schema === null
      ? { backend: 'postgres', target: url.toString() }
      : { backend: 'postgres', target: url.toString(), schema }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(chosen)) {
    throw new JournalError(
      'invalid_database_option',
      `"${chosen.split('://')[0] ?? ''}://" is not a supported database; use a file path or postgres://`,
    )
  }
  return { backend: 'sqlite', target: chosen }
}

/** Opens the journal named by `--db` / LOR_DATABASE_URL / ./lor.db (see the module note). */
export async function openJournal(
  option?: string,
  options: OpenJournalOptions = {},
): Promise<JournalStore> {
  const location = resolveJournalLocation(option, options.environment)
  if (location.backend === 'postgres') {
    return openPostgresStore(
      location.target,
      location.schema === undefined ? {} : { schema: location.schema },
    )
  }
  return openSqliteStore(location.target, {
    ...(options.synchronous === undefined ? {} : { synchronous: options.synchronous }),
    ...(options.writerThread === undefined ? {} : { writerThread: options.writerThread }),
  })
}
