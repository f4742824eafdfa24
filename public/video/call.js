// Video chats in the browser: the camera and microphone, the WebRTC call to
// the stranger, and the sampler that feeds the on-device nudity check.
//
// Plain JavaScript, fetched only when someone chooses Video (the page adds this
// module when it first needs it), so text chats never download it: in Rust the
// same work took a third of the WebAssembly bundle (BENCHMARKS.md, issue 17).
// The chat's rules stay in Rust: this module only carries out what the page
// asks, and reports back through the callbacks it is given.
//
// The server never sees the media. It only carries the call's setup steps
// (offer, answer, ICE candidates), as objects in the protocol's own shape.
"use strict";

/** The nudity check's worker; the model and its runtime load with it. */
const WORKER = "/classifier/worker.js";
/** The model's input size. */
const SIDE = 224;
/** How often, at most, a frame is checked; and how seldom, at least, on a slow device (ms). */
const FASTEST = 500;
const SLOWEST = 4000;
/** How often the sampler wakes up to see whether a frame is due (ms). */
const TICK = 100;

/**
 * Asks for the camera and microphone. Rejects with an Error whose name says
 * why: "Insecure" on a page not served over https (browsers then hide
 * `mediaDevices`), else the browser's own (NotAllowedError, NotFoundError, ...).
 */
async function startCamera() {
  if (!navigator.mediaDevices) {
    const error = new Error("camera needs https");
    error.name = "Insecure";
    throw error;
  }
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  return new Camera(stream);
}

/** The person's camera and microphone, on until `stop()`. */
class Camera {
  constructor(stream) {
    this.stream = stream;
  }

  /** Sends `kind`'s ("audio" or "video") sound or picture, or silence or black frames. */
  setOn(kind, on) {
    const tracks = kind === "audio" ? this.stream.getAudioTracks() : this.stream.getVideoTracks();
    for (const track of tracks) track.enabled = on;
  }

  /** Shows the camera in `video` (the person's own picture). */
  showIn(video) {
    return show(video, this.stream);
  }

  /** Turns the camera and microphone off (the camera light goes off). */
  stop() {
    for (const track of this.stream.getTracks()) track.stop();
  }
}

/**
 * Shows `stream` in `video` and starts playback. A browser that will not play
 * sound before the person has clicked on the page gets the video muted; resolves
 * to whether the sound is on.
 */
async function show(video, stream) {
  video.srcObject = stream;
  try {
    await video.play();
    return !video.muted;
  } catch {
    video.muted = true;
    try {
      await video.play();
    } catch {
      // Nothing more to try: the video stays paused.
    }
    return false;
  }
}

/** Stops showing anything in `video`. */
function clear(video) {
  video.srcObject = null;
}

/** Lets the person hear `video` after the browser blocked its sound. */
function unmute(video) {
  video.muted = false;
}

/**
 * A peer connection to the stranger, set up as the server described:
 * `setup` is `{ iceServers, offer, hideIp }` (with `hideIp`, only relayed routes
 * are used, so the stranger's browser never learns this person's address).
 * `send(signal)` passes a setup step to the server for the stranger; `onSound(on)`
 * says whether the stranger's sound plays; `onFailed()` runs if no route
 * between the two could be found.
 */
class Call {
  constructor(setup, camera, remote, send, onSound, onFailed) {
    this.send = send;
    this.peer = new RTCPeerConnection({
      iceServers: setup.iceServers,
      iceTransportPolicy: setup.hideIp ? "relay" : "all",
    });
    this.peer.onicecandidate = (event) => {
      // No candidate marks the end of gathering; the other side needs no word of it.
      const c = event.candidate;
      if (!c) return;
      const signal = { kind: "candidate", candidate: c.candidate };
      if (c.sdpMid !== null) signal.sdp_mid = c.sdpMid;
      if (c.sdpMLineIndex !== null) signal.sdp_m_line_index = c.sdpMLineIndex;
      this.send(signal);
    };
    this.peer.ontrack = (event) => {
      const stream = event.streams[0];
      if (stream) show(remote, stream).then(onSound);
    };
    this.peer.onconnectionstatechange = () => {
      if (this.peer.connectionState === "failed") onFailed();
    };
    for (const track of camera.stream.getTracks()) this.peer.addTrack(track, camera.stream);
    if (setup.offer) this.describe("offer");
  }

  /**
   * Applies a setup step from the stranger (`{ kind, ... }`). Each is handed to the
   * peer connection at once, in the order it came: the connection queues its
   * operations itself. A step that fails because the call ended, or a
   * candidate the browser cannot use, leaves nothing to do.
   */
  receive(signal) {
    if (signal.kind === "offer") {
      this.peer
        .setRemoteDescription({ type: "offer", sdp: signal.sdp })
        .then(() => this.describe("answer"), () => {});
    } else if (signal.kind === "answer") {
      this.peer.setRemoteDescription({ type: "answer", sdp: signal.sdp }).catch(() => {});
    } else if (signal.kind === "candidate") {
      this.peer
        .addIceCandidate({
          candidate: signal.candidate,
          sdpMid: signal.sdp_mid ?? null,
          sdpMLineIndex: signal.sdp_m_line_index ?? null,
        })
        .catch(() => {});
    }
  }

  /** Creates, applies and sends this side's offer or answer. A call closed meanwhile sends nothing. */
  async describe(kind) {
    try {
      const made = kind === "offer" ? await this.peer.createOffer() : await this.peer.createAnswer();
      await this.peer.setLocalDescription(made);
      if (this.peer.signalingState !== "closed") {
        this.send({ kind, sdp: made.sdp });
      }
    } catch {
      // The call ended meanwhile.
    }
  }

  /** Hangs up. */
  close() {
    this.peer.onicecandidate = null;
    this.peer.ontrack = null;
    this.peer.onconnectionstatechange = null;
    this.peer.close();
  }
}

/**
 * The on-device nudity check: a few times a second it scales a frame of the
 * stranger's `video` to 224 x 224 and hands it to the worker that runs the
 * model off the main thread. `judge(scores)` (the page's rule, in Rust) says
 * whether the scores mean nudity. No frame, score or verdict leaves the browser.
 *
 * For tests and the curious, `video` carries what the check last found:
 * `data-nudity-check` (loading, running, failed), `data-nudity-verdict`
 * (neutral, sexual), `data-nudity-checks`, `data-nudity-ms` and
 * `data-nudity-backend`.
 */
class NudityCheck {
  constructor(video, judge) {
    this.video = video;
    this.judge = judge;
    this.ready = false;
    this.busy = false;
    this.due = 0;
    this.every = FASTEST;
    this.checks = 0;
    this.worker = new Worker(WORKER);
    video.setAttribute("data-nudity-check", "loading");
    this.worker.onmessage = (event) => this.answered(event.data);
    this.sampler = setInterval(() => this.sample(), TICK);
  }

  /** Sends the worker the next frame, if one is due and the last is answered. */
  async sample() {
    const now = Date.now();
    if (!this.ready || this.busy || now < this.due || this.video.videoWidth === 0) return;
    this.busy = true;
    this.due = now + this.every;
    try {
      const frame = await createImageBitmap(this.video, {
        resizeWidth: SIDE,
        resizeHeight: SIDE,
        resizeQuality: "low",
      });
      this.worker.postMessage({ frame }, [frame]);
    } catch {
      this.busy = false;
    }
  }

  /** Takes in one answer of the worker. */
  answered(data) {
    const video = this.video;
    if (data.ready) {
      this.ready = true;
      video.setAttribute("data-nudity-check", "running");
      if (data.backend) video.setAttribute("data-nudity-backend", data.backend);
      return;
    }
    this.busy = false;
    if (!data.scores || typeof data.scores !== "object") {
      // The model could not load or run here: the video stays as it is.
      video.setAttribute("data-nudity-check", "failed");
      return;
    }
    const took = data.ms || 0;
    // A slow device checks less often rather than making the video stutter.
    if (took > this.every / 2) this.every = Math.min(this.every * 2, SLOWEST);
    else if (took < this.every / 8) this.every = Math.max(this.every / 2, FASTEST);
    this.checks += 1;
    const sexual = this.judge(data.scores);
    video.setAttribute("data-nudity-verdict", sexual ? "sexual" : "neutral");
    video.setAttribute("data-nudity-checks", String(this.checks));
    video.setAttribute("data-nudity-ms", took.toFixed(0));
  }

  /** Stops sampling and ends the worker. */
  stop() {
    clearInterval(this.sampler);
    this.worker.terminate();
  }
}

globalThis.strangersVideo = {
  startCamera,
  startCall: (setup, camera, remote, send, onSound, onFailed) =>
    new Call(setup, camera, remote, send, onSound, onFailed),
  startNudityCheck: (video, judge) => new NudityCheck(video, judge),
  clear,
  unmute,
};
