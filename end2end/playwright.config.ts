import { defineConfig, devices } from "@playwright/test";

/** The port the suite's own server listens on, apart from a developer's :3000. */
const PORT = Number(process.env.STRANGERS_E2E_PORT ?? 3100);

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  // Every test's strangers meet in the same server's queue: run one at a time so
  // strangers from different tests never meet.
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    trace: "retain-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        // Debian's Chromium: Playwright cannot download its own browser here.
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          args: [
            "--no-sandbox",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // A synthetic camera and microphone for the video tests. Permission
            // to use them is still asked for: a test's context grants it (or not).
            "--use-fake-device-for-media-stream",
          ],
        },
      },
    },
  ],
  // The release build made by `cargo leptos build --release` (see .ci/test).
  webServer: {
    command: "target/release/strangers",
    cwd: "..",
    url: `http://127.0.0.1:${PORT}/`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${PORT}`,
      LEPTOS_SITE_ROOT: "target/site",
      LEPTOS_ENV: "PROD",
      RUST_LOG: "warn",
      // Shorter than the 5 s default, so the fallback test is quick.
      STRANGERS_INTEREST_TIMEOUT_MS: "2000",
    },
  },
});
