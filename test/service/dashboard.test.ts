/**
 * The dashboard in a real headless Chromium (docs/spec/service.md, SVC-070..SVC-075): log in with a
 * key, click through overview, account, rules and simulations, and see a live update arrive after a
 * price is posted. Screenshots go to .test-results/screenshots/. Skipped with the reason when
 * /usr/bin/chromium is missing, unless LOR_REQUIRE_SERVICES=1 (then it fails).
 */
import { existsSync, mkdirSync } from 'node:fs'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, seedAccounts, startHarness } from './harness.ts'

const CHROMIUM = '/usr/bin/chromium'
const REQUIRED = process.env.LOR_REQUIRE_SERVICES === '1'
const SCREENSHOTS = '.test-results/screenshots'
const available = existsSync(CHROMIUM)

const suite = available ? describe : REQUIRED ? describe : describe.skip
const title = available
  ? 'dashboard in headless Chromium'
  : `dashboard in headless Chromium (skipped: ${CHROMIUM} is missing; apt-get install -y chromium)`

suite(title, () => {
  if (!available) {
    it(`needs ${CHROMIUM} (LOR_REQUIRE_SERVICES=1)`, () => {
      expect(existsSync(CHROMIUM)).toBe(true)
    })
    return
  }
  let harness: Harness
  let browser: Browser
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true })
    harness = await startHarness()
    await seedAccounts(harness)
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
  })
  afterAll(async () => {
    await browser?.close()
    await harness?.close()
  })

  async function logIn(page: Page, key: string): Promise<void> {
    await page.goto(`${harness.url}/dashboard`)
    expect(page.url()).toContain('/dashboard/login')
    await page.fill('input[name=key]', key)
    await page.click('button[type=submit]')
  }

  it('SVC-070..SVC-075: log in, overview with a live update, account, rules, simulations', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (error) => pageErrors.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text())
    })

    await page.goto(`${harness.url}/dashboard/login`)
    await page.fill('input[name=key]', 'not-a-key-but-long-enough-to-try')
    await page.click('button[type=submit]')
    await expect.poll(() => page.locator('.error').textContent()).toContain('not valid')
    await page.screenshot({ path: `${SCREENSHOTS}/01-login-refused.png` })

    pageErrors.length = 0 // the refused login answered 401 on purpose
    await logIn(page, harness.keys.viewer)
    await page.waitForURL(`${harness.url}/dashboard`)
    const cookies = await context.cookies()
    const cookie = cookies.find((each) => each.name === 'lor_key')
    expect(cookie?.httpOnly).toBe(true)
    expect(cookie?.sameSite).toBe('Strict')

    const mark = page.locator('tr[data-market="BTCUSDT"] td.mark')
    await expect.poll(() => mark.textContent()).toBe('60000')
    await expect.poll(() => page.locator('#live-status').textContent()).toBe('live')
    await expect.poll(() => page.locator('#at-risk tbody tr').count()).toBeGreaterThanOrEqual(2)
    await page.screenshot({ path: `${SCREENSHOTS}/02-overview.png`, fullPage: true })

    // a price posted through the API reaches the open page without a reload
    const posted = await harness.request('POST', '/v1/prices', {
      key: harness.keys.operator,
      body: { market: 'BTCUSDT', mark: '58000.5' },
    })
    expect(posted.status).toBe(200)
    await expect.poll(() => mark.textContent(), { timeout: 10_000 }).toBe('58000.5')
    await expect
      .poll(() => page.locator('#live-sequence').textContent())
      .toBe(String((posted.body as { sequence: number }).sequence))
    await page.screenshot({ path: `${SCREENSHOTS}/03-overview-live-update.png`, fullPage: true })

    await page.click('#at-risk a:text("alice")')
    await page.waitForURL(/\/dashboard\/accounts\/alice$/)
    await expect
      .poll(() => page.locator('#positions td.liquidation-price').first().textContent())
      .toMatch(/^\d/)
    await expect.poll(() => page.locator('ol.chain').count()).toBeGreaterThan(0)
    await page.screenshot({ path: `${SCREENSHOTS}/04-account.png`, fullPage: true })

    await page.click('header a:text("Rules")')
    await page.waitForURL(/\/dashboard\/rules$/)
    await page.fill('input[name=preset]', 'bybit-linear')
    await page.click('button:text("Compare")')
    await expect.poll(() => page.locator('#rule-changes tbody tr').count()).toBeGreaterThan(5)
    await page.screenshot({ path: `${SCREENSHOTS}/05-rules-diff.png`, fullPage: true })

    await page.click('header a:text("Simulations")')
    await page.waitForURL(/\/dashboard\/simulations$/)
    expect(await page.locator('button:text("Start")').count()).toBe(0) // a viewer cannot start one
    expect(pageErrors.join('\n')).toBe('')
    await context.close()
  })

  it('SVC-074: an operator starts a simulation and follows it to its report', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    await logIn(page, harness.keys.operator)
    await page.waitForURL(`${harness.url}/dashboard`)
    await page.goto(`${harness.url}/dashboard/simulations`)
    await page.fill('input[name=presets]', 'binance-usdm')
    await page.fill('input[name=accounts]', '30')
    await page.click('button:text("Start")')
    await expect.poll(() => page.locator('#simulation-runs tbody tr').count()).toBe(1)
    await expect
      .poll(() => page.locator('#simulation-runs tbody tr td:nth-child(5)').textContent(), {
        timeout: 90_000,
        interval: 500,
      })
      .toBe('finished')
    await page.screenshot({ path: `${SCREENSHOTS}/06-simulations.png`, fullPage: true })
    const [report] = await Promise.all([
      context.waitForEvent('page'),
      page.click('a:text("report")'),
    ])
    await report.waitForLoadState()
    expect(await report.title()).toContain('Stress test')
    await report.screenshot({ path: `${SCREENSHOTS}/07-simulation-report.png` })
    await context.close()
  }, 180_000)

  it('SVC-071: a trader lands on its own account and cannot open another', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await logIn(page, harness.keys.trader)
    await page.waitForURL(/\/dashboard\/accounts\/alice$/)
    const other = await page.goto(`${harness.url}/dashboard/accounts/bob`)
    expect(other?.status()).toBe(403)
    await page.goto(`${harness.url}/dashboard/accounts/alice`)
    await page.screenshot({ path: `${SCREENSHOTS}/08-trader-account.png`, fullPage: true })
    await context.close()
  })
})
