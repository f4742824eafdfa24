import { Page, expect, test } from "@playwright/test";
import { LOOKING, Stranger, trackStrangers } from "./strangers";

/**
 * Strangers as an app you can install: the manifest and icons, the service
 * worker that keeps the current release's shell (and never the chat), and
 * "Stranger found" when pairing happens while the tab is in the background.
 */

const opened = trackStrangers();

async function arrive(browser: Parameters<typeof Stranger.arrive>[0], options = {}) {
  const s = await Stranger.arrive(browser, options);
  opened.push(s);
  return s;
}

/** Waits until this page's service worker is active and controls the page. */
async function controlled(page: Page) {
  await page.evaluate(() => navigator.serviceWorker.ready);
  await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
}

/** How many service workers this page's site has registered. */
function registrations(page: Page): Promise<number> {
  return page.evaluate(() => navigator.serviceWorker.getRegistrations().then((all) => all.length));
}

/** From the start page to "Looking for someone". */
async function look(s: Stranger) {
  await s.page.goto("/");
  await s.landed();
  await s.gate().check();
  await s.button("Text").click();
  await expect(s.status()).toHaveText(LOOKING);
}

/** Everything the service worker's caches hold, by path. */
function cachedPaths(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const paths: string[] = [];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) paths.push(new URL(request.url).pathname);
    }
    return paths.sort();
  });
}

test("the manifest is valid and Chromium can install the site as an app", async ({ browser }) => {
  const visitor = await arrive(browser);
  await visitor.page.goto("/");
  await visitor.landed();
  const devtools = await visitor.context.newCDPSession(visitor.page);

  const { url, errors, parsed } = await devtools.send("Page.getAppManifest");
  expect(new URL(url).pathname).toBe("/manifest.webmanifest");
  expect(errors, "manifest errors").toEqual([]);
  const served = await visitor.page.request.get("/manifest.webmanifest");
  expect(served.ok()).toBe(true);
  expect(served.headers()["content-type"]).toContain("application/manifest+json");
  const manifest = await served.json();
  expect(manifest).toMatchObject({ name: "Strangers", start_url: "/", display: "standalone" });
  expect(parsed, "Chromium parsed the manifest").toBeTruthy();
  for (const icon of manifest.icons) {
    const response = await visitor.page.request.get(icon.src);
    expect(response.ok(), icon.src).toBe(true);
    expect(response.headers()["content-type"], icon.src).toBe(icon.type);
  }

  // The one reason left is the test's own browser: Playwright's contexts are
  // private windows, where Chromium installs nothing.
  const { installabilityErrors } = await devtools.send("Page.getInstallabilityErrors");
  const reasons = installabilityErrors.map((e) => e.errorId);
  expect(reasons, "what stops Chromium installing it").toEqual(["in-incognito"]);
});

test("the service worker comes with the first stranger, keeps this release's shell, serves it offline, and never keeps the chat", async ({
  browser,
}) => {
  const visitor = await arrive(browser);
  await visitor.page.goto("/");
  await visitor.landed();
  const scripts = await visitor.page.evaluate(() =>
    [...document.querySelectorAll<HTMLLinkElement>("link[rel=modulepreload], link[rel=preload], link[rel=stylesheet]")].map(
      (link) => new URL(link.href).pathname,
    ),
  );
  expect(scripts).toHaveLength(3);

  // A first visit does not wait for the worker: it comes once a stranger is found.
  await visitor.gate().check();
  await visitor.button("Text").click();
  await expect(visitor.status()).toHaveText(LOOKING);
  expect(await registrations(visitor.page), "installed while looking").toBe(0);
  const partner = await arrive(browser);
  await partner.start();
  await partner.expectChatting();
  await controlled(visitor.page);
  // The built files are kept at once (from the HTTP cache the page filled).
  await expect.poll(() => cachedPaths(visitor.page)).toEqual([...scripts, "/favicon.svg"].sort());

  // The chat goes on; nothing of it is kept.
  await partner.say("something private");
  await expect(visitor.log()).toContainText("something private");
  await visitor.say("and a reply");
  await expect(partner.log()).toContainText("and a reply");
  const during = await cachedPaths(visitor.page);
  expect(during, "kept during the chat").toEqual([...scripts, "/favicon.svg"].sort());

  // The start page, once visited with the worker there; the built files come from the worker.
  const script = visitor.page.waitForResponse((r) => r.url().endsWith(scripts.find((s) => s.endsWith(".js"))!));
  await visitor.page.goto("/");
  await visitor.landed();
  expect((await script).fromServiceWorker()).toBe(true);
  await expect.poll(() => cachedPaths(visitor.page)).toContain("/");
  const after = await cachedPaths(visitor.page);
  for (const path of ["/ws", "/online"]) expect(after).not.toContain(path);
  expect(after.filter((path) => path.startsWith("/chat")), "no chat page address").toEqual([]);
  expect(await visitor.page.evaluate(() => caches.keys())).toHaveLength(1);

  // Offline, the installed app still opens, on the start page.
  await visitor.context.setOffline(true);
  await visitor.page.goto("/");
  await visitor.landed();
  await expect(visitor.gate()).toBeVisible();
  await visitor.context.setOffline(false);
});

test("a stranger found while the tab is in the background is announced by a notification", async ({
  browser,
}) => {
  const alice = await arrive(browser);
  await look(alice);

  // Offered while looking; the browser asks, and once allowed the offer goes.
  const offer = alice.button("Notify me when someone is found");
  await expect(offer).toBeVisible();
  await alice.context.grantPermissions(["notifications"]);
  await offer.click();
  await expect(offer).toBeHidden();
  await controlled(alice.page);

  // Headless tabs are never hidden by themselves: tell the page it is.
  await alice.page.evaluate(() => {
    Object.defineProperty(document, "hidden", { value: true, configurable: true });
    document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
  });
  const shown = () =>
    alice.page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      const found = await registration.getNotifications({ tag: "strangers-found" });
      return found.map((n) => n.title);
    });
  expect(await shown(), "nothing before anyone is found").toEqual([]);

  const bob = await arrive(browser);
  await bob.start();
  await bob.expectChatting();
  await expect.poll(shown).toEqual(["Stranger found"]);
});

test("a stranger found while the tab is in view is not announced", async ({ browser }) => {
  const alice = await arrive(browser, { permissions: ["notifications"] });
  await look(alice);
  await expect(alice.button("Notify me when someone is found"), "already allowed").toBeHidden();

  const bob = await arrive(browser);
  await bob.start();
  await bob.expectChatting();
  await alice.expectChatting();
  // The message is a marker: by the time it shows, any notification for the pairing would have been asked for.
  await bob.say("hi");
  await expect(alice.log()).toContainText("hi");
  const titles = await alice.page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    return (await registration.getNotifications()).map((n) => n.title);
  });
  expect(titles).toEqual([]);
});
