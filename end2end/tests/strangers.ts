import { Browser, BrowserContext, Page, expect } from "@playwright/test";

export const LOOKING = "Looking for someone you can chat with...";
export const CHATTING = "You're now chatting with a random stranger. Say hi!";

/** A person in their own browser context (own cookies, own tab). */
export class Stranger {
  /** Uncaught errors on the page (a panic in the WebAssembly shows up here). */
  readonly errors: string[] = [];

  constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on("pageerror", (e) => this.errors.push(e.message));
  }

  static async arrive(browser: Browser): Promise<Stranger> {
    const context = await browser.newContext();
    return new Stranger(context, await context.newPage());
  }

  /** From the landing page, presses Start chatting and waits in the queue. */
  async start(): Promise<void> {
    await this.page.goto("/");
    await this.page.getByRole("button", { name: "Start chatting" }).click();
    await expect(this.page).toHaveURL(/\/chat/);
  }

  status() {
    return this.page.getByRole("status");
  }

  log() {
    return this.page.getByRole("log");
  }

  messageBox() {
    return this.page.getByRole("textbox", { name: "Message" });
  }

  button(name: string) {
    return this.page.getByRole("button", { name, exact: true });
  }

  async expectChatting(): Promise<void> {
    await expect(this.status()).toHaveText(CHATTING);
  }

  /** Types `text` and presses Enter. */
  async say(text: string): Promise<void> {
    await this.messageBox().fill(text);
    await this.messageBox().press("Enter");
  }

  async leave(): Promise<void> {
    await this.context.close();
  }
}

/** Two strangers who press Start one after the other and are paired. */
export async function pair(browser: Browser): Promise<[Stranger, Stranger]> {
  const a = await Stranger.arrive(browser);
  await a.start();
  await expect(a.status()).toHaveText(LOOKING);
  const b = await Stranger.arrive(browser);
  await b.start();
  await a.expectChatting();
  await b.expectChatting();
  return [a, b];
}
