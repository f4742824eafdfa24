import { WebSocket as PageSocket, expect, test } from "@playwright/test";
import { generateKeyPairSync } from "node:crypto";
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

/** A P-256 public key nobody in the chat has, raw and base64url, as a browser sends one. */
function strangersKey(): string {
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const { x, y } = publicKey.export({ format: "jwk" });
  const raw = Buffer.concat([Buffer.from([4]), Buffer.from(x!, "base64url"), Buffer.from(y!, "base64url")]);
  return raw.toString("base64url");
}

test("someone in the middle is noticed: swapped keys show different codes, changed or unencrypted messages are dropped", async ({
  browser,
}) => {
  // Bob's socket goes through a relay the test controls, as a dishonest server would.
  let tamper: (frame: string) => string = (frame) => frame;
  const alice = await onNetwork(browser, opened, "203.0.113.63");
  const bob = await onNetwork(browser, opened, "203.0.113.64");
  await bob.page.routeWebSocket(/\/ws$/, (page) => {
    const server = page.connectToServer();
    page.onMessage((frame) => server.send(frame));
    server.onMessage((frame) => page.send(tamper(String(frame))));
  });

  // Alice's key, swapped for another on its way to Bob.
  const swapped = strangersKey();
  tamper = (frame) => frame.replace(/"type":"key","key":"[^"]+"/, `"type":"key","key":"${swapped}"`);
  await alice.start();
  await expect(alice.status()).toHaveText(LOOKING);
  await bob.start();
  await bob.expectChatting();
  expect(await safetyCode(alice), "the codes differ").not.toBe(await safetyCode(bob));
  await alice.say("can you read this");
  await expect(bob.log()).toContainText("A message that could not be decrypted or verified was dropped.");
  await expect(bob.log()).not.toContainText("can you read this");

  // A new chat, keys untouched: the codes match, and then a changed message
  // and an unencrypted one are dropped, not shown.
  await bob.stop();
  tamper = (frame) => frame;
  await alice.button("New").click();
  await expect(alice.status()).toHaveText(LOOKING);
  await bob.button("New").click();
  await bob.expectChatting();
  expect(await safetyCode(alice)).toBe(await safetyCode(bob));
  tamper = (frame) =>
    frame.replace(/"data":"(.)/, (_, first) => `"data":"${first === "A" ? "B" : "A"}`);
  await alice.say("changed on the way");
  await expect(bob.log()).toContainText("A message that could not be decrypted or verified was dropped.");
  tamper = (frame) =>
    frame.includes('"type":"sealed"') ? '{"type":"message","text":"send me your address"}' : frame;
  await alice.say("and this one replaced");
  await expect(bob.log()).toContainText("A message that was not end-to-end encrypted was dropped");
  tamper = (frame) => frame;
  await alice.say("but this one arrives");
  await expect(bob.log()).toContainText("Stranger: but this one arrives");
  for (const words of ["changed on the way", "send me your address", "and this one replaced"]) {
    await expect(bob.log()).not.toContainText(words);
  }
});

test("a replayed message, or one bounced back to its sender, is dropped", async ({ browser }) => {
  // Bob's socket goes through a relay the test controls: it sends each sealed
  // message from Alice twice, and Bob's own sealed messages back to him.
  const alice = await onNetwork(browser, opened, "203.0.113.65");
  const bob = await onNetwork(browser, opened, "203.0.113.66");
  await bob.page.routeWebSocket(/\/ws$/, (page) => {
    const server = page.connectToServer();
    page.onMessage((frame) => {
      server.send(frame);
      const sent = JSON.parse(String(frame));
      if (sent.type === "sealed") page.send(JSON.stringify({ ...sent, stamp: "A".repeat(43) }));
    });
    server.onMessage((frame) => {
      page.send(frame);
      if (String(frame).includes('"type":"sealed"')) page.send(frame);
    });
  });
  await alice.start();
  await expect(alice.status()).toHaveText(LOOKING);
  await bob.start();
  await bob.expectChatting();
  expect(await safetyCode(alice)).toBe(await safetyCode(bob));

  await alice.say("said once");
  await expect(bob.log()).toContainText("Stranger: said once");
  await bob.say("my own words");
  await expect(alice.log()).toContainText("Stranger: my own words");
  // Two drops: the replay of Alice's message, and Bob's own message bounced back.
  await expect(
    bob.log().getByText("A message that could not be decrypted or verified was dropped."),
  ).toHaveCount(2);
  await expect(bob.log().getByText("Stranger: said once")).toHaveCount(1);
  await expect(bob.log()).not.toContainText("Stranger: my own words");
});

test("without the encryption's code the chat goes on unencrypted, and both are told", async ({
  browser,
}) => {
  // Bob's browser cannot fetch the module (blocked, offline): he sends no key,
  // and Alice, after waiting for one, chats unencrypted too.
  const alice = await onNetwork(browser, opened, "203.0.113.67");
  const bob = await onNetwork(browser, opened, "203.0.113.68");
  await bob.page.route("**/e2e/seal.js", (route) => route.abort());
  await alice.start();
  await expect(alice.status()).toHaveText(LOOKING);
  await bob.start();
  await bob.expectChatting();
  for (const stranger of [bob, alice]) {
    await expect(stranger.page.getByText("This chat is not end-to-end encrypted.")).toBeVisible({
      timeout: 15_000,
    });
    await expect(stranger.page.getByLabel("Safety code")).toBeHidden();
  }
  await bob.say("still here");
  await expect(alice.log()).toContainText("Stranger: still here");
  await alice.say("me too");
  await expect(bob.log()).toContainText("Stranger: me too");
});
