import { ConsoleMessage, Page, test } from "@playwright/test";
import { mkdirSync, writeFileSync } from "node:fs";
import { Stranger, trackStrangers } from "./strangers";

/**
 * A measurement, not a check (the machines are noisy): how long after navigation
 * the chat page is hydrated and usable, i.e. connected and looking for a stranger.
 * The medians go to end2end/results/hydration.json and into BENCHMARKS.md.
 */

const opened = trackStrangers();
const RUNS = 11;

test("time from navigation to a usable chat page", async ({ browser }) => {
  const samples: number[] = [];
  // Where the time goes: the page's HTML, the script and the wasm fetched, and the rest
  // (compiling, hydrating, opening the socket, joining).
  const phases: Record<string, number[]> = { html: [], js: [], wasm: [] };
  for (let run = 0; run < RUNS; run++) {
    const visitor = await Stranger.arrive(browser);
    opened.push(visitor);
    await visitor.page.addInitScript(noteWhenUsable, USABLE);
    const usable = usableAt(visitor.page);
    await visitor.page.goto("/chat?agreed=1");
    samples.push(await usable);
    const timings = await visitor.page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
      const fetched = (suffix: string) =>
        (performance.getEntriesByType("resource") as PerformanceResourceTiming[]).find((entry) =>
          entry.name.endsWith(suffix),
        )?.responseEnd ?? NaN;
      return { html: nav.responseEnd, js: fetched(".js"), wasm: fetched(".wasm") };
    });
    for (const [phase, at] of Object.entries(timings)) phases[phase].push(at);
    await visitor.leave();
  }
  opened.length = 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const median = (values: number[]) =>
    Math.round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]);
  const result = {
    runs: RUNS,
    median_ms: median(samples),
    min_ms: Math.round(sorted[0]),
    max_ms: Math.round(sorted[RUNS - 1]),
    // Medians of when each had fully arrived, in ms after navigation started.
    html_received_ms: median(phases.html),
    js_received_ms: median(phases.js),
    wasm_received_ms: median(phases.wasm),
  };
  // One more visit, traced by Chromium (apart from the timed ones: tracing
  // slows the page down), to show where the time goes.
  const traced = await Stranger.arrive(browser);
  opened.push(traced);
  await traced.page.addInitScript(noteWhenUsable, USABLE);
  const tracedUsable = usableAt(traced.page);
  await browser.startTracing(traced.page, { categories: TRACE_CATEGORIES });
  await traced.page.goto("/chat?agreed=1");
  await tracedUsable;
  const trace = JSON.parse((await browser.stopTracing()).toString()) as { traceEvents: TraceEvent[] };
  await traced.leave();
  opened.length = 0;
  const where = summarize(trace.traceEvents);

  mkdirSync("results", { recursive: true });
  writeFileSync(
    "results/hydration.json",
    JSON.stringify({ ...result, trace_of_one_visit: where }, null, 2) + "\n",
  );
  console.log(`chat page usable after navigation: ${JSON.stringify(result)}`);
  console.log(`where one traced visit's time went (ms): ${JSON.stringify(where)}`);
});

/** The prefix of the console line `noteWhenUsable` writes, and `usableAt` hears. */
const USABLE = "strangers usable at ";

/**
 * Runs in the page before its HTML: says on the console (`said`, then the ms
 * since navigation started) the moment the status line first says "Looking for someone", as the
 * page changes it. (Polling for it instead would add up to a frame's delay to
 * every sample; and Playwright's polling runs its own script in the page, which
 * on its first call is compiled on the page's main thread, about 14 ms here,
 * in the middle of the loading it measures.)
 */
function noteWhenUsable(said: string) {
  const watcher = new MutationObserver(() => {
    const status = document.querySelector("[role=status]")?.textContent ?? "";
    if (status.startsWith("Looking for someone")) {
      console.debug(`${said}${performance.now()}`);
      watcher.disconnect();
    }
  });
  watcher.observe(document, { subtree: true, childList: true, characterData: true });
}

/** When (ms after navigation started) `page` said it was usable. */
function usableAt(page: Page): Promise<number> {
  return new Promise((resolve) => {
    const heard = (message: ConsoleMessage) => {
      if (message.text().startsWith(USABLE)) {
        page.off("console", heard);
        resolve(Number(message.text().slice(USABLE.length)));
      }
    };
    page.on("console", heard);
  });
}

const TRACE_CATEGORIES = [
  "devtools.timeline",
  "disabled-by-default-devtools.timeline",
  "blink.user_timing",
  "loading",
  "v8",
  "v8.wasm",
];

type TraceEvent = { name: string; cat: string; ph: string; ts: number; dur?: number };

/**
 * The trace boiled down: when (ms after navigation started) the HTML arrived,
 * the script and the WebAssembly were fetched and compiled, the page was
 * hydrated and the socket opened, and how long the main thread spent compiling
 * and running script.
 */
function summarize(events: TraceEvent[]) {
  const start = events.find((e) => e.name === "navigationStart")?.ts ?? Math.min(...events.map((e) => e.ts));
  const at = (ts: number) => Math.round((ts - start) / 100) / 10;
  const first = (test: (e: TraceEvent) => boolean) => {
    const found = events.filter(test).sort((a, b) => a.ts - b.ts)[0];
    return found ? at(found.ts) : null;
  };
  const last = (test: (e: TraceEvent) => boolean) => {
    const found = events.filter(test).sort((a, b) => b.ts + (b.dur ?? 0) - (a.ts + (a.dur ?? 0)))[0];
    return found ? at(found.ts + (found.dur ?? 0)) : null;
  };
  const total = (test: (e: TraceEvent) => boolean) =>
    Math.round(
      events.filter((e) => e.ph === "X" && test(e)).reduce((sum, e) => sum + (e.dur ?? 0), 0) / 100,
    ) / 10;
  return {
    html_parsed_from: first((e) => e.name === "ParseHTML"),
    wasm_compile_done: last((e) => e.cat.includes("wasm") && /compil/i.test(e.name)),
    socket_created: first((e) => e.name === "WebSocketCreate"),
    socket_open: first((e) => e.name === "WebSocketReceiveHandshakeResponse"),
    first_frame_received: first((e) => e.name === "WebSocketReceive"),
    script_compile_total: total((e) => /^v8\.compile|CompileScript|CompileCode/i.test(e.name)),
    wasm_compile_total: total((e) => e.cat.includes("wasm") && /compil/i.test(e.name)),
    script_run_total: total((e) => e.name === "EvaluateScript" || e.name === "FunctionCall"),
    idle_callbacks: events.filter((e) => e.name === "FireIdleCallback").map((e) => at(e.ts)),
  };
}
