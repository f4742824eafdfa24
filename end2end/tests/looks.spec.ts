import { test, expect, Browser, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { LOOKING, Stranger, pair, trackStrangers } from "./strangers";
import { ADMIN_TOKEN } from "../ports";

// How the app looks and whether everyone can use it: WCAG AA checks (axe-core)
// in light and dark mode, the keyboard alone, and the README's screenshots.

const opened = trackStrangers();

async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
}

/** Two strangers mid-conversation, as seen by the first. */
async function conversation(browser: Browser, options: Parameters<Browser["newContext"]>[0] = {}) {
  const [alice, bob] = await pair(browser, options);
  opened.push(alice, bob);
  await alice.say("hi! where are you writing from?");
  await expect(bob.log()).toContainText("Stranger: hi! where are you writing from?");
  await bob.say("Lisbon, it's late here. You?");
  await expect(alice.log()).toContainText("Stranger: Lisbon, it's late here. You?");
  await alice.say("Montréal. Just finished dinner.");
  await expect(bob.log()).toContainText("Montréal");
  await bob.messageBox().pressSequentially("Nice");
  await expect(alice.page.getByText("Stranger is typing...")).toBeVisible();
  await alice.messageBox().fill("What brings you here?");
  return alice;
}

/** A phone: 360 CSS pixels wide, touch. */
const PHONE = { viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true };

/**
 * Nothing on `page` is wider than the screen, and `controls` are on it, whole,
 * and big enough to tap (WCAG 2.2's 24 by 24 CSS pixels at least).
 */
async function expectFitsAPhone(page: Page, controls: ReturnType<Page["getByRole"]>[]) {
  const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(widths[0], "no sideways scrolling").toBeLessThanOrEqual(widths[1]);
  for (const control of controls) {
    await expect(control).toBeInViewport({ ratio: 1 });
    const box = await control.boundingBox();
    expect(box, "a control with a size").not.toBeNull();
    expect(box!.width).toBeGreaterThanOrEqual(24);
    expect(box!.height).toBeGreaterThanOrEqual(24);
  }
}

test("on a 360-pixel phone the start page and a chat fit the screen, can be tapped and meet WCAG AA", async ({
  browser,
}) => {
  const visitor = await Stranger.arrive(browser, PHONE);
  opened.push(visitor);
  await visitor.page.goto("/");
  await visitor.landed();
  await expectFitsAPhone(visitor.page, [
    visitor.page.getByRole("textbox", { name: "What do you want to talk about?" }),
  ]);
  await expectAccessible(visitor.page);

  const alice = await conversation(browser, PHONE);
  await expectFitsAPhone(alice.page, [
    alice.messageBox(),
    alice.button("Send"),
    alice.button("Stop"),
    alice.button("Report"),
  ]);
  // The newest line is on screen, above the message box.
  await expect(alice.log().getByText("Stranger: Lisbon, it's late here. You?")).toBeInViewport();
  await expectAccessible(alice.page);
});

for (const colorScheme of ["light", "dark"] as const) {
  test(`the landing page meets WCAG AA in ${colorScheme} mode`, async ({ browser }) => {
    const visitor = await Stranger.arrive(browser, { colorScheme });
    opened.push(visitor);
    await visitor.page.goto("/");
    const box = visitor.page.getByRole("textbox", { name: "What do you want to talk about?" });
    await box.fill("music");
    await box.press("Enter");
    await expect(visitor.page.getByText(/strangers? online/)).toBeVisible();
    await expectAccessible(visitor.page);
  });

  test(`the chat page meets WCAG AA in ${colorScheme} mode`, async ({ browser }) => {
    const alice = await conversation(browser, { colorScheme });
    await expectAccessible(alice.page);
    // And with the report dialog open.
    await alice.button("Report").click();
    await expect(alice.page.getByRole("dialog", { name: "Report this stranger" })).toBeVisible();
    await expectAccessible(alice.page);
  });

  test(`the rules, privacy, contact and console pages meet WCAG AA in ${colorScheme} mode`, async ({
    browser,
  }) => {
    const visitor = await Stranger.arrive(browser, { colorScheme });
    opened.push(visitor);
    for (const path of ["/rules", "/privacy", "/contact", "/admin"]) {
      await visitor.page.goto(path);
      await expectAccessible(visitor.page);
    }
    await visitor.page.getByLabel("Operator token").fill(ADMIN_TOKEN);
    await visitor.page.getByRole("button", { name: "Sign in" }).click();
    for (const path of ["/admin", "/admin/reports", "/admin/bans", "/admin/audit"]) {
      await visitor.page.goto(path);
      await expect(visitor.page.getByRole("navigation", { name: "Console" })).toBeVisible();
      await expectAccessible(visitor.page);
    }
  });
}

test("everything works from the keyboard alone", async ({ browser }) => {
  const alice = await Stranger.arrive(browser);
  opened.push(alice);
  await alice.page.goto("/");
  const keys = alice.page.keyboard;
  await keys.press("Tab");
  await expect(
    alice.page.getByRole("textbox", { name: "What do you want to talk about?" }),
  ).toBeFocused();
  await keys.type("board games");
  await keys.press("Enter");
  await expect(alice.page.getByRole("button", { name: "Remove board games" })).toBeVisible();
  await keys.press("Tab");
  await expect(alice.page.getByRole("checkbox", { name: "Only match on shared interests" })).toBeFocused();
  await keys.press("Tab");
  await expect(alice.page.getByRole("combobox", { name: "Chat in" })).toBeFocused();
  // This server has no relay, so the privacy option is off and out of the way.
  await expect(
    alice.page.getByRole("checkbox", { name: "Hide my IP address in video chats" }),
  ).toBeDisabled();
  await keys.press("Tab");
  await expect(
    alice.page.getByRole("checkbox", { name: "Blur the stranger's video until I choose to see it" }),
  ).toBeFocused();
  await keys.press("Tab");
  await expect(alice.gate()).toBeFocused();
  await keys.press("Space");
  await expect(alice.gate()).toBeChecked();
  await keys.press("Tab");
  await expect(alice.page.getByRole("link", { name: "rules", exact: true })).toBeFocused();
  await keys.press("Tab");
  await expect(alice.page.getByRole("button", { name: "Text", exact: true })).toBeFocused();
  await keys.press("Enter");
  await expect(alice.status()).toHaveText(LOOKING);

  const bob = await Stranger.arrive(browser);
  opened.push(bob);
  await bob.start(["board games"]);
  await alice.expectChatting();
  // The message box takes the keys as soon as there is someone to talk to.
  await expect(alice.messageBox()).toBeFocused();
  await keys.type("hello from the keyboard");
  await keys.press("Enter");
  await expect(bob.log()).toContainText("Stranger: hello from the keyboard");
  await keys.press("Escape");
  await keys.press("Escape");
  await expect(bob.log()).toContainText("Stranger has disconnected.");
});

test("screenshots for the README", async ({ browser }) => {
  const visitor = await Stranger.arrive(browser, { viewport: { width: 900, height: 780 } });
  opened.push(visitor);
  await visitor.page.goto("/");
  const box = visitor.page.getByRole("textbox", { name: "What do you want to talk about?" });
  for (const interest of ["music", "chess", "travel"]) {
    await box.fill(interest);
    await box.press("Enter");
  }
  await expect(visitor.page.getByText(/strangers? online/)).toBeVisible();
  await visitor.page.screenshot({ path: "screenshots/landing.png" });
  await visitor.leave();
  opened.length = 0;

  const light = await conversation(browser, { viewport: { width: 900, height: 520 } });
  await light.page.screenshot({ path: "screenshots/chat.png" });
  await Promise.all(opened.map((s) => s.leave()));
  opened.length = 0;

  const dark = await conversation(browser, {
    colorScheme: "dark",
    viewport: { width: 900, height: 520 },
  });
  await dark.page.screenshot({ path: "screenshots/dark.png" });
  await Promise.all(opened.map((s) => s.leave()));
  opened.length = 0;

  const phone = await conversation(browser, PHONE);
  await phone.page.screenshot({ path: "screenshots/phone.png" });
  await Promise.all(opened.map((s) => s.leave()));
  opened.length = 0;

  // A network of its own: the report counts against the stranger's network,
  // which then passes the bot check for a while; the rest of the suite comes
  // from 127.0.0.1 and must not.
  const reporter = await conversation(browser, {
    viewport: { width: 900, height: 620 },
    extraHTTPHeaders: { "X-Forwarded-For": "203.0.113.160" },
  });
  await reporter.button("Report").click();
  const dialog = reporter.page.getByRole("dialog", { name: "Report this stranger" });
  await dialog.getByRole("radio", { name: "Harassment or hate" }).check();
  await reporter.page.screenshot({ path: "screenshots/report.png" });
  await dialog.getByRole("button", { name: "Send report" }).click();
  await expect(reporter.log()).toContainText("Thanks. Your report was sent.");

  const operator = await Stranger.arrive(browser, { viewport: { width: 900, height: 720 } });
  opened.push(operator);
  await operator.page.goto("/admin");
  await operator.page.getByLabel("Operator token").fill(ADMIN_TOKEN);
  await operator.page.getByRole("button", { name: "Sign in" }).click();
  await operator.page.getByRole("link", { name: "Reports" }).click();
  await expect(operator.page.getByText("Reported stranger: Lisbon, it's late here. You?").first()).toBeVisible();
  await operator.page.screenshot({ path: "screenshots/console.png" });
});

test("a video chat meets WCAG AA and is screenshotted for the README", async ({ browser }) => {
  const camera = { permissions: ["camera", "microphone"], viewport: { width: 1100, height: 620 } };
  const alice = await Stranger.arrive(browser, camera);
  const bob = await Stranger.arrive(browser, camera);
  opened.push(alice, bob);
  await alice.start(["film"], false, { mode: "video" });
  await expect(alice.status()).toHaveText(LOOKING);
  await bob.start(["film"], false, { mode: "video" });
  await alice.expectChatting();
  const remote = alice.page.getByLabel("The stranger's video");
  await expect.poll(() => remote.evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
  await bob.say("hey! nice to see a face");
  await expect(alice.log()).toContainText("Stranger: hey! nice to see a face");
  await alice.say("hi! what film did you see last?");
  await expectAccessible(alice.page);
  await alice.page.screenshot({ path: "screenshots/video.png" });
});
