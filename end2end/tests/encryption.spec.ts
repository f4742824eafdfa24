import { WebSocket as PageSocket, expect, test } from "@playwright/test";
import { LOOKING, onNetwork, Stranger, trackStrangers } from "./strangers";
import { ADMIN_TOKEN } from "../ports";

// End-to-end encrypted text: the two browsers agree a key through the room,
// show the same safety code, and the server relays only ciphertext; a
// reported line still reaches the operator, verified by its franking proof.

const opened = trackStrangers();

/** Every frame `stranger`'s chat socket sends and receives from now on. */
function recordFrames(stranger: Stranger): string[] {
  const frames: string[] = [];
  const listen = (socket: PageSocket) => {
    socket.on("framesent", (frame) => frames.push(String(frame.payload)));
    socket.on("framereceived", (frame) => frames.push(String(frame.payload)));
  };
  stranger.page.on("websocket", listen);
  return frames;
}

/** The safety code `stranger` sees, once the keys are agreed. */
async function safetyCode(stranger: Stranger): Promise<string> {
  const code = stranger.page.getByLabel("Safety code");
  await expect(code).toHaveText(/^\d{3}( \d{3}){5}$/);
  return (await code.textContent()) ?? "";
}

test("two strangers see the same safety code and the server relays only ciphertext", async ({
  browser,
}) => {
  const alice = await onNetwork(browser, opened, "203.0.113.60");
  const bob = await onNetwork(browser, opened, "203.0.113.61");
  const aliceFrames = recordFrames(alice);
  const bobFrames = recordFrames(bob);
  await alice.start();
  await expect(alice.status()).toHaveText(LOOKING);
  await bob.start();
  await bob.expectChatting();

  for (const stranger of [alice, bob]) {
    await expect(
      stranger.page.getByText(
        "Messages are end-to-end encrypted. Compare this code with the stranger to be sure.",
      ),
    ).toBeVisible();
  }
  expect(await safetyCode(alice)).toBe(await safetyCode(bob));

  const secret = "the owl flies at midnight";
  await alice.say(secret);
  await expect(bob.log()).toContainText(`Stranger: ${secret}`);
  await bob.say("understood, über-secret ✓");
  await expect(alice.log()).toContainText("Stranger: understood, über-secret ✓");

  const frames = [...aliceFrames, ...bobFrames];
  expect(frames.some((f) => f.includes('"type":"sealed"'))).toBe(true);
  expect(frames.filter((f) => f.includes('"type":"key"'))).toHaveLength(4); // each sends one, each hears one
  for (const words of ["owl", "midnight", "understood", "über"]) {
    expect(frames.filter((f) => f.includes(words)), `"${words}" on the wire`).toEqual([]);
  }
  expect(frames.filter((f) => f.includes('"type":"message"'))).toEqual([]);
});

test("a reported encrypted line reaches the operator verified", async ({ browser }) => {
  const troll = await onNetwork(browser, opened, "198.51.100.90");
  const reporter = await onNetwork(browser, opened, "203.0.113.62");
  await troll.start();
  await expect(troll.status()).toHaveText(LOOKING);
  await reporter.start();
  await reporter.expectChatting();
  await safetyCode(reporter);
  await troll.say("show me your face or else");
  await expect(reporter.log()).toContainText("Stranger: show me your face or else");
  await reporter.say("no");
  await reporter.report("Harassment or hate");

  const operator = await onNetwork(browser, opened, "192.0.2.60");
  await operator.page.goto("/admin");
  await operator.page.getByLabel("Operator token").fill(ADMIN_TOKEN);
  await operator.page.getByRole("button", { name: "Sign in" }).click();
  await operator.page.getByRole("link", { name: "Reports" }).click();
  const report = operator.page.getByRole("region").filter({ hasText: "show me your face or else" });
  await expect(
    report.getByRole("listitem").filter({ hasText: "Reported stranger: show me your face or else" }),
  ).toContainText("(verified)");
  // The reporter's own line is only what their browser said.
  await expect(report.getByRole("listitem").filter({ hasText: "Reporter: no" })).not.toContainText(
    "(verified)",
  );
});
