/**
 * Opens an HTML page in a real browser (Debian's Chromium, headless, driven by playwright-core)
 * and reports what a reader would see: each chart with what it drew, every request the page made.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

/** scripts/install.sh installs it from Debian; elsewhere point CLOUDSHIFT_CHROMIUM at one. */
export const CHROMIUM = process.env.CLOUDSHIFT_CHROMIUM ?? '/usr/bin/chromium';

export interface RenderedChart {
  label: string;
  /** What the chart says it drew (bars or points). */
  points: number;
  /** Bars, lines and dots actually in the DOM. */
  shapes: number;
  xTitle: string;
  yTitle: string;
  width: number;
  height: number;
}

export interface RenderedPage {
  title: string;
  banners: string[];
  charts: RenderedChart[];
  /** Charts that said they had nothing to plot. */
  empty: string[];
  /** Every request beyond the page itself: a self-contained report makes none. */
  requests: string[];
  consoleErrors: string[];
}

export async function renderInBrowser(html: string): Promise<RenderedPage> {
  const dir = mkdtempSync(join(tmpdir(), 'cloudshift-report-'));
  const file = join(dir, 'report.html');
  writeFileSync(file, html);
  const url = pathToFileURL(file).href;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    const requests: string[] = [];
    const consoleErrors: string[] = [];
    page.on('request', (r) => {
      if (r.url() !== url) requests.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(url, { waitUntil: 'load' });
    const charts = await page.$$eval('svg', (svgs) =>
      svgs.map((s) => {
        const box = s.getBoundingClientRect();
        return {
          label: s.getAttribute('aria-label') ?? '',
          points: Number(s.getAttribute('data-points') ?? 0),
          shapes: s.querySelectorAll('rect, path, circle').length,
          xTitle: s.querySelector('.x-title')?.textContent ?? '',
          yTitle: s.querySelector('.y-title')?.textContent ?? '',
          width: box.width,
          height: box.height,
        };
      }),
    );
    return {
      title: await page.title(),
      banners: await page.$$eval('.verdict', (els) => els.map((e) => e.textContent ?? '')),
      charts,
      empty: await page.$$eval('.no-data', (els) => els.map((e) => e.textContent ?? '')),
      requests,
      consoleErrors,
    };
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
