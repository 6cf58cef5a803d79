#!/usr/bin/env node
// Opens pages one after the other in one headless Chromium and measures each: time to the first byte of the
// page's shell (the navigation bar) and time until a selector shows real content. Used by the kernel-leak test
// (open and close many pages) and by benchmarks/dashboards.mjs (per-page times).
//
//   node pages.mjs '{"pages": [{"url": "...", "selector": "css", "text": "substring"?}], ...}'   (or "-" for stdin)
//
// Job fields:
//   pages           list of {url, selector, text?}; each is opened in a new tab, waited for, then closed
//   repeat          how many times the list is run (default 1)
//   unload          "beforeunload" (default: the page's own unload handlers run, as when a user closes a tab)
//                   or "kill" (the tab is closed without running them, as when a browser crashes)
//   timeout_ms      per page (default 60000)
//   executable      browser binary (default $OCPPEMU_CHROMIUM or /usr/bin/chromium)
// Result (stdout, one JSON object): ok, error, pages: [{url, shell_ms, content_ms, error}], elapsed_ms.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"];

function readJob() {
  const arg = process.argv[2];
  const raw = arg === undefined || arg === "-" ? readFileSync(0, "utf8") : arg;
  return JSON.parse(raw);
}

function isLocal(url) {
  try {
    const h = new URL(url).hostname.replace(/^\[|\]$/g, "");
    return h === "localhost" || h === "::1" || /^127\./.test(h) || url.startsWith("data:") || url.startsWith("blob:");
  } catch {
    return true;
  }
}

async function main() {
  const job = readJob();
  const started = Date.now();
  const timeout = job.timeout_ms ?? 60000;
  const result = { ok: false, error: null, pages: [], external_requests: [], elapsed_ms: 0 };
  const profile = mkdtempSync(join(tmpdir(), "ocppemu-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: job.executable ?? process.env.OCPPEMU_CHROMIUM ?? "/usr/bin/chromium",
      headless: true, args: ARGS, viewport: { width: 1280, height: 900 }, timeout,
    });
    await context.route((u) => !isLocal(u.href), (route) => {
      result.external_requests.push(route.request().url());
      return route.abort("blockedbyclient");
    });
    const blank = context.pages()[0] ?? (await context.newPage());  // keeps the browser open between tabs
    await blank.goto("about:blank");
    for (let round = 0; round < (job.repeat ?? 1); round++) {
      for (const spec of job.pages) {
        const entry = { url: spec.url, shell_ms: null, content_ms: null, error: null };
        const page = await context.newPage();
        const t0 = Date.now();
        try {
          await page.goto(spec.url, { waitUntil: "commit", timeout });
          await page.locator(".ocppemu-nav").first().waitFor({ state: "attached", timeout });
          entry.shell_ms = Date.now() - t0;
          let loc = page.locator(spec.selector);
          if (spec.text) loc = loc.filter({ hasText: spec.text });
          await loc.first().waitFor({ state: "visible", timeout });
          entry.content_ms = Date.now() - t0;
        } catch (err) {
          entry.error = err.message.split("\n")[0];
        }
        await page.close({ runBeforeUnload: (job.unload ?? "beforeunload") === "beforeunload" });
        result.pages.push(entry);
      }
    }
    result.ok = result.pages.every((p) => p.error === null);
    if (!result.ok) result.error = result.pages.find((p) => p.error)?.error ?? null;
  } catch (err) {
    result.error = err.message.split("\n")[0];
  } finally {
    if (context) await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
  result.elapsed_ms = Date.now() - started;
  process.stdout.write(JSON.stringify(result) + "\n");
  return result.ok ? 0 : 1;
}

process.exitCode = await main();
