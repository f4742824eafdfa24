import { expect, test } from "@playwright/test";
import { ADMIN_TOKEN, BEHIND_CADDY_PORT, CADDY_HTTPS_PORT } from "../ports";
import { LOOKING, Stranger, trackStrangers } from "./strangers";

// The deploy kit, used as written: the release build behind Debian's Caddy with
// deploy/Caddyfile (its internal certificate authority and loopback ports put in
// through STRANGERS_CADDY_OPTIONS; see playwright.config.ts).

const opened = trackStrangers();
const SITE = `https://localhost:${CADDY_HTTPS_PORT}`;
/** Caddy's test authority is not one the browser knows. */
const overTls = { baseURL: SITE, ignoreHTTPSErrors: true };

test("two strangers chat through Caddy over https and wss, and the operator signs in", async ({
  browser,
}) => {
  const alice = await Stranger.arrive(browser, overTls);
  const bob = await Stranger.arrive(browser, overTls);
  opened.push(alice, bob);
  const sockets: string[] = [];
  for (const s of [alice, bob]) s.page.on("websocket", (ws) => sockets.push(ws.url()));

  await alice.start();
  await expect(alice.page).toHaveURL(new RegExp(`^${SITE}/chat`));
  await expect(alice.status()).toHaveText(LOOKING);
  await bob.start();
  await alice.expectChatting();
  await bob.expectChatting();
  await alice.say("hello over TLS");
  await expect(bob.log()).toContainText("Stranger: hello over TLS");
  await bob.say("and back");
  await expect(alice.log()).toContainText("Stranger: and back");
  expect(sockets.length).toBeGreaterThanOrEqual(2);
  for (const url of sockets) expect(url).toBe(`wss://localhost:${CADDY_HTTPS_PORT}/ws`);

  // The counters stay private behind the proxy.
  const metrics = await alice.page.request.get("/metrics");
  expect(metrics.status()).toBe(404);

  // Asked for by any other name (a rebound DNS name, the bare address), the
  // instance answers nothing but its probes.
  const byAddress = await fetch(`http://127.0.0.1:${BEHIND_CADDY_PORT}/`);
  expect(byAddress.status).toBe(421);

  // The console over https: its cookie is Secure, HttpOnly and SameSite=Strict.
  const operator = await Stranger.arrive(browser, overTls);
  opened.push(operator);
  await operator.page.goto("/admin");
  await operator.page.getByLabel("Operator token").fill(ADMIN_TOKEN);
  await operator.page.getByRole("button", { name: "Sign in" }).click();
  await expect(operator.page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const [cookie] = await operator.context.cookies(`${SITE}/admin`);
  expect(cookie).toMatchObject({
    name: "strangers_console",
    secure: true,
    httpOnly: true,
    sameSite: "Strict",
    path: "/admin",
  });
  await expect(operator.page.getByText("Online")).toBeVisible();
  await operator.page.getByRole("link", { name: "Bans" }).click();
  await expect(operator.page.getByText("No bans in force.")).toBeVisible();
});
