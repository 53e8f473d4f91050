/**
 * The live dashboard (docs/service.md "Dashboard", docs/spec/service.md SVC-070..SVC-075):
 * server-rendered HTML on the service's port, htmx (served from node_modules, no CDN) for partial
 * updates, and server-sent events that tell the open pages to refresh their live parts when a
 * command is journaled. Login stores the API key in an HttpOnly, SameSite=Strict cookie; every page
 * then checks the key's role like the API does. Every value shown is escaped.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Context } from 'hono'
import { deleteCookie, setCookie } from 'hono/cookie'
import { html, raw } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import { formatFixed } from '../core/num/fixed.ts'
import { diffRuleSets } from '../core/rules/diff.ts'
import { explainAccount } from '../journal/explain.ts'
import { loadRuleSet } from '../presets/index.ts'
import {
  type Access,
  allows,
  type App,
  type AppEnv,
  KEY_COOKIE,
  updatesStream,
  adlRanksOf,
} from './app.ts'
import { ServiceError } from './errors.ts'
import type { RiskService } from './risk-service.ts'
import type { SimulationStatus, Simulations } from './simulations.ts'
import {
  accountsAtRisk,
  accountView,
  fundsView,
  liquidationPricesView,
  marketsView,
} from './views.ts'

type Html = HtmlEscapedString | Promise<HtmlEscapedString>
type DashboardContext = Context<AppEnv>

const htmxSource = readFileSync(
  createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'),
  'utf8',
)

/** The browser side: one EventSource; each update (at most every 400 ms) refreshes the live parts. */
const DASHBOARD_SCRIPT = `
(() => {
  const status = document.getElementById('live-status')
  const sequence = document.getElementById('live-sequence')
  let pending = null
  const source = new EventSource('/dashboard/stream')
  source.addEventListener('ready', (event) => {
    if (status) status.textContent = 'live'
    if (sequence) sequence.textContent = event.data
  })
  source.addEventListener('update', (event) => {
    const update = JSON.parse(event.data)
    if (sequence) sequence.textContent = String(update.sequence)
    if (pending !== null) return
    pending = setTimeout(() => {
      pending = null
      document.body.dispatchEvent(new CustomEvent('lor-update'))
    }, 400)
  })
  source.addEventListener('error', () => { if (status) status.textContent = 'reconnecting' })
})()
`

const STYLE = `
:root { --ink: #1d2330; --muted: #667085; --line: #d0d5dd; --accent: #1f6feb; --bad: #b42318; --good: #067647; --bg: #f7f8fa }
* { box-sizing: border-box }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg) }
header { display: flex; gap: 24px; align-items: center; padding: 12px 24px; background: #101828; color: #fff }
header a { color: #d0d5dd; text-decoration: none } header a:hover, header a.current { color: #fff }
header .brand { font-weight: 700; color: #fff; margin-right: 12px }
header .live { margin-left: auto; font-size: 12px; color: #98a2b3 }
header form { margin: 0 } header button { background: none; border: 1px solid #475467; color: #d0d5dd; border-radius: 4px; padding: 2px 8px; cursor: pointer }
main { padding: 20px 24px; max-width: 1200px }
h1 { font-size: 20px; margin: 0 0 16px } h2 { font-size: 15px; margin: 24px 0 8px; color: #344054 } .card > h2:first-child { margin-top: 0 }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line) }
th, td { padding: 6px 10px; border-bottom: 1px solid #eaecf0; text-align: left; white-space: nowrap }
th { background: #f2f4f7; font-weight: 600; font-size: 12px; color: #475467 }
td.wrap { white-space: normal; min-width: 240px }
td.value { white-space: normal; overflow-wrap: anywhere; max-width: 380px }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums }
.bad { color: var(--bad); font-weight: 600 } .good { color: var(--good) } .muted { color: var(--muted) }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px }
.card { overflow-x: auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 16px; margin-bottom: 16px }
form.inline { display: flex; gap: 8px; align-items: end; flex-wrap: wrap }
label { display: flex; flex-direction: column; font-size: 12px; color: #475467; gap: 2px }
input, select { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 4px }
button.primary { background: var(--accent); color: #fff; border: 0; border-radius: 4px; padding: 6px 14px; font: inherit; cursor: pointer }
.login { max-width: 380px; margin: 12vh auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 28px }
.login input { width: 100% } .error { color: var(--bad); margin: 8px 0 }
ol.chain { margin: 4px 0 12px; padding-left: 20px } ol.chain li { margin: 2px 0 }
.progress { background: #eaecf0; border-radius: 4px; height: 8px; width: 160px; display: inline-block; vertical-align: middle }
.progress span { display: block; height: 8px; border-radius: 4px; background: var(--accent) }
`

const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

function layout(
  c: DashboardContext,
  title: string,
  current: string,
  body: Html,
): Response | Promise<Response> {
  const key = c.get('key')
  const link = (href: string, label: string, name: string) =>
    html`<a href="${href}" class="${current === name ? 'current' : ''}">${label}</a>`
  c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
  return c.html(html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · lor</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/assets/style.css">
<script src="/dashboard/assets/htmx.js"></script>
<script src="/dashboard/assets/dashboard.js" defer></script>
</head>
<body>
<header>
<span class="brand">lor risk</span>
${key.role === 'trader' && key.account !== null ? link(`/dashboard/accounts/${encodeURIComponent(key.account)}`, 'My account', 'account') : link('/dashboard', 'Overview', 'overview')}
${link('/dashboard/rules', 'Rules', 'rules')}
${key.role === 'trader' ? '' : link('/dashboard/simulations', 'Simulations', 'simulations')}
<span class="live">${key.name} (${key.role}) · <span id="live-status">connecting</span> · entry <span id="live-sequence">${String(c.get('key') === undefined ? 0 : 0)}</span></span>
<form method="post" action="/dashboard/logout"><button type="submit">Log out</button></form>
</header>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>`)
}

function requireAccess(c: DashboardContext, access: Access, account: string | null = null): void {
  if (!allows(c.get('key'), access, account))
    throw new ServiceError('forbidden', `role ${c.get('key').role} may not open this page`)
}

function decimalText(value: string | null, decimals = 4): string {
  if (value === null) return '–'
  const [whole = '', fraction = ''] = value.split('.')
  if (fraction.length <= decimals) return value
  return decimals === 0 ? whole : `${whole}.${fraction.slice(0, decimals)}`
}

function liveFragment(url: string, id: string): Html {
  return html`<div id="${id}" hx-get="${url}" hx-trigger="load, lor-update from:body" hx-swap="innerHTML"><p class="muted">Loading…</p></div>`
}

/** Registers the dashboard's pages, fragments, assets and stream on the app. */
export function registerDashboard(app: App, service: RiskService, simulations: Simulations): void {
  const state = () => service.engine.engineState

  app.get('/dashboard/assets/htmx.js', (c) => {
    c.header('Content-Type', 'text/javascript; charset=utf-8')
    return c.body(htmxSource)
  })
  app.get('/dashboard/assets/dashboard.js', (c) => {
    c.header('Content-Type', 'text/javascript; charset=utf-8')
    return c.body(DASHBOARD_SCRIPT)
  })
  app.get('/dashboard/assets/style.css', (c) => {
    c.header('Content-Type', 'text/css; charset=utf-8')
    return c.body(STYLE)
  })
  app.get('/dashboard/stream', (c) => {
    requireAccess(c, 'own_account', c.get('key').account)
    return updatesStream(c, service)
  })

  // ---- login ----
  const loginPage = (c: Context, message: string | null, status: 200 | 401) => {
    c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
    return c.html(
      html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in · lor</title><link rel="icon" href="data:,">
<style>${raw(STYLE)}</style></head>
<body><form class="login" method="post" action="/dashboard/login">
<h1>lor risk service</h1>
<p class="muted">Log in with your API key.</p>
${message === null ? '' : html`<p class="error" role="alert">${message}</p>`}
<label>API key <input type="password" name="key" autocomplete="off" required autofocus></label>
<p><button class="primary" type="submit">Log in</button></p>
</form></body></html>`,
      status,
    )
  }
  app.get('/dashboard/login', (c) => loginPage(c, null, 200))
  app.post('/dashboard/login', async (c) => {
    const form = await c.req.parseBody()
    const presented = typeof form.key === 'string' ? form.key.trim() : ''
    const key = presented === '' ? null : await service.keys.verify(presented)
    if (key === null) return loginPage(c, 'That key is not valid.', 401)
    setCookie(c, KEY_COOKIE, presented, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      secure: c.req.url.startsWith('https:'),
      maxAge: 12 * 3600,
    })
    const target =
      key.role === 'trader' && key.account !== null
        ? `/dashboard/accounts/${encodeURIComponent(key.account)}`
        : '/dashboard'
    return c.redirect(target, 303)
  })
  app.post('/dashboard/logout', (c) => {
    deleteCookie(c, KEY_COOKIE, { path: '/' })
    return c.redirect('/dashboard/login', 303)
  })

  // ---- overview ----
  app.get('/dashboard', (c) => {
    const key = c.get('key')
    if (key.role === 'trader' && key.account !== null)
      return c.redirect(`/dashboard/accounts/${encodeURIComponent(key.account)}`, 303)
    requireAccess(c, 'read')
    return layout(
      c,
      'Overview',
      'overview',
      liveFragment('/dashboard/fragments/overview', 'overview'),
    )
  })
  app.get('/dashboard/fragments/overview', (c) => {
    requireAccess(c, 'read')
    const markets = marketsView(state(), (market) => service.owns(market))
    const funds = fundsView(state()) as Record<string, Record<string, string>>
    const atRisk = accountsAtRisk(state(), 25)
    const assets = new Set([
      ...Object.keys(funds.insuranceFunds ?? {}),
      ...Object.keys(funds.feePools ?? {}),
      ...Object.keys(funds.deposits ?? {}),
    ])
    return c.html(html`
<div class="grid">
<div class="card"><h2>Markets</h2>
<table><thead><tr><th>Market</th><th class="number">Mark</th><th class="number">Index</th><th class="number">Open interest</th><th class="number">Holders</th></tr></thead>
<tbody>${markets.map(
      (market) =>
        html`<tr data-market="${market.market}"><td>${market.market}${market.owned === true ? '' : html` <span class="muted">(other process)</span>`}</td><td class="number mark">${decimalText(market.markPrice, 2)}</td><td class="number">${decimalText(market.indexPrice, 2)}</td><td class="number">${decimalText(market.openInterestValue, 2)}</td><td class="number">${String(market.holders)}</td></tr>`,
    )}</tbody></table></div>
<div class="card"><h2>Funds</h2>
<table><thead><tr><th>Asset</th><th class="number">Insurance fund</th><th class="number">Fee pool</th><th class="number">Deposits</th><th class="number">Withdrawals</th></tr></thead>
<tbody>${[...assets]
      .sort()
      .map(
        (asset) =>
          html`<tr><td>${asset}</td><td class="number">${decimalText(funds.insuranceFunds?.[asset] ?? '0', 2)}</td><td class="number">${decimalText(funds.feePools?.[asset] ?? '0', 2)}</td><td class="number">${decimalText(funds.deposits?.[asset] ?? '0', 2)}</td><td class="number">${decimalText(funds.withdrawals?.[asset] ?? '0', 2)}</td></tr>`,
      )}</tbody></table></div>
</div>
<div class="card"><h2>Accounts at risk (nearest to liquidation first)</h2>
${
  atRisk.length === 0
    ? html`<p class="muted">No account holds a position with a mark price yet.</p>`
    : html`
<table id="at-risk"><thead><tr><th>Account</th><th>Nearest market</th><th class="number">Distance to liquidation</th><th class="number">Equity</th><th class="number">Maintenance</th><th>State</th></tr></thead>
<tbody>${atRisk.map(
        (row) =>
          html`<tr><td><a href="/dashboard/accounts/${encodeURIComponent(row.account)}">${row.account}</a></td><td>${row.market ?? '–'}</td><td class="number">${row.distance === null ? '–' : `${formatFixed((row.distance * 100n) as typeof row.distance, 2)} %`}</td><td class="number">${formatFixed(row.equity, 2)}</td><td class="number">${formatFixed(row.maintenanceMargin, 2)}</td><td>${row.belowMaintenance ? html`<span class="bad">below maintenance</span>` : html`<span class="good">ok</span>`}</td></tr>`,
      )}</tbody></table>`
}
</div>`)
  })

  // ---- account ----
  app.get('/dashboard/accounts/:id', (c) => {
    const id = c.req.param('id')
    requireAccess(c, 'own_account', id)
    if (!state().accounts.has(id)) throw new ServiceError('account_not_found', 'no such account')
    return layout(
      c,
      `Account ${id}`,
      'account',
      html`${liveFragment(`/dashboard/fragments/accounts/${encodeURIComponent(id)}`, 'account')}
<div class="card"><h2>Explain: the last journal entries naming this account</h2>
<div hx-get="/dashboard/fragments/accounts/${encodeURIComponent(id)}/explain" hx-trigger="load" hx-swap="innerHTML"><p class="muted">Loading…</p></div></div>`,
    )
  })
  app.get('/dashboard/fragments/accounts/:id', (c) => {
    const id = c.req.param('id')
    requireAccess(c, 'own_account', id)
    const view = accountView(state(), id) as { balances: Record<string, string> }
    let prices: { positions: Record<string, string | null>[] } = { positions: [] }
    let ranks: {
      positions: { market: string; rank: number | null; of: number; ranking: string | null }[]
    } = { positions: [] }
    let note: string | null = null
    try {
      prices = liquidationPricesView(state(), id) as typeof prices
      ranks = adlRanksOf(service, id) as typeof ranks
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error
      note = error.message
    }
    return c.html(html`
<div class="card"><h2>Balances</h2>
<table><thead><tr><th>Asset</th><th class="number">Wallet balance</th></tr></thead><tbody>
${Object.entries(view.balances).map(([asset, amount]) => html`<tr><td>${asset}</td><td class="number">${decimalText(amount, 6)}</td></tr>`)}
</tbody></table></div>
<div class="card"><h2>Positions</h2>
${note === null ? '' : html`<p class="muted">${note}</p>`}
${
  prices.positions.length === 0
    ? html`<p class="muted">No open position.</p>`
    : html`
<table id="positions"><thead><tr><th>Market</th><th>Mode</th><th class="number">Size</th><th class="number">Entry</th><th class="number">Mark</th><th class="number">Liquidation price</th><th class="number">Bankruptcy price</th><th class="number">Distance</th><th class="number">ADL rank</th></tr></thead><tbody>
${prices.positions.map((position) => {
  const rank = ranks.positions.find((each) => each.market === position.market)
  const distance = position.distanceToLiquidation ?? null
  return html`<tr><td>${position.market ?? ''}</td><td>${position.marginMode ?? ''}</td><td class="number">${position.size ?? ''}</td><td class="number">${decimalText(position.entryPrice ?? null, 2)}</td><td class="number mark">${decimalText(position.markPrice ?? null, 2)}</td><td class="number liquidation-price">${position.liquidationPrice ?? '–'}</td><td class="number">${position.bankruptcyPrice ?? '–'}</td><td class="number">${distance === null ? '–' : `${(Number(distance) * 100).toFixed(2)} %`}</td><td class="number">${rank?.rank === null || rank === undefined ? '–' : `${rank.rank} of ${rank.of}`}</td></tr>`
})}
</tbody></table>`
}
</div>`)
  })
  app.get('/dashboard/fragments/accounts/:id/explain', async (c) => {
    const id = c.req.param('id')
    requireAccess(c, 'own_account', id)
    const history = await explainAccount(service.store, id, 10)
    if (history.total === 0)
      return c.html(html`<p class="muted">No journal entry names this account.</p>`)
    return c.html(html`<p class="muted">${String(history.total)} entries; the last ${String(history.entries.length)}, newest first.</p>
${[...history.entries].reverse().map((entry) => html`<ol class="chain">${entry.chain.map((line) => html`<li>${line}</li>`)}</ol>`)}`)
  })

  // ---- rules ----
  app.get('/dashboard/rules', (c) => {
    requireAccess(c, 'any')
    const versions = service.ruleVersions
    const last = versions.length - 1
    const options = (selected: number) =>
      versions.map(
        (version) =>
          html`<option value="${String(version.index)}" ${version.index === selected ? 'selected' : ''}>${String(version.index)}: ${version.id} ${version.version}</option>`,
      )
    return layout(
      c,
      'Rules',
      'rules',
      html`<div class="card"><h2>Versions</h2>
<table id="rule-versions"><thead><tr><th>#</th><th>Rule set</th><th>Version</th><th>Journal entry</th><th>Changed by</th><th>Effective</th></tr></thead><tbody>
${versions.map((version) => html`<tr><td>${String(version.index)}</td><td>${version.id}</td><td>${version.version}</td><td>${version.sequence === null ? 'genesis' : String(version.sequence)}</td><td>${version.author ?? '–'}</td><td>${version.effectiveTimeMs === null ? '–' : new Date(version.effectiveTimeMs).toISOString()}</td></tr>`)}
</tbody></table></div>
<div class="card"><h2>Differences</h2>
<form class="inline" hx-get="/dashboard/fragments/rules/diff" hx-target="#rule-diff" hx-swap="innerHTML">
<label>From <select name="from">${options(Math.max(0, last - 1))}</select></label>
<label>To <select name="to">${options(last)}</select></label>
<label>or compare with preset <input name="preset" placeholder="e.g. bybit-linear"></label>
<button class="primary" type="submit">Compare</button></form>
<div id="rule-diff" hx-get="/dashboard/fragments/rules/diff?from=${String(Math.max(0, last - 1))}&amp;to=${String(last)}" hx-trigger="load" hx-swap="innerHTML"></div></div>`,
    )
  })
  app.get('/dashboard/fragments/rules/diff', (c) => {
    requireAccess(c, 'any')
    const last = service.ruleVersions.length - 1
    const to = service.ruleVersion(boundedIndex(c.req.query('to'), last))
    const preset = c.req.query('preset')?.trim() ?? ''
    let beforeLabel: string
    let before
    if (preset !== '') {
      const loaded = loadRuleSet(preset)
      if (!loaded.ok || /[/\\]/.test(preset))
        return c.html(html`<p class="error">${preset}: not a preset</p>`)
      before = loaded.ruleSet
      beforeLabel = `preset ${preset}`
    } else {
      const from = service.ruleVersion(boundedIndex(c.req.query('from'), Math.max(0, last - 1)))
      before = from.ruleSet
      beforeLabel = `#${from.index} ${from.id} ${from.version}`
    }
    const changes = diffRuleSets(before, to.ruleSet)
    const show = (value: unknown) =>
      value === undefined ? '–' : typeof value === 'string' ? value : JSON.stringify(value)
    return c.html(html`<p class="muted">${beforeLabel} → #${String(to.index)} ${to.id} ${to.version}: ${String(changes.length)} differences</p>
${
  changes.length === 0
    ? ''
    : html`<table id="rule-changes"><thead><tr><th>Parameter</th><th>Kind</th><th>Before</th><th>After</th></tr></thead><tbody>
${changes.slice(0, 500).map((change) => html`<tr><td>${change.path}</td><td>${change.kind}</td><td class="value">${show(change.before).slice(0, 160)}</td><td class="value">${show(change.after).slice(0, 160)}</td></tr>`)}
</tbody></table>`
}`)
  })

  // ---- simulations ----
  app.get('/dashboard/simulations', (c) => {
    requireAccess(c, 'read')
    const canStart = allows(c.get('key'), 'operate', null)
    return layout(
      c,
      'Simulations',
      'simulations',
      html`${
        canStart
          ? html`<div class="card"><h2>Start a simulation</h2>
<form class="inline" hx-post="/dashboard/simulations" hx-target="#simulations" hx-swap="innerHTML">
<label>Presets <input name="presets" value="binance-usdm,bybit-linear" size="30"></label>
<label>Accounts <input name="accounts" type="number" min="1" max="20000" value="200"></label>
<label>Seeds <input name="seeds" type="number" min="1" max="200" value="1"></label>
<label>Seed <input name="seed" type="number" min="0" value="1"></label>
<button class="primary" type="submit">Start</button></form></div>`
          : ''
      }
<div class="card"><h2>Runs</h2>
<div id="simulations" hx-get="/dashboard/fragments/simulations" hx-trigger="load, every 1s" hx-swap="innerHTML"></div></div>`,
    )
  })
  app.post('/dashboard/simulations', async (c) => {
    requireAccess(c, 'operate')
    const form = await c.req.parseBody()
    const text = (name: string) => (typeof form[name] === 'string' ? form[name] : '')
    const presets = text('presets')
      .split(',')
      .map((each) => each.trim())
      .filter((each) => each !== '')
    const whole = (name: string, minimum: number, maximum: number, fallback: number) => {
      const value = Number(text(name))
      return Number.isSafeInteger(value) && value >= minimum && value <= maximum ? value : fallback
    }
    for (const preset of presets)
      if (
        !/^[a-z0-9][a-z0-9-]*(@[A-Za-z0-9][A-Za-z0-9._-]*)?$/.test(preset) ||
        !loadRuleSet(preset).ok
      )
        return c.html(
          html`<p class="error">${preset}: not a preset</p>${simulationTable(simulations.list())}`,
        )
    if (presets.length === 0 || presets.length > 6)
      return c.html(
        html`<p class="error">name 1 to 6 presets</p>${simulationTable(simulations.list())}`,
      )
    try {
      simulations.start(
        {
          presets,
          accounts: whole('accounts', 1, 20_000, 200),
          seeds: whole('seeds', 1, 200, 1),
          seed: whole('seed', 0, 0xffff_ffff, 1),
        },
        c.get('key').name,
      )
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error
      return c.html(
        html`<p class="error">${error.message}</p>${simulationTable(simulations.list())}`,
      )
    }
    return c.html(simulationTable(simulations.list()))
  })
  app.get('/dashboard/fragments/simulations', (c) => {
    requireAccess(c, 'read')
    return c.html(simulationTable(simulations.list()))
  })
}

function boundedIndex(text: string | undefined, fallback: number): number {
  if (text === undefined || !/^\d{1,9}$/.test(text)) return fallback
  return Number(text)
}

function simulationTable(list: readonly SimulationStatus[]): Html {
  if (list.length === 0) return html`<p class="muted">No simulation yet.</p>`
  return html`<table id="simulation-runs"><thead><tr><th>Id</th><th>Presets</th><th>Accounts</th><th>Progress</th><th>State</th><th>Started by</th><th>Result</th></tr></thead><tbody>
${list.map((run) => {
  const share = run.seedsTotal === 0 ? 0 : Math.round((run.seedsDone / run.seedsTotal) * 100)
  return html`<tr data-simulation="${run.id}"><td>${run.id}</td><td>${run.request.presets.join(', ')}</td><td class="number">${String(run.request.accounts)}</td><td><span class="progress"><span style="width: ${String(share)}%"></span></span> ${String(run.seedsDone)}/${String(run.seedsTotal)}</td><td class="${run.status === 'failed' ? 'bad' : run.status === 'finished' ? 'good' : ''}">${run.status}${run.error === null ? '' : `: ${run.error}`}</td><td>${run.startedBy}</td><td class="wrap">${run.reportAvailable ? html`<a href="/v1/simulations/${encodeURIComponent(run.id)}/report" target="_blank" rel="noopener">report</a> · ${run.summary.map((row) => `${row.ruleSetId}: ${String(row.liquidations)} liquidations, bad debt ${decimalText(row.badDebt, 0)}`).join('; ')}` : '–'}</td></tr>`
})}
</tbody></table>`
}
