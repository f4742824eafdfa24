import { Page, Route, expect, test } from "@playwright/test";
import { LOOKING, Stranger, trackStrangers } from "./strangers";

/**
 * The on-device nudity check, with Chromium's synthetic camera (a moving test
 * pattern). The real model runs on it in the first tests. To see what a viewer
 * sees when a frame is judged sexual, the last ones replace the check's worker
 * (`/classifier/worker.js`) by one that says so for every frame: a switch that
 * exists only in the test harness (Playwright's request routing), so nothing a
 * page or a stranger does can turn it on.
 */

const opened = trackStrangers();
const CAMERA = { permissions: ["camera", "microphone"] };
const HIDDEN = "Video hidden: it may show nudity.";

async function videoStranger(browser: any): Promise<Stranger> {
  const s = await Stranger.arrive(browser, CAMERA);
  opened.push(s);
  return s;
}

/**
 * Alice, then Bob, press Video and are paired. `blur`: Alice asked to blur the
 * stranger's video; `sexual`: Alice's check calls every frame sexual.
 */
async function videoPair(
  browser: any,
  { blur = false, sexual = false } = {},
): Promise<[Stranger, Stranger]> {
  const alice = await videoStranger(browser);
  if (sexual) await alice.context.route("**/classifier/worker.js", everyFrameSexual);
  await alice.start([], false, { mode: "video", blur });
  await expect(alice.status()).toHaveText(LOOKING);
  const bob = await videoStranger(browser);
  await bob.start([], false, { mode: "video" });
  await alice.expectChatting();
  await bob.expectChatting();
  return [alice, bob];
}

function strangerVideo(page: Page) {
  return page.getByLabel("The stranger's video");
}

/** A worker that finds every frame explicit. */
async function everyFrameSexual(route: Route): Promise<void> {
  await route.fulfill({
    contentType: "text/javascript",
    body: `postMessage({ ready: true, backend: "test" });
      onmessage = ({ data }) => {
        data.frame.close();
        postMessage({ scores: { drawing: 0, hentai: 0, neutral: 0.05, porn: 0.9, sexy: 0.05 }, ms: 1 });
      };`,
  });
}

test("a text chat fetches none of the nudity check's files", async ({ browser }) => {
  const fetched: string[] = [];
  const [alice, bob] = [await Stranger.arrive(browser), await Stranger.arrive(browser)];
  opened.push(alice, bob);
  for (const s of [alice, bob]) s.page.on("request", (r) => fetched.push(r.url()));
  await alice.start();
  await expect(alice.status()).toHaveText(LOOKING);
  await bob.start();
  await alice.expectChatting();
  await alice.say("hello");
  await expect(bob.log()).toContainText("Stranger: hello");
  expect(fetched.length).toBeGreaterThan(0);
  expect(fetched.filter((url) => url.includes("/classifier/"))).toEqual([]);
});

test("in a video chat the check loads, runs on the stranger's video and finds the test pattern harmless", async ({
  browser,
}) => {
  test.setTimeout(150_000);
  const alice = await videoStranger(browser);
  const fetched: { url: string; bytes: number }[] = [];
  alice.page.on("response", async (r) => {
    if (r.url().includes("/classifier/")) {
      fetched.push({ url: r.url(), bytes: Number((await r.headerValue("content-length")) ?? 0) });
    }
  });
  const started = Date.now();
  await alice.start([], false, { mode: "video" });
  const video = strangerVideo(alice.page);
  await expect(video).toHaveAttribute("data-nudity-check", "running", { timeout: 60_000 });
  const loaded = Date.now() - started;
  const bob = await videoStranger(browser);
  await bob.start([], false, { mode: "video" });
  await alice.expectChatting();

  await expect
    .poll(async () => Number(await video.getAttribute("data-nudity-checks")), { timeout: 60_000 })
    .toBeGreaterThanOrEqual(3);
  const before = Number(await video.getAttribute("data-nudity-checks"));
  const window = 10_000;
  await alice.page.waitForTimeout(window);
  const checks = Number(await video.getAttribute("data-nudity-checks")) - before;
  const ms = Number(await video.getAttribute("data-nudity-ms"));
  await expect(video).toHaveAttribute("data-nudity-verdict", "neutral");
  await expect(video).not.toHaveClass(/blurred/);
  await expect(alice.page.getByText(HIDDEN)).toBeHidden();
  const files = fetched.map((f) => `${new URL(f.url).pathname} ${f.bytes} B`).join(", ");
  console.log(
    `nudity check: ${await video.getAttribute("data-nudity-backend")} backend, ready ${loaded} ms ` +
      `after pressing Video; ${checks} frames in ${window / 1000} s, last took ${ms} ms ` +
      `(about ${((checks * ms) / window * 100).toFixed(0)}% of one core in the worker); files: ${files}`,
  );
  expect(checks).toBeGreaterThan(0);
  // The browser keeps them: a second visit asks for none of them again.
  for (const f of fetched) expect(f.url).toMatch(/\/classifier\/(worker\.js|vendor\/)/);
});

test("a frame judged sexual blurs the video at once; Show anyway shows it for good, Next moves on", async ({
  browser,
}) => {
  const [alice] = await videoPair(browser, { sexual: true });

  const video = strangerVideo(alice.page);
  await expect(alice.page.getByText(HIDDEN)).toBeVisible({ timeout: 20_000 });
  await expect(video).toHaveClass(/blurred/);
  // Only the picture is hidden: the video (and its sound) keeps playing.
  expect(await video.evaluate((v: HTMLVideoElement) => v.paused)).toBe(false);

  await alice.button("Show anyway").click();
  await expect(video).not.toHaveClass(/blurred/);
  // The check goes on, and a later explicit frame no longer hides what the viewer chose to see.
  const seen = Number(await video.getAttribute("data-nudity-checks"));
  await expect
    .poll(async () => Number(await video.getAttribute("data-nudity-checks")))
    .toBeGreaterThan(seen + 2);
  await expect(video).not.toHaveClass(/blurred/);
  await expect(alice.page.getByText(HIDDEN)).toBeHidden();
});

test("Next over a hidden video ends the chat and looks for the next stranger at once", async ({
  browser,
}) => {
  const [alice, bob] = await videoPair(browser, { sexual: true });
  await expect(alice.page.getByText(HIDDEN)).toBeVisible({ timeout: 20_000 });
  await alice.button("Next").click();
  await expect(bob.log()).toContainText("Stranger has disconnected.");
  await expect(alice.status()).toHaveText(LOOKING);
  await expect(alice.page.getByText(HIDDEN)).toBeHidden();
});

test("asked to, every call starts blurred until the viewer chooses to see it", async ({ browser }) => {
  const [alice] = await videoPair(browser, { blur: true });
  const video = strangerVideo(alice.page);
  await expect(alice.page.getByText("The stranger's video is blurred.")).toBeVisible();
  await expect(video).toHaveClass(/blurred/);
  await alice.button("Show video").click();
  await expect(video).not.toHaveClass(/blurred/);
});
