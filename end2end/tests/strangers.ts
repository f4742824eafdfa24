import { Browser, BrowserContext, Page, expect, test } from "@playwright/test";

export const LOOKING = "Looking for someone you can chat with...";
export const CHATTING = "You're now chatting with a random stranger. Say hi!";
export const GATE = "I am 18 or older and agree to the rules";

/** A person in their own browser context (own cookies, own tab). */
export class Stranger {
  /** Uncaught errors on the page (a panic in the WebAssembly shows up here). */
  readonly errors: string[] = [];

  constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on("pageerror", (e) => this.errors.push(e.message));
    // Anything the Content-Security-Policy blocked counts as an error too.
    page.on("console", (m) => {
      if (m.text().includes("Content Security Policy")) this.errors.push(m.text());
    });
  }

  static async arrive(
    browser: Browser,
    options: Parameters<Browser["newContext"]>[0] = {},
  ): Promise<Stranger> {
    const context = await browser.newContext(options);
    return new Stranger(context, await context.newPage());
  }

  /**
   * From the landing page, adds `interests`, ticks the options asked for, and
   * starts a text chat (or a video chat with `mode: "video"`).
   */
  async start(
    interests: string[] = [],
    onlyShared = false,
    {
      mode = "text",
      hideIp = false,
      fresh = true,
      blur = false,
    }: { mode?: "text" | "video"; hideIp?: boolean; fresh?: boolean; blur?: boolean } = {},
  ): Promise<void> {
    // `fresh: false` starts from the landing page as it is (options already set).
    if (fresh) await this.page.goto("/");
    await this.landed();
    const box = this.page.getByRole("textbox", { name: "What do you want to talk about?" });
    for (const interest of interests) {
      await box.fill(interest);
      await box.press("Enter");
      await expect(
        this.page.getByRole("button", { name: `Remove ${interest.toLowerCase()}` }),
      ).toBeVisible();
    }
    if (onlyShared) {
      await this.page.getByRole("checkbox", { name: "Only match on shared interests" }).check();
    }
    if (hideIp) {
      await this.page.getByRole("checkbox", { name: "Hide my IP address in video chats" }).check();
    }
    if (blur) {
      await this.page
        .getByRole("checkbox", { name: "Blur the stranger's video until I choose to see it" })
        .check();
    }
    await this.gate().check();
    await this.page.getByRole("button", { name: mode === "video" ? "Video" : "Text", exact: true }).click();
    await expect(this.page).toHaveURL(/\/chat/);
  }

  /** Waits until the landing page's start form has come alive (hydrated). */
  async landed(): Promise<void> {
    await expect(this.page.locator("form.start[data-hydrated]")).toBeAttached();
  }

  /** The landing page's "I am 18 or older and agree to the rules". */
  gate() {
    return this.page.getByRole("checkbox", { name: GATE });
  }

  /**
   * Reports the stranger through the dialog: picks `reason`, keeps or drops the
   * evidence, and sends. The chat ends.
   */
  async report(reason: string, { evidence = true }: { evidence?: boolean } = {}): Promise<void> {
    await this.button("Report").click();
    const dialog = this.page.getByRole("dialog", { name: "Report this stranger" });
    await dialog.getByRole("radio", { name: reason }).check();
    const include = dialog.getByRole("checkbox", { name: "Include the last messages of this chat" });
    if (evidence) await expect(include).toBeChecked();
    else await include.uncheck();
    await dialog.getByRole("button", { name: "Send report" }).click();
    await expect(dialog).toBeHidden();
    await expect(this.log()).toContainText("Thanks. Your report was sent.");
  }

  /** Presses Stop, then "Really?": the chat ends. */
  async stop(): Promise<void> {
    await this.button("Stop").click();
    await this.button("Really?").click();
    await expect(this.button("New")).toBeVisible();
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

/** Two strangers (each in a context made with `options`) who press Start one after the other and are paired. */
export async function pair(
  browser: Browser,
  options: Parameters<Browser["newContext"]>[0] = {},
): Promise<[Stranger, Stranger]> {
  const a = await Stranger.arrive(browser, options);
  await a.start();
  await expect(a.status()).toHaveText(LOOKING);
  const b = await Stranger.arrive(browser, options);
  await b.start();
  await a.expectChatting();
  await b.expectChatting();
  return [a, b];
}

/**
 * A stranger on a network of their own, tracked in `opened`: the suite's
 * servers trust one proxy hop, so `X-Forwarded-For` stands for the address a
 * real proxy would have seen. `baseURL`: another of the suite's servers.
 */
export async function onNetwork(
  browser: Browser,
  opened: Stranger[],
  address: string,
  baseURL?: string,
): Promise<Stranger> {
  const s = await Stranger.arrive(browser, {
    extraHTTPHeaders: { "X-Forwarded-For": address },
    ...(baseURL ? { baseURL } : {}),
  });
  opened.push(s);
  return s;
}

/**
 * The strangers a test opens. After each test of the file that calls this, they
 * are checked for errors on their pages and closed, so nobody is left waiting in
 * the server's queue for the next test's strangers.
 */
export function trackStrangers(): Stranger[] {
  const opened: Stranger[] = [];
  test.afterEach(async () => {
    for (const s of opened) expect(s.errors, "errors on the page").toEqual([]);
    await Promise.all(opened.map((s) => s.leave().catch(() => {})));
    opened.length = 0;
  });
  return opened;
}

/**
 * A figure from the server's `/metrics` (`name` as written there, labels
 * included): what the server itself counts, where a pause would only guess.
 */
export async function onServer(page: Page, name: string): Promise<number> {
  const metrics = await (await page.request.get("/metrics")).text();
  const line = metrics.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1]);
}

/** How many strangers the server has in its queue for `mode`, unpaired. */
export function waitingOnServer(page: Page, mode: "text" | "video"): Promise<number> {
  return onServer(page, `strangers_waiting{mode="${mode}"}`);
}
