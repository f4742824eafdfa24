import { spawn } from "node:child_process";
import { expect, test } from "@playwright/test";
import { BOT_CHECK_PORT } from "../ports";
import { LOOKING, onNetwork, trackStrangers } from "./strangers";

const opened = trackStrangers();
const CHECKING = "Checking that you are not a bot...";


test("a reported network's next visit passes the bot check in the background, then chats", async ({
  browser,
}) => {
  const troll = await onNetwork(browser, opened, "203.0.113.240");
  const reporter = await onNetwork(browser, opened, "203.0.113.241");
  await troll.start();
  await expect(troll.status()).toHaveText(LOOKING);
  await reporter.start();
  await reporter.expectChatting();
  await troll.expectChatting();
  await troll.say("buy followers at spam.example");
  await expect(reporter.log()).toContainText("spam.example");
  await reporter.report("Spam or a bot");
  await expect(troll.log()).toContainText("Stranger has disconnected.");

  // Back on a new connection: the browser proves itself first, by itself.
  const seen: string[] = [];
  troll.page.on("websocket", (ws) =>
    ws.on("framesent", (frame) => seen.push(String(frame.payload))),
  );
  await troll.page.reload();
  await expect(troll.status()).toHaveText(LOOKING);
  expect(seen.findIndex((f) => f.includes('"type":"solve"'))).toBeGreaterThanOrEqual(0);
  expect(seen.findIndex((f) => f.includes('"type":"solve"'))).toBeLessThan(
    seen.findIndex((f) => f.includes('"type":"join"')),
  );
  expect(troll.errors).toEqual([]);

  // Others are not asked.
  const bystander = await onNetwork(browser, opened, "203.0.113.242");
  const frames: string[] = [];
  bystander.page.on("websocket", (ws) =>
    ws.on("framesent", (frame) => frames.push(String(frame.payload))),
  );
  await bystander.start();
  await bystander.expectChatting();
  expect(frames.some((f) => f.includes('"type":"solve"'))).toBe(false);
});

test("with --challenge always, every visitor sees the check and it takes well under a second", async ({
  browser,
}) => {
  const server = spawn("target/release/strangers", [], {
    cwd: "..",
    env: {
      ...process.env,
      LEPTOS_SITE_ADDR: `127.0.0.1:${BOT_CHECK_PORT}`,
      LEPTOS_SITE_ROOT: "target/site",
      LEPTOS_ENV: "PROD",
      RUST_LOG: "warn",
      STRANGERS_CHALLENGE: "always",
      STRANGERS_NEW_CONNECTIONS_PER_MINUTE: "0",
    },
    stdio: "ignore",
  });
  try {
    const site = `http://127.0.0.1:${BOT_CHECK_PORT}`;
    await expect
      .poll(async () => {
        try {
          return (await fetch(`${site}/healthz`)).status;
        } catch {
          return 0;
        }
      })
      .toBe(200);
    const visitor = await onNetwork(browser, opened, "203.0.113.250", site);
    // Every change of the status line, with when it happened (ms since navigation).
    await visitor.page.addInitScript(() => {
      const w = window as unknown as { statusTimes: [string, number][] };
      w.statusTimes = [];
      new MutationObserver(() => {
        const status = document.querySelector('[role="status"]')?.textContent ?? "";
        const last = w.statusTimes[w.statusTimes.length - 1];
        if (!last || last[0] !== status) w.statusTimes.push([status, performance.now()]);
      }).observe(document, { subtree: true, childList: true, characterData: true });
    });
    await visitor.start();
    await expect(visitor.status()).toHaveText(LOOKING);

    const solves: number[] = [];
    for (let run = 0; run < 7; run++) {
      await visitor.page.reload();
      await expect(visitor.status()).toHaveText(LOOKING);
      const times = await visitor.page.evaluate(
        () => (window as unknown as { statusTimes: [string, number][] }).statusTimes,
      );
      const checking = times.find(([s]) => s === CHECKING);
      const looking = times.find(([s]) => s === LOOKING);
      expect(checking, JSON.stringify(times)).toBeDefined();
      solves.push(looking![1] - checking![1]);
    }
    solves.sort((a, b) => a - b);
    const median = solves[Math.floor(solves.length / 2)];
    console.log(
      `bot check, 100,000 max (50,000 SHA-256 on average): median ${median.toFixed(0)} ms, ` +
        `runs ${solves.map((s) => s.toFixed(0)).join(", ")} ms`,
    );
    expect(visitor.errors).toEqual([]);
  } finally {
    server.kill("SIGTERM");
  }
});
