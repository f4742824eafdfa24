import { test } from "@playwright/test";
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
    await visitor.page.goto("/chat?agreed=1");
    const usable = await visitor.page.waitForFunction(() => {
      const status = document.querySelector("[role=status]")?.textContent ?? "";
      return status.startsWith("Looking for someone") ? performance.now() : 0;
    });
    samples.push((await usable.jsonValue()) as number);
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
  mkdirSync("results", { recursive: true });
  writeFileSync("results/hydration.json", JSON.stringify(result, null, 2) + "\n");
  console.log(`chat page usable after navigation: ${JSON.stringify(result)}`);
});
