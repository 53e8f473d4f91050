/**
 * Request schemas of the HTTP API (docs/spec/service.md, SVC-011): zod with OpenAPI metadata. Every
 * decimal is a string matching DECIMAL_PATTERN; ids are 1..128 printable characters (any text,
 * stored and echoed as data, never interpreted).
 */
import { z } from '@hono/zod-openapi'
import { ROLES } from './keys.ts'

/** A decimal written as a string: optional minus, digits, optional fraction (at most 18 places). */
export const DECIMAL_PATTERN = /^-?(0|[1-9][0-9]{0,29})(\.[0-9]{1,18})?$/

/** A decimal string. */
export const Decimal = z
  .string()
  .regex(DECIMAL_PATTERN, 'a decimal written as a string, e.g. "0.5"')
  .openapi({ example: '65000.5' })

// printable characters only: no control characters (C0, DEL, C1)
// eslint-disable-next-line no-control-regex
const PRINTABLE = /^[^\u0000-\u001f\u007f-\u009f]{1,128}$/

/** An account, market, asset or order id. */
export const Id = z.string().regex(PRINTABLE, '1 to 128 printable characters')

export const Liquidity = z.enum(['maker', 'taker'])

export const PriceBody = z
  .object({ market: Id, mark: Decimal, index: Decimal.optional(), volatility: Decimal.optional() })
  .strict()
  .openapi('PriceCommand')

export const FillBody = z
  .object({
    account: Id,
    market: Id,
    size: Decimal.openapi({ description: 'signed contracts: + buy, − sell', example: '0.5' }),
    price: Decimal,
    liquidity: Liquidity,
    counterparty: Id.optional(),
    counterpartyLiquidity: Liquidity.optional(),
  })
  .strict()
  .openapi('FillCommand')

export const LiquidationFillBody = z
  .object({ orderId: Id, size: Decimal, price: Decimal, counterparty: Id.optional() })
  .strict()
  .openapi('LiquidationFillCommand')

export const LiquidationTakeoverBody = z
  .object({ orderId: Id })
  .strict()
  .openapi('LiquidationTakeoverCommand')

export const FundingBody = z
  .object({ market: Id, rate: Decimal })
  .strict()
  .openapi('FundingCommand')

export const TransferBody = z
  .object({ account: Id, asset: Id, amount: Decimal })
  .strict()
  .openapi('TransferCommand')

export const InsuranceFundDepositBody = z
  .object({ fund: Id, asset: Id, amount: Decimal })
  .strict()
  .openapi('InsuranceFundDepositCommand')

export const RulesChangeBody = z
  .object({
    preset: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*(@[A-Za-z0-9][A-Za-z0-9._-]*)?$/)
      .optional()
      .openapi({
        description: 'a shipped preset id, e.g. binance-usdm or binance-usdm@2020-05-01',
      }),
    ruleSet: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: 'a rule-set document in file form (docs/presets.md)' }),
    effectiveTimeMs: z.number().int().nonnegative().optional(),
  })
  .strict()
  .openapi('RulesChange')

/** Any command in the journal's wire form (docs/journal.md); checked by the codec. */
export const WireCommandBody = z.object({ type: z.string() }).passthrough().openapi('WireCommand')

/** The most commands one batch may hold (SVC-046). */
export const MAX_BATCH_COMMANDS = 1_000

/** A command batch: commands in the journal's wire form, each with its own idempotency key. */
export const CommandBatchBody = z
  .object({
    commands: z
      .array(
        z
          .object({
            idempotencyKey: z
              .string()
              .min(1)
              .max(200)
              .optional()
              .openapi({ description: 'as the Idempotency-Key header of a single command' }),
            command: WireCommandBody,
          })
          .strict(),
      )
      .min(1)
      .max(MAX_BATCH_COMMANDS),
  })
  .strict()
  .openapi('CommandBatch')

export const CreateKeyBody = z
  .object({
    name: z.string().regex(PRINTABLE),
    role: z.enum(ROLES),
    account: Id.optional(),
  })
  .strict()
  .openapi('CreateKey')

export const SimulationBody = z
  .object({
    presets: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9-]*(@[A-Za-z0-9][A-Za-z0-9._-]*)?$/))
      .min(1)
      .max(6),
    accounts: z.number().int().min(1).max(20_000).default(500),
    seeds: z.number().int().min(1).max(200).default(1),
    seed: z.number().int().min(0).max(0xffff_ffff).default(1),
    model: z
      .string()
      .regex(/^(gbm|jump|garch|shock:[a-z0-9-]+)$/)
      .optional(),
    insuranceFund: Decimal.optional(),
  })
  .strict()
  .openapi('SimulationRequest')

export const AccountParams = z.object({
  id: Id.openapi({ param: { name: 'id', in: 'path' } }),
})

export const MarketParams = z.object({
  market: Id.openapi({ param: { name: 'market', in: 'path' } }),
})

export const LimitQuery = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
})

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      issues: z
        .array(z.object({ code: z.string(), path: z.string(), message: z.string() }))
        .optional(),
    }),
  })
  .openapi('Error')

/** What a batch answers: one result per command, in order (SVC-046). */
export const CommandBatchResultSchema = z
  .object({
    results: z.array(
      z.object({
        status: z.number().int().openapi({
          description:
            'the HTTP status the command would have had on its own (200, 400, 409, 422, …)',
        }),
        sequence: z.number().int().nullable().openapi({
          description: 'its journal entry; null when it was not journaled',
        }),
        duplicate: z.boolean().optional(),
        result: z.record(z.string(), z.unknown()).optional(),
        events: z.array(z.record(z.string(), z.unknown())).optional(),
        error: ErrorSchema.shape.error.optional(),
      }),
    ),
  })
  .openapi('CommandBatchResult')

export const CommandOutcomeSchema = z
  .object({
    sequence: z.number().int(),
    duplicate: z.boolean(),
    result: z.object({ status: z.literal('ok') }),
    events: z.array(z.record(z.string(), z.unknown())),
  })
  .openapi('CommandOutcome')

export const AdlQueueQuery = z.object({
  side: z.enum(['long', 'short']).openapi({ description: 'the side whose positions are ranked' }),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
})

export const SequenceParams = z.object({
  sequence: z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/)
    .openapi({ param: { name: 'sequence', in: 'path' } }),
})

export const IndexParams = z.object({
  index: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,8})$/)
    .openapi({ param: { name: 'index', in: 'path' } }),
})

export const DiffQuery = z.object({
  from: z.coerce.number().int().min(0).optional(),
  to: z.coerce.number().int().min(0).optional(),
})

export const SimulationParams = z.object({
  simulation: Id.openapi({ param: { name: 'simulation', in: 'path' } }),
})

export const KeyParams = z.object({
  keyId: Id.openapi({ param: { name: 'keyId', in: 'path' } }),
})
