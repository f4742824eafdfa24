import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig, devices } from "@playwright/test";

import {
  ADMIN_TOKEN,
  BEHIND_CADDY_PORT,
  CADDY_HTTP_PORT,
  CADDY_HTTPS_PORT,
  CONTACT,
  PORT,
  REDIS_PORT,
  RELAY_SITE_PORT,
  SHARED_SITE_PORTS,
  TURN_PORT,
} from "./ports";

/** Shared by the relay and the instance that makes passwords for it. */
const TURN_SECRET = "end-to-end-relay-secret";

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
        // The pages follow the browser's language: the suite's is English
        // unless a test asks for another.
        locale: "en-US",
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
  webServer: [
    // The release build made by `cargo leptos build --release` (see .ci/test).
    strangersServer(PORT, {
      // Shorter than the 5 s default, so the fallback test is quick.
      STRANGERS_INTEREST_TIMEOUT_MS: "2000",
      // Every test's strangers come from 127.0.0.1, far more often than one
      // network's 60 new chats a minute.
      STRANGERS_NEW_CONNECTIONS_PER_MINUTE: "0",
      // The report test gives each stranger a network of their own this way.
      STRANGERS_TRUSTED_PROXY_HOPS: "1",
      STRANGERS_ADMIN_TOKEN: ADMIN_TOKEN,
      STRANGERS_CONTACT: CONTACT,
    }),
    // A second instance with a TURN relay, for video callers who hide their address.
    strangersServer(RELAY_SITE_PORT, {
      STRANGERS_NEW_CONNECTIONS_PER_MINUTE: "0",
      STRANGERS_ICE_SERVERS: JSON.stringify([{ urls: `turn:127.0.0.1:${TURN_PORT}` }]),
      STRANGERS_TURN_SECRET: TURN_SECRET,
    }),
    // Redis on a spare port (nothing saved), and two instances sharing matchmaking
    // through it; each waits for Redis, since the suite starts all servers at once.
    {
      command: `redis-server --port ${REDIS_PORT} --bind 127.0.0.1 --save '' --appendonly no`,
      port: REDIS_PORT,
      reuseExistingServer: false,
      timeout: 20_000,
      stdout: "ignore",
      stderr: "pipe",
    },
    ...SHARED_SITE_PORTS.map((port) => ({
      ...strangersServer(port, {
        STRANGERS_NEW_CONNECTIONS_PER_MINUTE: "0",
        STRANGERS_REDIS_URL: `redis://127.0.0.1:${REDIS_PORT}`,
      }),
      command: `bash -c 'until (exec 3<>/dev/tcp/127.0.0.1/${REDIS_PORT}) 2>/dev/null; do sleep 0.1; done; exec target/release/strangers'`,
    })),
    // The deploy kit as written: an instance behind Caddy with deploy/Caddyfile,
    // over TLS from Caddy's internal authority, on loopback ports.
    {
      ...strangersServer(BEHIND_CADDY_PORT, {
        STRANGERS_NEW_CONNECTIONS_PER_MINUTE: "0",
        STRANGERS_TRUSTED_PROXY_HOPS: "1",
        STRANGERS_ADMIN_TOKEN: ADMIN_TOKEN,
        // As deploy/strangers.env says: only the public name is served.
        STRANGERS_PUBLIC_ORIGIN: `https://localhost:${CADDY_HTTPS_PORT}`,
      }),
      // Asked by address, not by the public name: only the probes answer.
      url: `http://127.0.0.1:${BEHIND_CADDY_PORT}/healthz`,
    },
    {
      command: "caddy run --config ../deploy/Caddyfile --adapter caddyfile",
      url: `https://localhost:${CADDY_HTTPS_PORT}/healthz`,
      ignoreHTTPSErrors: true,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "ignore",
      stderr: "pipe",
      env: {
        ...process.env,
        STRANGERS_DOMAIN: "localhost",
        STRANGERS_UPSTREAM: `127.0.0.1:${BEHIND_CADDY_PORT}`,
        STRANGERS_CADDY_OPTIONS: [
          `http_port ${CADDY_HTTP_PORT}`,
          `https_port ${CADDY_HTTPS_PORT}`,
          "default_bind 127.0.0.1",
          "admin off",
          "local_certs",
          "skip_install_trust",
        ].join("\n"),
        // Caddy's certificates and state stay out of the machine's own.
        XDG_DATA_HOME: join(tmpdir(), `strangers-caddy-${CADDY_HTTPS_PORT}`, "data"),
        XDG_CONFIG_HOME: join(tmpdir(), `strangers-caddy-${CADDY_HTTPS_PORT}`, "config"),
      },
    },
    // coturn on loopback, checking the short-lived passwords that instance hands out.
    {
      command: [
        "turnserver -n --no-cli --no-tls --no-dtls --fingerprint",
        `--listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port=${TURN_PORT}`,
        "--min-port=49400 --max-port=49500 --allow-loopback-peers",
        `--use-auth-secret --static-auth-secret=${TURN_SECRET} --realm=strangers.test`,
        "--log-file=stdout --simple-log",
      ].join(" "),
      port: TURN_PORT,
      reuseExistingServer: false,
      timeout: 20_000,
      stdout: "ignore",
      stderr: "pipe",
    },
  ],
});

/** A Strangers server on `port` with `env` on top of the suite's defaults. */
export function strangersServer(port: number, env: Record<string, string>) {
  return {
    command: "target/release/strangers",
    cwd: "..",
    url: `http://127.0.0.1:${port}/`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe" as const,
    stderr: "pipe" as const,
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: "target/site",
      LEPTOS_ENV: "PROD",
      RUST_LOG: "warn",
      // Every browser of the suite connects from 127.0.0.1.
      STRANGERS_MAX_HTTP_CONNECTIONS_PER_ADDRESS: "0",
      ...env,
    },
  };
}
