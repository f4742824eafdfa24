import { spawn, ChildProcess } from "node:child_process";
import { expect, test } from "@playwright/test";
import { RESTART_PORT } from "../ports";
import { LOOKING, onNetwork, trackStrangers } from "./strangers";

const opened = trackStrangers();

test("a stranger who spams and is reported by three different people is banned for an hour and told so", async ({
  browser,
}) => {
  const troll = await onNetwork(browser, opened, "198.51.100.66");
  for (const [n, address] of ["203.0.113.1", "203.0.113.2", "203.0.113.3"].entries()) {
    if (n === 0) await troll.start();
    else await troll.button("New").click();
    await expect(troll.status()).toHaveText(LOOKING);

    const reporter = await onNetwork(browser, opened, address);
    await reporter.start();
    await reporter.expectChatting();
    await troll.expectChatting();
    // Only a report of a stranger who sent something (or after 10 s) counts.
    await troll.say("buy followers at spam.example");
    await expect(reporter.log()).toContainText("spam.example");
    await reporter.report("Spam or a bot");
    await expect(reporter.button("New")).toBeVisible();
    await expect(troll.log()).toContainText("Stranger has disconnected.");
  }
  await expect(troll.log()).toContainText(
    "You are banned from Strangers for 1 h, after reports from other strangers.",
  );
  await expect(troll.button("New")).toBeVisible();

  // Coming back does not help: the ban is on the network, and it says so again.
  await troll.page.reload();
  await expect(troll.log()).toContainText("You are banned from Strangers for 1 h");

  // Everyone else chats on.
  const [a, b] = [await onNetwork(browser, opened, "203.0.113.4"), await onNetwork(browser, opened, "203.0.113.5")];
  await a.start();
  await expect(a.status()).toHaveText(LOOKING);
  await b.start();
  await a.expectChatting();
});

/** The release server on RESTART_PORT, started and stopped by the test itself. */
function startServer(): ChildProcess {
  const server = spawn("target/release/strangers", [], {
    cwd: "..",
    env: {
      ...process.env,
      LEPTOS_SITE_ADDR: `127.0.0.1:${RESTART_PORT}`,
      LEPTOS_SITE_ROOT: "target/site",
      LEPTOS_ENV: "PROD",
      RUST_LOG: "warn",
    },
    stdio: "ignore",
  });
  return server;
}

async function listening(): Promise<void> {
  await expect
    .poll(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${RESTART_PORT}/`)).status;
      } catch {
        return 0;
      }
    })
    .toBe(200);
}

test("a server restart is announced and New reconnects once it is back", async ({ browser }) => {
  const site = `http://127.0.0.1:${RESTART_PORT}`;
  let server = startServer();
  try {
    await listening();
    const alice = await onNetwork(browser, opened, "203.0.113.20", site);
    const bob = await onNetwork(browser, opened, "203.0.113.21", site);
    await alice.start();
    await expect(alice.status()).toHaveText(LOOKING);
    await bob.start();
    await alice.expectChatting();

    const stopped = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    for (const s of [alice, bob]) {
      await expect(s.log()).toContainText("The server is restarting, please reconnect");
      await expect(s.status()).toHaveText("Lost the connection to the server. Press New to reconnect.");
      await expect(s.button("New")).toBeVisible();
    }
    await stopped;

    server = startServer();
    await listening();
    await alice.button("New").click();
    await expect(alice.status()).toHaveText(LOOKING);
    await bob.button("New").click();
    await alice.expectChatting();
    await bob.expectChatting();
  } finally {
    server.kill("SIGTERM");
  }
});
