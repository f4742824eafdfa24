import { test, expect } from "@playwright/test";
import { CHATTING, LOOKING, Stranger, onServer, pair, trackStrangers } from "./strangers";

const opened = trackStrangers();
function track<T extends Stranger[]>(...strangers: T): T {
  opened.push(...strangers);
  return strangers;
}

test("the landing page invites you to chat", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Strangers" })).toBeVisible();
  await expect(page.getByText("Talk to strangers!")).toBeVisible();
  await expect(page.getByRole("button", { name: "Text", exact: true })).toBeVisible();
});

test("two strangers are paired, chat both ways, and one stops", async ({ browser }) => {
  const [alice, bob] = track(...(await pair(browser)));

  await alice.say("hi there");
  await expect(bob.log()).toContainText("Stranger: hi there");
  await expect(alice.log()).toContainText("You: hi there");

  await bob.messageBox().fill("hello!");
  await bob.button("Send").click();
  await expect(alice.log()).toContainText("Stranger: hello!");
  await expect(bob.log()).toContainText("You: hello!");
  await expect(bob.messageBox()).toHaveValue("");

  // Messages keep their order.
  for (const n of [1, 2, 3, 4, 5]) await alice.say(`number ${n}`);
  await expect(bob.log().locator(".line.stranger")).toHaveText([
    "Stranger: hi there",
    "Stranger: number 1",
    "Stranger: number 2",
    "Stranger: number 3",
    "Stranger: number 4",
    "Stranger: number 5",
  ]);

  await alice.button("Stop").click();
  await expect(alice.button("Really?")).toBeVisible();
  await alice.button("Really?").click();
  await expect(alice.log()).toContainText("You have disconnected.");
  await expect(bob.log()).toContainText("Stranger has disconnected.");
  await expect(alice.button("New")).toBeVisible();
  await expect(bob.button("New")).toBeVisible();
  await expect(bob.messageBox()).toBeDisabled();

  // New starts a new search; the two meet again since nobody else is here.
  await alice.button("New").click();
  await expect(alice.status()).toHaveText(LOOKING);
  await expect(alice.log()).not.toContainText("You have disconnected.");
  await bob.button("New").click();
  await alice.expectChatting();
  await bob.expectChatting();
});

test("messages are shown as text, never as HTML", async ({ browser }) => {
  const [alice, bob] = track(...(await pair(browser)));
  await alice.say('<b>bold</b><img src=x onerror="document.title=\'pwned\'">');
  await expect(bob.log()).toContainText("Stranger: <b>bold</b><img src=x");
  await expect(bob.log().locator("b, img")).toHaveCount(0);
  expect(await bob.page.title()).not.toBe("pwned");
});

test("Enter sends, Shift+Enter makes a new line, blank and oversized messages are not sent", async ({
  browser,
}) => {
  const [alice, bob] = track(...(await pair(browser)));
  const box = alice.messageBox();

  await box.fill("line one");
  await box.press("Shift+Enter");
  await box.pressSequentially("line two");
  await box.press("Enter");
  const received = bob.log().locator(".line.stranger").last();
  await expect(received).toContainText("line one");
  expect(await received.locator(".text").textContent()).toBe("line one\nline two");

  await box.fill("   ");
  await box.press("Enter");
  await alice.say("after blank");
  await expect(bob.log().locator(".line.stranger")).toHaveCount(2);
  await expect(bob.log().locator(".line.stranger").last()).toHaveText("Stranger: after blank");

  await alice.say("x".repeat(2001));
  await expect(alice.log().locator(".line.error")).toHaveText(
    "Your message is too long (2,000 characters at most) and was not sent.",
  );
  await expect(box).toHaveValue("x".repeat(2001));
  await expect(bob.log().locator(".line.stranger")).toHaveCount(2);
});

test("closing the tab tells the stranger", async ({ browser }) => {
  const [alice, bob] = track(...(await pair(browser)));
  await alice.page.close();
  await expect(bob.log()).toContainText("Stranger has disconnected.");
  await expect(bob.button("New")).toBeVisible();
});

test("a refresh while waiting leaves no ghost", async ({ browser }) => {
  const [ghost] = track(await Stranger.arrive(browser));
  await ghost.start();
  await expect(ghost.status()).toHaveText(LOOKING);
  // The tab goes away while waiting: its place in the queue goes with it.
  await ghost.page.goto("/");
  await expect(ghost.page.getByText("Talk to strangers!")).toBeVisible();

  const [alice, bob] = track(...(await pair(browser)));
  await alice.say("are you real?");
  await expect(bob.log()).toContainText("Stranger: are you real?");
  await bob.say("yes");
  await expect(alice.log()).toContainText("Stranger: yes");
});

test("a refreshed chat page reconnects and finds the next stranger", async ({ browser }) => {
  const [alice] = track(await Stranger.arrive(browser));
  await alice.start();
  await expect(alice.status()).toHaveText(LOOKING);
  await alice.page.reload();
  await expect(alice.status()).toHaveText(LOOKING);

  const [bob] = track(await Stranger.arrive(browser));
  await bob.start();
  await bob.expectChatting();
  await expect(alice.status()).toHaveText(CHATTING);
  await bob.say("hi after refresh");
  await expect(alice.log()).toContainText("Stranger: hi after refresh");
});

test("the chat page connects while its code is still loading, and misses nothing the server said meanwhile", async ({
  browser,
}) => {
  const [alice] = track(await Stranger.arrive(browser));
  // Hold the WebAssembly back: the page cannot hydrate until it is let through.
  let letThrough!: () => void;
  const held = new Promise<void>((resolve) => (letThrough = resolve));
  await alice.page.route(/\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  const online = await onServer(alice.page, "strangers_online");
  await alice.page.goto("/chat?agreed=1", { waitUntil: "commit" });
  // Already connected (the server counts her) before any of the code has run.
  await expect.poll(() => onServer(alice.page, "strangers_online")).toBe(online + 1);
  await expect(alice.status()).toHaveText("Connecting to the server...");

  // Once it runs, the chat takes the welcome it missed, joins, and chats.
  letThrough();
  await expect(alice.status()).toHaveText(LOOKING);
  const [bob] = track(await Stranger.arrive(browser));
  await bob.start();
  await bob.expectChatting();
  await alice.expectChatting();
  await alice.say("connected early");
  await expect(bob.log()).toContainText("Stranger: connected early");
});
