// Copies the on-device nudity check into the site (public/classifier/vendor/):
// TensorFlow.js's browser build and its WebAssembly backend, and nsfwjs's MobileNetV2 model turned from the
// JavaScript bundles npm ships (weights as base64) into the model.json and
// binary weights file TensorFlow.js loads over HTTP, so the browser downloads
// 2.6 MB of weights rather than 3.5 MB of base64.
//
// Run by .ci/setup after `npm ci` here; it does nothing when the output is
// already there for these package versions.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const out = join(here, "..", "public", "classifier", "vendor");
const packages = ["nsfwjs", "@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"].map((name) => {
  const { version } = JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8"));
  return `${name}@${version}`;
});
const stamp = join(out, "VERSION");
const wanted = packages.join("\n") + "\n";
if (existsSync(stamp) && readFileSync(stamp, "utf8") === wanted) {
  console.log(`classifier: up to date (${packages.join(", ")})`);
  process.exit(0);
}
mkdirSync(out, { recursive: true });

/** What one of nsfwjs's UMD model bundles assigns to the global it names. */
function bundleValue(path) {
  const sandbox = { window: {} };
  vm.createContext(sandbox);
  vm.runInContext(readFileSync(path, "utf8"), sandbox);
  const [value] = Object.values(sandbox.window);
  return value;
}

const models = join(modules, "nsfwjs", "dist", "models", "mobilenet_v2");
const model = bundleValue(join(models, "model.min.js"));
const weights = Buffer.from(bundleValue(join(models, "group1-shard1of1.min.js")), "base64");
model.weightsManifest = model.weightsManifest.map((group) => ({ ...group, paths: ["weights.bin"] }));
writeFileSync(join(out, "model.json"), JSON.stringify(model));
writeFileSync(join(out, "weights.bin"), weights);
copyFileSync(join(modules, "@tensorflow", "tfjs", "dist", "tf.min.js"), join(out, "tf.min.js"));
// The WebAssembly backend, for devices without a GPU the browser will use:
// several times faster than the plain JavaScript one. (The threaded build
// needs cross-origin isolation, which the site does not have.)
const wasm = join(modules, "@tensorflow", "tfjs-backend-wasm", "dist");
for (const file of ["tf-backend-wasm.min.js", "tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm"]) {
  copyFileSync(join(wasm, file), join(out, file));
}
writeFileSync(stamp, wanted);
const sha = createHash("sha256").update(weights).digest("hex").slice(0, 16);
console.log(`classifier: wrote ${out} (${packages.join(", ")}; weights ${weights.length} bytes, sha256 ${sha}...)`);
