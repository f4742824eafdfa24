// The on-device nudity check, off the page's main thread. The page sends
// frames of the stranger's video, already scaled to 224 x 224 (ImageBitmap,
// transferred, never copied anywhere else); this worker answers with the
// model's five class probabilities. Nothing leaves the browser.
//
// The model is nsfwjs's MobileNetV2 (classes: drawing, hentai, neutral, porn,
// sexy), run by TensorFlow.js on whichever backend is fastest here: WebGL on an
// OffscreenCanvas, WebAssembly, or plain JavaScript. All are copied into
// vendor/ at build time (classifier/build.mjs).
/* global tf */
"use strict";

importScripts("vendor/tf.min.js", "vendor/tf-backend-wasm.min.js");
tf.wasm.setWasmPaths("vendor/");

const SIZE = 224;
const CLASSES = ["drawing", "hentai", "neutral", "porn", "sexy"];
let model = null;

/** How long one prediction takes on the current backend, once warmed up (ms). */
async function timeOnePrediction() {
  const input = tf.zeros([1, SIZE, SIZE, 3]);
  for (let run = 0; run < 2; run++) {
    const began = performance.now();
    const output = model.predict(input);
    await output.data();
    output.dispose();
    if (run === 1) {
      input.dispose();
      return performance.now() - began;
    }
  }
}

/** Loads the model on `backend` from `artifacts`; how fast it runs there, or Infinity. */
async function tryBackend(backend, artifacts) {
  try {
    if (!(await tf.setBackend(backend))) return Infinity;
    await tf.ready();
    if (model) model.dispose();
    model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    return await timeOnePrediction();
  } catch (error) {
    return Infinity;
  }
}

async function start() {
  // Fetched once, whichever backend runs it.
  const artifacts = await tf.io.http("vendor/model.json").load();
  // WebAssembly first: predictable on any CPU. Where it is slow, WebGL (on an
  // OffscreenCanvas) may be fast, on a real GPU; plain JavaScript is the last
  // resort. Keep the fastest.
  const timings = {};
  timings.wasm = await tryBackend("wasm", artifacts);
  if (timings.wasm > 150 && typeof OffscreenCanvas !== "undefined") {
    timings.webgl = await tryBackend("webgl", artifacts);
  }
  if (Math.min(...Object.values(timings)) === Infinity) {
    timings.cpu = await tryBackend("cpu", artifacts);
  }
  const best = Object.keys(timings).sort((a, b) => timings[a] - timings[b])[0];
  if (timings[best] === Infinity) {
    postMessage({ failed: "no backend could run the model" });
    return;
  }
  if (tf.getBackend() !== best) await tryBackend(best, artifacts);
  postMessage({ ready: true, backend: best });
}

const started = start();

onmessage = async ({ data }) => {
  await started;
  const frame = data.frame;
  if (!model || !frame) {
    if (frame) frame.close();
    return;
  }
  const began = performance.now();
  try {
    const output = tf.tidy(() => {
      const pixels = tf.browser.fromPixels(frame).toFloat().div(255);
      const sized =
        pixels.shape[0] === SIZE && pixels.shape[1] === SIZE
          ? pixels
          : tf.image.resizeBilinear(pixels, [SIZE, SIZE], true);
      return model.predict(sized.reshape([1, SIZE, SIZE, 3]));
    });
    const probabilities = await output.data();
    output.dispose();
    const scores = {};
    CLASSES.forEach((name, i) => (scores[name] = probabilities[i]));
    postMessage({ scores, ms: performance.now() - began });
  } catch (error) {
    postMessage({ failed: String(error) });
  } finally {
    frame.close();
  }
};
