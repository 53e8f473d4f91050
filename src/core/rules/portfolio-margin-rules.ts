/**
 * The `portfolioMargin` section of a rule-set file (docs/spec/portfolio-margin.md, PFM-040..PFM-043):
 * which markets' cross positions are margined together, by which scenario model. The model's own
 * parameters are the `span:` / `grid:` sections of portfolio files (src/core/portfolio/parse.ts).
 */
import { ONE } from '../num/fixed.ts'
import { settlementQuotingOf } from '../model/instrument.ts'
import { type ModelSectionResult, parseGridSection, parseSpanSection } from '../portfolio/parse.ts'
import type { Checker } from './parse.ts'
import { join } from './parse.ts'
import type { MarketRules, PortfolioMarginRules, PortfolioMarketMapping } from './rule-set.ts'

type JsonObject = Readonly<Record<string, unknown>>

const PATH = 'portfolioMargin'

/** Reads and validates the section against the rule set's markets (PFM-040, PFM-041). */
export function readPortfolioMarginRules(
  check: Checker,
  value: unknown,
  markets: ReadonlyMap<string, MarketRules>,
): PortfolioMarginRules | undefined {
  const object = check.object(value, PATH)
  if (object === undefined) return undefined
  check.knownFields(object, PATH, ['model', 'span', 'grid', 'initialMarginMultiplier', 'markets'])
  const model = check.choice(object, 'model', PATH, ['span', 'grid'] as const)
  if (model === undefined) return undefined
  const other = model === 'span' ? 'grid' : 'span'
  if (object[other] !== undefined)
    check.report('unused_section', join(PATH, other), `model is ${model}: remove "${other}"`)
  if (model === 'grid' && object.initialMarginMultiplier !== undefined)
    check.report(
      'unused_field',
      join(PATH, 'initialMarginMultiplier'),
      'the grid model takes its multiplier from grid.initialMarginMultiplier',
    )
  const sectionValue = check.present(object, model, PATH)
  if (sectionValue === undefined) return undefined
  if (model === 'grid') {
    const grid = sectionRules(check, parseGridSection(sectionValue, join(PATH, model)))
    const mappings = grid === undefined ? undefined : readMappings(check, object, markets, grid)
    if (grid === undefined || mappings === undefined) return undefined
    checkSettlement(check, model, grid.settlement, mappings, markets)
    return { model, grid, markets: mappings, source: structuredClone(object) }
  }
  const span = sectionRules(check, parseSpanSection(sectionValue, join(PATH, model)))
  const mappings = span === undefined ? undefined : readMappings(check, object, markets, span)
  if (span === undefined || mappings === undefined) return undefined
  checkSettlement(check, model, 'linear', mappings, markets)
  const multiplier =
    object.initialMarginMultiplier === undefined
      ? ONE
      : check.decimal(object, 'initialMarginMultiplier', PATH)
  if (multiplier === undefined) return undefined
  if (multiplier < ONE) {
    check.report(
      'below_one',
      join(PATH, 'initialMarginMultiplier'),
      'initial margin is at least the maintenance requirement (multiplier ≥ 1)',
    )
    return undefined
  }
  return {
    model,
    span,
    initialMarginMultiplier: multiplier,
    markets: mappings,
    source: structuredClone(object),
  }
}

/** The model section's rules, its issues copied into `check`. */
function sectionRules<T>(check: Checker, section: ModelSectionResult<T>): T | undefined {
  if (section.ok) return section.rules
  for (const issue of section.issues) check.report(issue.code, issue.path, issue.message)
  return undefined
}

function readMappings(
  check: Checker,
  object: JsonObject,
  markets: ReadonlyMap<string, MarketRules>,
  model: { readonly products: readonly { readonly id: string }[] },
): Map<string, PortfolioMarketMapping> | undefined {
  const products = new Set(model.products.map((product) => product.id))
  const list = check.present(object, 'markets', PATH)
  if (list === undefined) return undefined
  const at = join(PATH, 'markets')
  if (!Array.isArray(list) || list.length === 0) {
    check.report('no_markets', at, 'list at least one market as { market, product, tier? }')
    return undefined
  }
  const mappings = new Map<string, PortfolioMarketMapping>()
  list.forEach((item: unknown, index) => {
    const path = `${at}[${index}]`
    const entry = check.object(item, path)
    if (entry === undefined) return
    check.knownFields(entry, path, ['market', 'product', 'tier'])
    const market = check.string(entry, 'market', path)
    const product = check.string(entry, 'product', path)
    const tier = entry.tier === undefined ? market : check.string(entry, 'tier', path)
    if (market === undefined || product === undefined || tier === undefined) return
    if (!markets.has(market))
      check.report('unknown_market', join(path, 'market'), `no market "${market}" in this rule set`)
    else if (mappings.has(market))
      check.report('duplicate_market', join(path, 'market'), `market "${market}" is listed twice`)
    if (!products.has(product))
      check.report('unknown_product', join(path, 'product'), `no product "${product}" in the model`)
    mappings.set(market, { market, product, tier })
  })
  return mappings
}

/**
 * SPAN revalues linear contracts (scan ranges in price points of the quote); the grid's settlement
 * must be the markets' quoting; one product's markets settle in one asset (PFM-041).
 */
function checkSettlement(
  check: Checker,
  model: 'span' | 'grid',
  expected: 'linear' | 'inverse',
  mappings: ReadonlyMap<string, PortfolioMarketMapping>,
  markets: ReadonlyMap<string, MarketRules>,
): void {
  const assetOfProduct = new Map<string, string>()
  let index = 0
  for (const mapping of mappings.values()) {
    const path = `${PATH}.markets[${index}]`
    index += 1
    const instrument = markets.get(mapping.market)?.instrument
    if (instrument === undefined) continue
    const quoting = settlementQuotingOf(instrument)
    if (quoting !== expected)
      check.report(
        'settlement_mismatch',
        join(path, 'market'),
        `${mapping.market} is ${quoting}; the ${model} model here margins ${expected} contracts`,
      )
    const asset = assetOfProduct.get(mapping.product)
    if (asset !== undefined && asset !== instrument.settlementAsset)
      check.report(
        'mixed_settlement_assets',
        join(path, 'product'),
        `product ${mapping.product} has markets settled in ${asset} and ${instrument.settlementAsset}`,
      )
    assetOfProduct.set(mapping.product, instrument.settlementAsset)
  }
}
