/**
 * The journal contract on PostgreSQL (docs/spec/journal.md, JNL-005), on the real server.
 */
import { runJournalContract } from './contract.ts'
import { describeWithPostgres, makePostgresHarness } from './postgres-harness.ts'

describeWithPostgres('postgres', () => {
  runJournalContract('postgres', makePostgresHarness)
})
