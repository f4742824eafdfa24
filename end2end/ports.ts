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
