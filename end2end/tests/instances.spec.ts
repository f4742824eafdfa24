import { test, expect } from "@playwright/test";
import { SHARED_SITE_PORTS } from "../ports";
import { LOOKING, Stranger, trackStrangers } from "./strangers";

/**
 * Two instances of the server sharing matchmaking through Redis, as behind a
 * load balancer: two browsers, each on its own instance, meet and chat.
 */

const opened = trackStrangers();
const [FIRST, SECOND] = SHARED_SITE_PORTS.map((port) => `http://127.0.0.1:${port}`);

async function strangerOn(browser: any, site: string): Promise<Stranger> {
  const s = await Stranger.arrive(browser, { baseURL: site });
  opened.push(s);
  return s;
}

test("strangers on two different instances are paired and chat", async ({ browser }) => {
  const alice = await strangerOn(browser, FIRST);
  const bob = await strangerOn(browser, SECOND);
  await alice.start();
  await expect(alice.status()).toHaveText(LOOKING);
  await bob.start();
  await alice.expectChatting();
  await bob.expectChatting();

  await alice.say("hello from the first instance");
  await expect(bob.log()).toContainText("Stranger: hello from the first instance");
  await bob.say("and hi from the second");
  await expect(alice.log()).toContainText("Stranger: and hi from the second");

  // Typing crosses too, and so does leaving.
  await bob.messageBox().pressSequentially("typ");
  await expect(alice.page.getByText("Stranger is typing...")).toBeVisible();
  await alice.stop();
  await expect(bob.log()).toContainText("Stranger has disconnected.");

  // Both count everyone on both instances.
  await expect(alice.page.getByText("2 strangers online")).toBeVisible();
});
