// Accessibility of a hosted page, checked by axe-core (pinned in
// package.json) in the page as Chromium renders it, at a desktop and a
// mobile viewport. axe is injected through page.evaluate (the DevTools
// protocol), which the pages' Content-Security-Policy does not govern, so
// the pages need no exception for it.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** The viewports every page is checked at. */
export const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'mobile', width: 375, height: 667 },
];

/** Impacts that fail the test. */
const BLOCKING = new Set(['serious', 'critical']);

/** A readable list of axe violations: rule, impact, help, and each node. */
export function describeViolations(violations) {
  return violations
    .map((v) => {
      const nodes = v.nodes
        .map((n) => `    at ${n.target.join(' ')}\n      ${(n.failureSummary ?? '').replace(/\n/g, '\n      ')}\n      ${n.html}`)
        .join('\n');
      return `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${nodes}`;
    })
    .join('\n');
}

/**
 * Runs axe on `page` (already showing the page to check) at every viewport
 * of VIEWPORTS and in the light and dark colour schemes; returns one
 * string per (viewport, scheme) with serious or critical violations, empty
 * when there are none. The viewport is left at desktop size.
 */
export async function axeViolations(page, what) {
  const failures = [];
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize({ width: viewport.width, height: viewport.height });
    for (const colorScheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme });
      const hasAxe = await page.evaluate(() => typeof window.axe !== 'undefined');
      if (!hasAxe) await page.evaluate(AXE_SOURCE);
      const results = await page.evaluate(() =>
        window.axe.run(document, { resultTypes: ['violations'] }),
      );
      const blocking = results.violations.filter((v) => BLOCKING.has(v.impact));
      if (blocking.length > 0) {
        failures.push(
          `${what} at ${viewport.name} ${viewport.width}x${viewport.height}, ${colorScheme} scheme: ` +
            `${blocking.length} serious or critical axe violation(s)\n${describeViolations(blocking)}`,
        );
      }
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: VIEWPORTS[0].width, height: VIEWPORTS[0].height });
  return failures;
}
