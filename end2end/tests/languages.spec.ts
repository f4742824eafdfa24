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

/** A stranger whose browser speaks Spanish, on the start page. */
async function spanishSpeaker(browser: Browser): Promise<Stranger> {
  const s = await Stranger.arrive(browser, { locale: "es-ES" });
  opened.push(s);
  await s.page.goto("/");
  await s.landed();
  return s;
}

test("a Spanish browser gets the pages and the chat in Spanish, and the footer switches back to English", async ({
  browser,
}) => {
  const a = await spanishSpeaker(browser);
  await expect(a.page.locator("html")).toHaveAttribute("lang", "es");
  await expect(a.page.getByText("¡Habla con desconocidos!")).toBeVisible();
  // What the start form says once it is alive comes from the page's words.
  const texto = a.page.getByRole("button", { name: "Texto", exact: true });
  await texto.click();
  await expect(a.page.getByText("Para empezar a chatear, marca primero la casilla")).toBeVisible();
  await a.page.getByRole("checkbox", { name: "Tengo 18 años o más y acepto las normas" }).check();
  await texto.click();
  await expect(a.status()).toHaveText("Buscando a alguien con quien puedas chatear...");

  const b = await spanishSpeaker(browser);
  await b.page.getByRole("checkbox", { name: "Tengo 18 años o más y acepto las normas" }).check();
  await b.page.getByRole("button", { name: "Texto", exact: true }).click();
  for (const s of [a, b]) {
    await expect(s.status()).toHaveText("Ya estás chateando con un desconocido al azar. ¡Saluda!");
    await expect(s.page.getByText("Los mensajes están cifrados de extremo a extremo.")).toBeVisible();
  }
  await b.page.getByRole("textbox", { name: "Mensaje" }).fill("hola");
  await b.page.getByRole("textbox", { name: "Mensaje" }).press("Enter");
  await expect(a.log()).toContainText("Desconocido: hola");
  await expect(b.log()).toContainText("Tú: hola");
  await a.page.screenshot({ path: "screenshots/spanish.png" });
  await b.button("Parar").click();
  await b.button("¿Seguro?").click();
  await expect(a.log()).toContainText("El desconocido se ha desconectado.");
  await expect(a.button("Nuevo")).toBeVisible();

  // Back to English from the start page's footer: that page, then every next one.
  await a.page.goto("/");
  await a.page.getByRole("navigation", { name: "Idioma" }).getByRole("link", { name: "English" }).click();
  await expect(a.page.locator("html")).toHaveAttribute("lang", "en");
  await expect(a.page.getByText("Talk to strangers!")).toBeVisible();
  await expect(a.page.getByRole("link", { name: "English" })).toHaveAttribute("aria-current", "page");
  await a.start();
  await expect(a.status()).toHaveText(LOOKING);
});

test("interests typed in capitals of any alphabet meet the same interests typed in lower case", async ({
  browser,
}) => {
  // The browser lowers the case with its own rules, the server checks with
  // Rust's: they must agree, or the join would be refused.
  const a = await Stranger.arrive(browser);
  const b = await Stranger.arrive(browser);
  opened.push(a, b);
  await a.start(["ÉTÉ", "ΟΔΥΣΣΕΥΣ"], true);
  await expect(a.status()).toHaveText(LOOKING);
  await b.start(["été", "οδυσσευς"], true);
  await a.expectChatting();
  await expect(a.log()).toContainText("You both like été and οδυσσευς.");
});
