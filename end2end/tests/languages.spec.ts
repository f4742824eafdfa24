import { Browser, expect, test } from "@playwright/test";
import { LOOKING, Stranger, trackStrangers } from "./strangers";

/** "Chat in": a language to meet strangers in, preferred as a shared interest is. */

const opened = trackStrangers();

/**
 * A stranger who starts a text chat, chatting in `language` (its code), or in
 * any; with `onlyShared`, ticking "Only match on shared interests", which holds
 * for the language too.
 */
async function chatIn(browser: Browser, language?: string, onlyShared = false): Promise<Stranger> {
  const s = await Stranger.arrive(browser);
  opened.push(s);
  await s.page.goto("/");
  await s.landed();
  if (language) await s.page.getByRole("combobox", { name: "Chat in" }).selectOption(language);
  await s.start([], onlyShared, { fresh: false });
  return s;
}

test("two strangers who chat in French are paired over one who does not, and told so", async ({
  browser,
}) => {
  // The first waits for French only (the suite's servers wait for a shared
  // language or interest for a short while only), so the one who chats in any
  // language waits too, and the second French speaker meets the first.
  const french = await chatIn(browser, "fr", true);
  await expect(french.status()).toHaveText(LOOKING);
  const anyone = await chatIn(browser);
  await expect(anyone.status()).toHaveText(LOOKING);
  const alsoFrench = await chatIn(browser, "fr");
  await french.expectChatting();
  await alsoFrench.expectChatting();
  for (const s of [french, alsoFrench]) await expect(s.log()).toContainText("You both speak French.");
  await expect(anyone.status()).toHaveText(LOOKING);

  await alsoFrench.say("Bonjour !");
  await expect(french.log()).toContainText("Stranger: Bonjour !");
});
