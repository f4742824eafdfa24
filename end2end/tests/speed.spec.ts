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
  for (let run = 0; run < RUNS; run++) {
    const visitor = await Stranger.arrive(browser);
    opened.push(visitor);
    await visitor.page.goto("/chat");
    const usable = await visitor.page.waitForFunction(() => {
      const status = document.querySelector("[role=status]")?.textContent ?? "";
      return status.startsWith("Looking for someone") ? performance.now() : 0;
    });
    samples.push((await usable.jsonValue()) as number);
    await visitor.leave();
  }
  opened.length = 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const result = {
    runs: RUNS,
    median_ms: Math.round(sorted[Math.floor(RUNS / 2)]),
    min_ms: Math.round(sorted[0]),
    max_ms: Math.round(sorted[RUNS - 1]),
  };
  mkdirSync("results", { recursive: true });
  writeFileSync("results/hydration.json", JSON.stringify(result, null, 2) + "\n");
  console.log(`chat page usable after navigation: ${JSON.stringify(result)}`);
});
