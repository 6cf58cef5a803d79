#!/usr/bin/env node
// Runs one browser job in Debian's headless Chromium through playwright-core and prints a JSON result.
//
//   node drive.mjs '{"url": "...", "steps": [...]}'    job as the first argument
//   node drive.mjs job.json                             job from a file
//   node drive.mjs < job.json                           job on stdin (also with "-")
//
// Job fields:
//   url            page to open (required)
//   steps          list of steps, run in order; the first failing step stops the job
//   timeout_ms     default timeout of each step and of the navigation (default 30000)
//   viewport       {"width": 1280, "height": 900}
//   block_external true (default): requests to hosts other than 127.0.0.0/8, localhost and [::1] are aborted and
//                  listed in external_requests, so a page that depends on a CDN fails the same way offline or online
//   executable     browser binary (default $OCPPEMU_CHROMIUM or /usr/bin/chromium)
//
// Steps (each may carry "timeout_ms"):
//   {"action": "wait", "selector": "css", "text": "substring"?, "state": "visible|attached|hidden|detached"?}
//   {"action": "wait", "text": "substring"}                       text anywhere in the page
//   {"action": "click", "selector": "css", "text": "substring"?}  first visible match (filtered by text if given)
//   {"action": "fill", "selector": "css", "value": "..."}
//   {"action": "press", "selector": "css", "key": "Enter"}
//   {"action": "select", "selector": "css of a <select>", "value": "option value or label"}
//   {"action": "read", "selector": "css", "name": "key"?}         innerText of the first match into texts[name]
//   {"action": "read_all", "selector": "css", "name": "key"}         innerText of every match into texts[name] (a list)
//   {"action": "sleep", "ms": 1000}                                 let time pass (values that must change)
//   {"action": "touch", "path": "/abs/file"}                        create a file: tells the test a point is reached
//   {"action": "screenshot", "path": "/abs/file.png", "full_page": true?}
//
// Result (stdout, one JSON object): ok, error, failed_step, steps_done, texts, console_errors, page_errors,
// failed_requests, http_errors, external_requests, screenshots, elapsed_ms.
// Exit code: 0 when every step passed, 1 when a step failed (the result says which), 2 for an unusable job.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

function readJob() {
  const arg = process.argv[2];
  let raw;
  if (arg === undefined || arg === "-") raw = readFileSync(0, "utf8");
  else if (arg.trimStart().startsWith("{")) raw = arg;
  else raw = readFileSync(arg, "utf8");
  const job = JSON.parse(raw);
  if (typeof job.url !== "string" || !job.url) throw new Error("job.url must be a non-empty string");
  if (job.steps !== undefined && !Array.isArray(job.steps)) throw new Error("job.steps must be a list");
  return job;
}

function isLocalHost(hostname) {
  const h = hostname.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function isLocalUrl(url) {
  try {
    const u = new URL(url);
    if (u.protocol === "data:" || u.protocol === "blob:" || u.protocol === "about:") return true;
    return isLocalHost(u.hostname);
  } catch {
    return true;
  }
}

function locate(page, step) {
  if (typeof step.selector !== "string" || !step.selector) throw new Error(`step ${step.action} needs a selector`);
  let loc = page.locator(step.selector);
  if (typeof step.text === "string") loc = loc.filter({ hasText: step.text });
  return loc.first();
}

async function runStep(page, step, result, timeout) {
  switch (step.action) {
    case "wait": {
      if (step.selector === undefined) {
        if (typeof step.text !== "string") throw new Error("wait needs a selector or a text");
        await page.getByText(step.text).first().waitFor({ state: step.state ?? "visible", timeout });
      } else {
        await locate(page, step).waitFor({ state: step.state ?? "visible", timeout });
      }
      return;
    }
    case "click":
      await locate(page, step).click({ timeout });
      return;
    case "fill":
      await locate(page, step).fill(String(step.value ?? ""), { timeout });
      return;
    case "select":
      await locate(page, step).selectOption(String(step.value ?? ""), { timeout });
      return;
    case "press":
      await locate(page, step).press(String(step.key), { timeout });
      return;
    case "read": {
      const text = await locate(page, step).innerText({ timeout });
      result.texts[step.name ?? step.selector] = text;
      return;
    }
    case "read_all": {
      result.texts[step.name ?? step.selector] = await page.locator(step.selector).allInnerTexts();
      return;
    }
    case "sleep":
      await page.waitForTimeout(Number(step.ms ?? 1000));
      return;
    case "touch":
      writeFileSync(String(step.path), String(Date.now()));
      return;
    case "screenshot": {
      if (typeof step.path !== "string" || !step.path) throw new Error("screenshot needs a path");
      await page.screenshot({ path: step.path, fullPage: step.full_page ?? true, timeout });
      result.screenshots.push(step.path);
      return;
    }
    default:
      throw new Error(`unknown action ${JSON.stringify(step.action)}`);
  }
}

async function main() {
  let job;
  try {
    job = readJob();
  } catch (err) {
    process.stdout.write(JSON.stringify({ ok: false, error: `bad job: ${err.message}` }) + "\n");
    return 2;
  }
  const started = Date.now();
  const timeout = job.timeout_ms ?? 30000;
  const result = {
    ok: false,
    error: null,
    failed_step: null,
    steps_done: 0,
    texts: {},
    console_errors: [],
    page_errors: [],
    failed_requests: [],
    http_errors: [],
    external_requests: [],
    screenshots: [],
    elapsed_ms: 0,
  };
  const profile = mkdtempSync(join(tmpdir(), "ocppemu-chromium-"));
  let context;
  try {
    // launchPersistentContext is how playwright takes a user data dir; a fresh one per job keeps jobs independent.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: job.executable ?? process.env.OCPPEMU_CHROMIUM ?? "/usr/bin/chromium",
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: job.viewport ?? { width: 1280, height: 900 },
      timeout,
    });
    if (job.block_external ?? true) {
      await context.route(
        (url) => !isLocalUrl(url.href),
        (route) => {
          result.external_requests.push(route.request().url());
          return route.abort("blockedbyclient");
        },
      );
    }
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (msg) => {
      if (msg.type() === "error") {
        const loc = msg.location();
        result.console_errors.push({ text: msg.text(), url: loc.url ?? "" });
      }
    });
    page.on("pageerror", (err) => result.page_errors.push(String(err.stack ?? err)));
    page.on("requestfailed", (req) =>
      result.failed_requests.push({ url: req.url(), error: req.failure()?.errorText ?? "" }),
    );
    page.on("response", (resp) => {
      if (resp.status() >= 400) result.http_errors.push({ url: resp.url(), status: resp.status() });
    });
    await page.goto(job.url, { waitUntil: "domcontentloaded", timeout });
    const steps = job.steps ?? [];
    for (let i = 0; i < steps.length; i++) {
      try {
        await runStep(page, steps[i], result, steps[i].timeout_ms ?? timeout);
      } catch (err) {
        result.failed_step = i;
        result.error = `step ${i} (${JSON.stringify(steps[i])}): ${err.message.split("\n")[0]}`;
        try {
          result.texts["__body__"] = (await page.locator("body").innerText({ timeout: 2000 })).slice(0, 4000);
        } catch {
          // the page may be gone; the error above already says what failed
        }
        break;
      }
      result.steps_done = i + 1;
    }
    result.ok = result.failed_step === null;
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
