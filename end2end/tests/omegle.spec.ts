import { test, expect } from "@playwright/test";
import { CHATTING, LOOKING, Stranger, pair, trackStrangers, waitingOnServer } from "./strangers";

// What people came to Omegle for: interests, typing, Esc, the online count,
// no rematch, the saved log, and never meeting your own other tab.

const opened = trackStrangers();
async function arrive(browser: import("@playwright/test").Browser): Promise<Stranger> {
  const stranger = await Stranger.arrive(browser);
  opened.push(stranger);
  return stranger;
}

test("interests pair the right strangers and say what they share", async ({ browser }) => {
  const jazz = await arrive(browser);
  await jazz.start(["Chess", "jazz"], true);
  await expect(jazz.status()).toHaveText(LOOKING);
  const knitter = await arrive(browser);
  await knitter.start(["knitting"], true);
  await expect(knitter.status()).toHaveText(LOOKING);

  const fan = await arrive(browser);
  await fan.start(["go", "jazz", "chess"]);
  await fan.expectChatting();
  await jazz.expectChatting();
  await expect(fan.log()).toContainText("You both like jazz and chess.");
  await expect(jazz.log()).toContainText("You both like jazz and chess.");
  await expect(knitter.status()).toHaveText(LOOKING);

  const other = await arrive(browser);
  await other.start(["knitting"]);
  await other.expectChatting();
  await knitter.expectChatting();
  await expect(knitter.log()).toContainText("You both like knitting.");
});

test("with no shared interest, strangers are paired anyway after a few seconds", async ({ browser }) => {
  const a = await arrive(browser);
  await a.start(["astronomy"]);
  const b = await arrive(browser);
  await b.start(["cooking"]);
  await expect(b.status()).toHaveText(LOOKING);
  await a.expectChatting();
  await b.expectChatting();
  await expect(a.log()).not.toContainText("You both like");
});

test("Only match on shared interests keeps a stranger waiting past the fallback, for a shared interest", async ({
  browser,
}) => {
  const picky = await arrive(browser);
  await picky.start(["astronomy"], true);
  await expect(picky.status()).toHaveText(LOOKING);
  const anyone = await arrive(browser);
  await anyone.start();
  // Past the suite's 2-second fallback (playwright.config.ts), neither is
  // paired with the other: the ticked box holds.
  await anyone.page.waitForTimeout(3000);
  await expect(picky.status()).toHaveText(LOOKING);
  await expect(anyone.status()).toHaveText(LOOKING);

  // A stranger who shares the interest meets the picky one; one with none, the other.
  const stargazer = await arrive(browser);
  await stargazer.start(["Astronomy"]);
  await stargazer.expectChatting();
  await picky.expectChatting();
  await expect(picky.log()).toContainText("You both like astronomy.");
  await expect(anyone.status()).toHaveText(LOOKING);
  const another = await arrive(browser);
  await another.start();
  await another.expectChatting();
  await anyone.expectChatting();
});

test("Stranger is typing... appears and goes away", async ({ browser }) => {
  const [alice, bob] = await pair(browser);
  opened.push(alice, bob);
  const typing = bob.page.getByText("Stranger is typing...");
  await expect(typing).toHaveCount(0);

  await alice.messageBox().pressSequentially("hel");
  await expect(typing).toBeVisible();
  await alice.messageBox().pressSequentially("lo");
  await alice.messageBox().press("Enter");
  await expect(bob.log()).toContainText("Stranger: hello");
  await expect(typing).toHaveCount(0);

  // Typing, then a pause of a few seconds, also clears it.
  await alice.messageBox().pressSequentially("wait");
  await expect(typing).toBeVisible();
  await expect(typing).toHaveCount(0, { timeout: 8_000 });
});

test("Esc, Esc ends the chat and a third Esc starts a new search", async ({ browser }) => {
  const [alice, bob] = await pair(browser);
  opened.push(alice, bob);
  await alice.messageBox().focus();
  await alice.page.keyboard.press("Escape");
  await expect(alice.button("Really?")).toBeVisible();
  await expect(alice.status()).toHaveText(CHATTING);
  await alice.page.keyboard.press("Escape");
  await expect(alice.log()).toContainText("You have disconnected.");
  await expect(bob.log()).toContainText("Stranger has disconnected.");
  await expect(alice.button("New")).toBeVisible();
  await alice.page.keyboard.press("Escape");
  await expect(alice.status()).toHaveText(LOOKING);
});

test("the online count rises when a stranger arrives and falls when one leaves", async ({
  browser,
}) => {
  const [alice, bob] = await pair(browser);
  opened.push(alice, bob);
  await expect(alice.page.getByText("2 strangers online")).toBeVisible();

  const carol = await Stranger.arrive(browser);
  await carol.start();
  await expect(alice.page.getByText("3 strangers online")).toBeVisible();
  await expect(carol.page.getByText("3 strangers online")).toBeVisible();
  await carol.leave();
  await expect(alice.page.getByText("2 strangers online")).toBeVisible();
});

test("after a skip, the two who just met meet others first, even when one of them waited longer", async ({
  browser,
}) => {
  const [alice, bob] = await pair(browser);
  opened.push(alice, bob);
  // Alice skips (Esc, Esc, Esc) and is looking again; Bob is told.
  for (let i = 0; i < 3; i++) await alice.page.keyboard.press("Escape");
  await expect(bob.log()).toContainText("Stranger has disconnected.");
  await expect(alice.status()).toHaveText(LOOKING);
  // Carol looks too, from another tab of Alice's browser (so she and Alice
  // never meet each other and both stay in the queue, Alice first).
  const carol = new Stranger(alice.context, await alice.context.newPage());
  opened.push(carol);
  await carol.start();
  await expect(carol.status()).toHaveText(LOOKING);

  // Bob searches again: Alice has waited longest, but he just left her.
  await bob.button("New").click();
  await bob.expectChatting();
  await carol.expectChatting();
  await expect(alice.status()).toHaveText(LOOKING);
  await bob.say("are you someone new?");
  await expect(carol.log()).toContainText("Stranger: are you someone new?");
  await expect(alice.log()).not.toContainText("someone new");
});

test("Save log downloads the conversation", async ({ browser }) => {
  const [alice, bob] = await pair(browser);
  opened.push(alice, bob);
  await alice.say("hi, what's up?");
  await expect(bob.log()).toContainText("Stranger: hi, what's up?");
  await bob.say("not much <3");
  await expect(alice.log()).toContainText("Stranger: not much <3");
  await alice.stop();

  const download = alice.page.waitForEvent("download");
  await alice.button("Save log").click();
  const file = await download;
  expect(file.suggestedFilename()).toBe("strangers-chat.txt");
  const { readFile } = await import("node:fs/promises");
  const text = await readFile(await file.path(), "utf8");
  expect(text).toContain("You: hi, what's up?\nStranger: not much <3\nYou have disconnected.");
});

test("two tabs of one browser are never paired with each other", async ({ browser }) => {
  const context = await browser.newContext();
  const first = new Stranger(context, await context.newPage());
  const second = new Stranger(context, await context.newPage());
  opened.push(first, second);
  await first.start();
  await expect(first.status()).toHaveText(LOOKING);
  await second.start();
  await expect(second.status()).toHaveText(LOOKING);
  // Both are in the server's queue, unpaired (a pairing is made when the
  // second joins, or never).
  await expect.poll(() => waitingOnServer(first.page, "text")).toBe(2);
  await expect(first.status()).toHaveText(LOOKING);
  await expect(second.status()).toHaveText(LOOKING);

  const other = await arrive(browser);
  await other.start();
  await other.expectChatting();
  await first.expectChatting();
  await expect(second.status()).toHaveText(LOOKING);
});

test("a background tab shows new messages in its title until seen", async ({ browser }) => {
  const [alice, bob] = await pair(browser);
  opened.push(alice, bob);
  await expect(alice.page).toHaveTitle("Strangers");
  // Headless tabs are never hidden by themselves: tell the page it is.
  const setHidden = (hidden: boolean) =>
    alice.page.evaluate((hidden) => {
      Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
      // As browsers fire it: at the document, bubbling.
      document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
    }, hidden);
  await setHidden(true);
  await bob.say("are you there?");
  await expect(alice.page).toHaveTitle("(1) Strangers");
  await bob.say("hello??");
  await expect(alice.page).toHaveTitle("(2) Strangers");
  await setHidden(false);
  await expect(alice.page).toHaveTitle("Strangers");
});

test("the log follows new messages unless the reader scrolled up", async ({ browser }) => {
  const [alice, bob] = await pair(browser, { viewport: { width: 800, height: 400 } });
  opened.push(alice, bob);
  for (let i = 1; i <= 18; i++) await bob.say(`line ${i}`);
  await expect(alice.log()).toContainText("Stranger: line 18");
  const log = alice.log();
  const atBottom = () =>
    log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 2);
  await expect.poll(atBottom).toBe(true);

  await log.evaluate((el) => el.scrollTo(0, 0));
  await bob.say("line 19");
  await expect(alice.log()).toContainText("Stranger: line 19");
  expect(await log.evaluate((el) => el.scrollTop)).toBe(0);

  await log.evaluate((el) => el.scrollTo(0, el.scrollHeight));
  await bob.say("line 20");
  await expect(alice.log()).toContainText("Stranger: line 20");
  await expect.poll(atBottom).toBe(true);
});
