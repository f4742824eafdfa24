import { Browser, BrowserContextOptions, expect, test } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { Stranger, trackStrangers } from "./strangers";

/**
 * Question mode: someone asks a question, two strangers who chose to discuss
 * questions discuss it, and the asker reads along without writing.
 */

const opened = trackStrangers();

const QUESTION = "Is a hot dog a sandwich?";

async function arrive(browser: Browser, options: BrowserContextOptions = {}) {
  const s = await Stranger.arrive(browser, options);
  opened.push(s);
  return s;
}

/** From the start page: asks `question`, or (without one) offers to discuss. */
async function questionMode(s: Stranger, question?: string) {
  await s.page.goto("/");
  await s.landed();
  await s.gate().check();
  if (question !== undefined) {
    await s.page.getByRole("textbox", { name: "Ask a question" }).fill(question);
    await s.button("Ask").click();
  } else {
    await s.button("Discuss questions").click();
  }
  await expect(s.page).toHaveURL(/\/chat/);
}

/** The asker (in a context made with `options`) and two discussers, seated. */
async function discussion(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<[Stranger, Stranger, Stranger]> {
  const asker = await arrive(browser, options);
  await questionMode(asker, QUESTION);
  await expect(asker.status()).toHaveText("Looking for two strangers to discuss your question...");
  const first = await arrive(browser);
  await questionMode(first);
  await expect(first.status()).toHaveText("Looking for a question to discuss...");
  const second = await arrive(browser);
  await questionMode(second);
  for (const discusser of [first, second]) {
    await expect(discusser.status()).toHaveText("You're discussing a question with a stranger. Say hi!");
    const banner = discusser.page.getByRole("region", { name: "The question" });
    await expect(banner).toContainText(QUESTION);
    await expect(banner).toContainText("Someone asked this and is reading along.");
  }
  await expect(asker.status()).toHaveText(
    "Two strangers are discussing your question. You are reading along.",
  );
  return [asker, first, second];
}

test("a question is discussed by two strangers while the asker reads along", async ({ browser }) => {
  const [asker, first, second] = await discussion(browser);
  await expect(asker.page.getByRole("region", { name: "The question" })).toContainText(QUESTION);
  // The asker reads: no message box to write in, nobody to report.
  await expect(asker.messageBox()).toBeDisabled();
  await expect(asker.messageBox()).toHaveAttribute(
    "placeholder",
    "You are reading along: only the two discussing can write.",
  );
  await expect(asker.button("Report")).toBeHidden();

  await first.say("Obviously not.");
  await expect(second.log()).toContainText("Stranger: Obviously not.");
  await expect(asker.log()).toContainText("Stranger 1: Obviously not.");
  await second.say("Bread around a filling: a sandwich.");
  await expect(first.log()).toContainText("Stranger: Bread around a filling: a sandwich.");
  await expect(asker.log()).toContainText("Stranger 2: Bread around a filling: a sandwich.");

  // Either discusser can leave: the other is told, and the asker sees who.
  await second.stop();
  await expect(first.log()).toContainText("Stranger has disconnected.");
  await expect(asker.log()).toContainText("Stranger 2 left. The discussion is over.");
  await expect(asker.button("New")).toBeVisible();
});

test("when the asker stops reading, the two discussers are told and chat on", async ({ browser }) => {
  const [asker, first, second] = await discussion(browser);
  await asker.stop();
  for (const discusser of [first, second]) {
    await expect(discusser.log()).toContainText("The person who asked stopped reading along.");
    await expect(discusser.page.getByRole("region", { name: "The question" })).toContainText(
      "They stopped reading along.",
    );
  }
  await first.say("Just us now.");
  await expect(second.log()).toContainText("Stranger: Just us now.");
});

test("Ask with no question is stopped by the browser, which says what is missing", async ({
  browser,
}) => {
  const asker = await arrive(browser);
  await asker.page.goto("/");
  await asker.landed();
  await asker.gate().check();
  await asker.button("Ask").click();
  const box = asker.page.getByRole("textbox", { name: "Ask a question" });
  await expect(box).toBeFocused();
  expect(await box.evaluate((el: HTMLTextAreaElement) => el.validity.valueMissing)).toBe(true);
  await expect(asker.page).not.toHaveURL(/\/chat/);
  // Only Ask needs a question: Text still starts a chat with the box empty.
  await asker.button("Text").click();
  await expect(asker.page).toHaveURL(/\/chat/);
});

test("the asker's page meets WCAG AA in both modes and is screenshotted for the README", async ({
  browser,
}) => {
  for (const colorScheme of ["dark", "light"] as const) {
    const [asker, first, second] = await discussion(browser, {
      colorScheme,
      viewport: { width: 900, height: 560 },
    });
    await first.say("Obviously not. A sandwich needs two slices.");
    await second.say("A hot dog bun is one slice, folded. Same thing.");
    await first.say("Then a taco is a sandwich too?");
    await expect(asker.log()).toContainText("Stranger 1: Then a taco is a sandwich too?");
    const results = await new AxeBuilder({ page: asker.page })
      .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
      .analyze();
    expect(results.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
    if (colorScheme === "light") await asker.page.screenshot({ path: "screenshots/question.png" });
    await Promise.all([asker, first, second].map((s) => s.leave()));
    opened.length = 0;
  }
});
