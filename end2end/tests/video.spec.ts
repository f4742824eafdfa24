import { BrowserContext, Page, expect, test } from "@playwright/test";
import { RELAY_SITE_PORT } from "../ports";
import { LOOKING, Stranger, trackStrangers, waitingOnServer } from "./strangers";

/**
 * Video chat in Chromium with its synthetic camera and microphone
 * (`--use-fake-device-for-media-stream`). Permission to use them is granted per
 * context, as a person would grant it.
 */

const opened = trackStrangers();
const CAMERA = { permissions: ["camera", "microphone"] };

/**
 * Lets the test look at what the page made: every peer connection and every
 * camera stream are noted on `window` as they are created. They are the
 * browser's own objects, untouched: the page uses them as it would anyway.
 */
async function observeMedia(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as any;
    w.__peers = [];
    w.__streams = [];
    const Native = w.RTCPeerConnection;
    w.RTCPeerConnection = class extends Native {
      constructor(...args: any[]) {
        super(...args);
        w.__peers.push(this);
      }
    };
    const devices = navigator.mediaDevices;
    const getUserMedia = devices.getUserMedia.bind(devices);
    devices.getUserMedia = async (constraints) => {
      const stream = await getUserMedia(constraints);
      w.__streams.push(stream);
      return stream;
    };
  });
}

/** The instance whose calls can go through a TURN relay (coturn on loopback). */
const RELAY_SITE = `http://127.0.0.1:${RELAY_SITE_PORT}`;

async function videoStranger(browser: any, site?: string): Promise<Stranger> {
  const s = await Stranger.arrive(browser, site ? { ...CAMERA, baseURL: site } : CAMERA);
  await observeMedia(s.context);
  opened.push(s);
  return s;
}

/** Video bytes received so far on the page's latest peer connection. */
async function bytesReceived(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const peers = (window as any).__peers as RTCPeerConnection[];
    const stats = await peers[peers.length - 1].getStats();
    let bytes = 0;
    stats.forEach((report: any) => {
      if (report.type === "inbound-rtp" && report.kind === "video") bytes += report.bytesReceived;
    });
    return bytes;
  });
}

/** The stranger's picture is showing and still arriving. */
async function expectStrangerVideo(page: Page): Promise<void> {
  const remote = page.getByLabel("The stranger's video");
  await expect
    .poll(() => remote.evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: 15_000 })
    .toBeGreaterThan(0);
  const before = await bytesReceived(page);
  expect(before).toBeGreaterThan(0);
  await expect.poll(() => bytesReceived(page), { timeout: 10_000 }).toBeGreaterThan(before);
}

/** Whether every camera and microphone track the page ever opened has ended. */
function allTracksEnded(page: Page): Promise<boolean> {
  return page.evaluate(() =>
    ((window as any).__streams as MediaStream[]).every((s) =>
      s.getTracks().every((t) => t.readyState === "ended"),
    ),
  );
}

function latestPeerState(page: Page): Promise<string> {
  return page.evaluate(() => {
    const peers = (window as any).__peers as RTCPeerConnection[];
    return peers[peers.length - 1].signalingState;
  });
}

test("two video strangers see each other and chat in text beside the video", async ({ browser }) => {
  const alice = await videoStranger(browser);
  await alice.start([], false, { mode: "video" });
  await expect(alice.status()).toHaveText(LOOKING);
  // Your own camera shows while you wait.
  await expect
    .poll(() => alice.page.getByLabel("Your camera").evaluate((v: HTMLVideoElement) => v.videoWidth))
    .toBeGreaterThan(0);

  const bob = await videoStranger(browser);
  await bob.start([], false, { mode: "video" });
  await alice.expectChatting();
  await bob.expectChatting();

  await expectStrangerVideo(alice.page);
  await expectStrangerVideo(bob.page);

  // Headless Chromium, like a browser the person has not clicked in yet, will
  // not start sound by itself: the video plays muted and a button offers the sound.
  const remote = alice.page.getByLabel("The stranger's video");
  await alice.button("Turn on the stranger's sound").click();
  await expect(alice.button("Turn on the stranger's sound")).toBeHidden();
  expect(await remote.evaluate((v: HTMLVideoElement) => v.muted)).toBe(false);

  await alice.say("can you see me?");
  await expect(bob.log()).toContainText("Stranger: can you see me?");
  await bob.say("yes, hello!");
  await expect(alice.log()).toContainText("Stranger: yes, hello!");
});

/** Alice waits for a video chat, Bob arrives, and they are in a call. */
async function videoCall(browser: any): Promise<[Stranger, Stranger]> {
  const alice = await videoStranger(browser);
  await alice.start([], false, { mode: "video" });
  await expect(alice.status()).toHaveText(LOOKING);
  const bob = await videoStranger(browser);
  await bob.start([], false, { mode: "video" });
  await bob.expectChatting();
  return [alice, bob];
}

test("Stop ends the call and turns the camera off; New finds another video stranger", async ({
  browser,
}) => {
  const [alice, bob] = await videoCall(browser);
  await expectStrangerVideo(alice.page);

  await alice.stop();
  await expect(bob.log()).toContainText("Stranger has disconnected.");
  for (const page of [alice.page, bob.page]) {
    await expect.poll(() => allTracksEnded(page)).toBe(true);
    await expect.poll(() => latestPeerState(page)).toBe("closed");
  }

  await alice.button("New").click();
  await expect(alice.status()).toHaveText(LOOKING);
  const carol = await videoStranger(browser);
  await carol.start([], false, { mode: "video" });
  await alice.expectChatting();
  await carol.expectChatting();
  await expectStrangerVideo(alice.page);
  await expectStrangerVideo(carol.page);
  // Bob pressed nothing: he was not put back in the queue.
  await expect(bob.button("New")).toBeVisible();
});

test("video strangers are never paired with text strangers", async ({ browser }) => {
  const texter = await Stranger.arrive(browser);
  opened.push(texter);
  await texter.start();
  await expect(texter.status()).toHaveText(LOOKING);

  const caller = await videoStranger(browser);
  await caller.start([], false, { mode: "video" });
  await expect(caller.status()).toHaveText(LOOKING);
  // Each waits in their own mode's queue, unpaired (a pairing is made when
  // the second joins, or never).
  await expect.poll(() => waitingOnServer(caller.page, "video")).toBe(1);
  await expect.poll(() => waitingOnServer(caller.page, "text")).toBe(1);
  await expect(caller.status()).toHaveText(LOOKING);
  await expect(texter.status()).toHaveText(LOOKING);
});

test("a denied camera is explained and text chat is offered instead", async ({ browser }) => {
  // No permission granted: the browser refuses the camera, as when a person clicks Block.
  const alice = await Stranger.arrive(browser);
  opened.push(alice);
  await alice.start([], false, { mode: "video" });
  await expect(alice.status()).toContainText("was not allowed to use them");
  await expect(alice.button("Try again")).toBeVisible();

  const bob = await Stranger.arrive(browser);
  opened.push(bob);
  await bob.start();
  await expect(bob.status()).toHaveText(LOOKING);

  await alice.button("Continue in text").click();
  await alice.expectChatting();
  await bob.expectChatting();
  await alice.say("text works");
  await expect(bob.log()).toContainText("Stranger: text works");
});

test("hiding the IP address without a relay server says so before anything starts", async ({
  browser,
}) => {
  const alice = await videoStranger(browser);
  await alice.page.goto("/chat?mode=video&hide_ip=1&agreed=1");
  await expect(alice.status()).toContainText("needs a relay (TURN) server");
  expect(await alice.page.evaluate(() => (window as any).__streams.length)).toBe(0);

  await alice.button("Video without hiding my IP address").click();
  await expect(alice.status()).toHaveText(LOOKING);
});

test("mute and camera off switch what the stranger gets", async ({ browser }) => {
  const alice = await videoStranger(browser);
  await alice.start([], false, { mode: "video" });
  await expect(alice.status()).toHaveText(LOOKING);
  const mute = alice.button("Mute");
  const cameraOff = alice.button("Camera off");
  await expect(mute).toHaveAttribute("aria-pressed", "false");
  await mute.click();
  await cameraOff.click();
  await expect(mute).toHaveAttribute("aria-pressed", "true");
  await expect(cameraOff).toHaveAttribute("aria-pressed", "true");
  const enabled = () =>
    alice.page.evaluate(() =>
      ((window as any).__streams as MediaStream[])
        .at(-1)!
        .getTracks()
        .map((t) => `${t.kind}:${t.enabled}`)
        .sort(),
    );
  expect(await enabled()).toEqual(["audio:false", "video:false"]);
  await mute.click();
  expect(await enabled()).toEqual(["audio:true", "video:false"]);
});

/** How bright the stranger's picture is on `page` now, 0 (black) to 255: one frame, drawn small. */
function brightness(page: Page): Promise<number> {
  return page.getByLabel("The stranger's video").evaluate((video: HTMLVideoElement) => {
    const canvas = document.createElement("canvas");
    canvas.width = 64;
    canvas.height = 48;
    const context = canvas.getContext("2d")!;
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let sum = 0;
    for (let i = 0; i < pixels.length; i += 4) sum += (pixels[i] + pixels[i + 1] + pixels[i + 2]) / 3;
    return sum / (pixels.length / 4);
  });
}

/** The sound energy that has arrived from the stranger on `page`'s latest call. */
function soundReceived(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const peers = (window as any).__peers as RTCPeerConnection[];
    const stats = await peers[peers.length - 1].getStats();
    let energy = 0;
    stats.forEach((report: any) => {
      if (report.type === "inbound-rtp" && report.kind === "audio") energy += report.totalAudioEnergy ?? 0;
    });
    return energy;
  });
}

/** How much sound energy arrives on `page` over two seconds. */
async function soundOverTwoSeconds(page: Page): Promise<number> {
  const before = await soundReceived(page);
  await page.waitForTimeout(2000);
  return (await soundReceived(page)) - before;
}

test("mute and camera off mid-call: the stranger gets black and silence, the call stays up", async ({
  browser,
}) => {
  const [alice, bob] = await videoCall(browser);
  await expectStrangerVideo(bob.page);
  // Chromium's test camera is a bright moving pattern, its test microphone a
  // beep (heard once Bob lets the page play sound).
  await bob.button("Turn on the stranger's sound").click();
  await expect.poll(() => brightness(bob.page), { timeout: 10_000 }).toBeGreaterThan(40);
  await expect.poll(() => soundOverTwoSeconds(bob.page), { timeout: 15_000 }).toBeGreaterThan(0);

  await alice.button("Camera off").click();
  await alice.button("Mute").click();
  await expect.poll(() => brightness(bob.page), { timeout: 10_000 }).toBeLessThan(5);
  await expect.poll(() => soundOverTwoSeconds(bob.page), { timeout: 15_000 }).toBe(0);
  // The call is still up: frames (black ones) still arrive, and the chat goes on.
  await expectStrangerVideo(bob.page);
  const state = await bob.page.evaluate(() => {
    const peers = (window as any).__peers as RTCPeerConnection[];
    return peers[peers.length - 1].connectionState;
  });
  expect(state).toBe("connected");
  await alice.say("brb, camera off");
  await expect(bob.log()).toContainText("Stranger: brb, camera off");

  await alice.button("Camera off").click();
  await alice.button("Mute").click();
  await expect.poll(() => brightness(bob.page), { timeout: 10_000 }).toBeGreaterThan(40);
  await expect.poll(() => soundOverTwoSeconds(bob.page), { timeout: 15_000 }).toBeGreaterThan(0);
});

/** The types of the ICE candidates of `kind` the page's latest call knows of. */
function candidateTypes(page: Page, kind: "local-candidate" | "remote-candidate"): Promise<string[]> {
  return page.evaluate(async (kind) => {
    const peers = (window as any).__peers as RTCPeerConnection[];
    const stats = await peers[peers.length - 1].getStats();
    const types = new Set<string>();
    stats.forEach((report: any) => {
      if (report.type === kind) types.add(report.candidateType);
    });
    return [...types].sort();
  }, kind);
}

test("Hide my IP address: the call goes through the relay and the stranger only sees the relay", async ({
  browser,
}) => {
  const alice = await videoStranger(browser, RELAY_SITE);
  await alice.page.goto("/");
  await expect(alice.page.getByText("The call goes through the server's relay")).toBeVisible();
  await alice.start([], false, { mode: "video", hideIp: true });
  await expect(alice.status()).toHaveText(LOOKING);
  // With a relay, hiding is ticked for everyone; Bob unticks it and is told what that means.
  const bob = await videoStranger(browser, RELAY_SITE);
  await bob.page.goto("/");
  const hide = bob.page.getByRole("checkbox", { name: "Hide my IP address in video chats" });
  await expect(hide).toBeChecked();
  await hide.uncheck();
  await expect(
    bob.page.getByText("Faster video, but the stranger's browser can learn your IP address."),
  ).toBeVisible();
  await bob.start([], false, { mode: "video", fresh: false });
  await expect(bob.page).toHaveURL(/mode=video/);
  expect(bob.page.url()).not.toContain("hide_ip");

  await expectStrangerVideo(alice.page);
  await expectStrangerVideo(bob.page);
  // Alice offered only relayed routes, so Bob never learned her address...
  expect(await candidateTypes(alice.page, "local-candidate")).toEqual(["relay"]);
  expect(await candidateTypes(bob.page, "remote-candidate")).toEqual(["relay"]);
  // ...while Bob, who did not ask for it, connected directly as usual.
  expect(await candidateTypes(bob.page, "local-candidate")).toContain("host");
});

test("with a relay, addresses are hidden by default: neither browser receives a route but the relay's", async ({
  browser,
}) => {
  const strangers = [
    await videoStranger(browser, RELAY_SITE),
    await videoStranger(browser, RELAY_SITE),
  ];
  const received: string[][] = [[], []];
  for (const [n, s] of strangers.entries()) {
    s.page.on("websocket", (ws) =>
      ws.on("framereceived", (frame) => received[n].push(String(frame.payload))),
    );
    await s.page.goto("/");
    await expect(
      s.page.getByRole("checkbox", { name: "Hide my IP address in video chats" }),
    ).toBeChecked();
    await s.start([], false, { mode: "video", fresh: false });
    if (n === 0) await expect(s.status()).toHaveText(LOOKING);
  }
  for (const s of strangers) await expectStrangerVideo(s.page);
  for (const [n, s] of strangers.entries()) {
    expect(await candidateTypes(s.page, "remote-candidate")).toEqual(["relay"]);
    const signals = received[n].filter((f) => f.includes('"type":"signal"'));
    expect(signals.length).toBeGreaterThan(0);
    for (const frame of signals) {
      const { signal } = JSON.parse(frame);
      const text: string = signal.sdp ?? signal.candidate ?? "";
      for (const line of text.split(/\r?\n/).filter((l) => /candidate:/.test(l))) {
        expect(line).toContain("typ relay");
      }
      // Connection lines name no address but the relay's (127.0.0.1 here) or none.
      for (const line of text.split(/\r?\n/).filter((l) => l.startsWith("c="))) {
        expect(line).toMatch(/^c=IN IP[46] (0\.0\.0\.0|::|127\.0\.0\.1)$/);
      }
    }
  }
});
