/** Where the suite's servers listen, apart from a developer's :3000. */

/** The main Strangers instance (no relay). */
export const PORT = Number(process.env.STRANGERS_E2E_PORT ?? 3100);
/** A second instance whose video calls can go through a TURN relay. */
export const RELAY_SITE_PORT = PORT + 1;
/** That relay: coturn on loopback. */
export const TURN_PORT = PORT + 34000;
/** A server the restart test starts and stops itself. */
export const RESTART_PORT = PORT + 2;
/** Two instances sharing matchmaking through Redis, and that Redis. */
export const SHARED_SITE_PORTS = [PORT + 3, PORT + 4];
export const REDIS_PORT = PORT + 34100;
/** Caddy in front of an instance of its own, over TLS (its internal authority). */
export const CADDY_HTTPS_PORT = PORT + 5343;
export const CADDY_HTTP_PORT = PORT + 5380;
/** The instance behind Caddy. */
export const BEHIND_CADDY_PORT = PORT + 5;
/** A server the bot-check test starts itself, asking everyone for the check. */
export const BOT_CHECK_PORT = PORT + 6;

/** The operator console's token on the suite's servers. */
export const ADMIN_TOKEN = "end-to-end-operator-token";
/** The contact the main instance publishes. */
export const CONTACT = "abuse@strangers.test";
