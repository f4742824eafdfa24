// Strangers' service worker: keeps the app shell of the release that served it,
// so the installed app opens at once (and says it is offline instead of a
// browser error page), and shows "Stranger found" when a chat page asks.
//
// It never touches the chat: the socket (/ws), the online count, the operator
// console, reports and anything else not listed below go to the network as if
// it were not here. The server fills in the constants in capitals (src/server/service_worker.rs).

/** The release these files belong to; a new release is a new worker. */
const RELEASE = __RELEASE__;
/** The built files (named by their content in a release build) and the favicon. */
const FILES = __FILES__;
/** Whether FILES never change under their names (a release build), so the cache may answer first. */
const IMMUTABLE = __IMMUTABLE__;
/**
 * The pages: answered from the network, and kept as they are visited (the
 * start page is enough to open the app offline) rather than fetched again at
 * install, which would add to a first visit.
 */
const PAGES = ["/", "/chat"];

const SHELL = "strangers-shell-";
const CACHE = SHELL + RELEASE;

self.addEventListener("install", (event) => {
  // The files come from the browser's HTTP cache: the page just loaded them.
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(FILES))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  // Only the current release is kept. Pages are asked for while the worker
  // starts, rather than after (navigation preload).
  event.waitUntil(
    Promise.resolve(self.registration.navigationPreload?.enable())
      .then(() => caches.keys())
      .then((names) =>
        Promise.all(
          names
            .filter((name) => name.startsWith(SHELL) && name !== CACHE)
            .map((name) => caches.delete(name)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(page(event, url));
  } else if (FILES.includes(url.pathname) && url.search === "") {
    event.respondWith(IMMUTABLE ? cachedFirst(request) : networkFirst(request, url.pathname));
  }
});

/**
 * A page from the network (asked for while the worker started: navigation
 * preload, where the browser has it). Offline, the app's pages answer with the
 * copy kept of them, or else of the start page. Only their plain addresses are
 * kept: a chat page's carries the person's interests.
 */
async function page(event, url) {
  const shell = PAGES.includes(url.pathname);
  try {
    const response = (await event.preloadResponse) || (await fetch(event.request));
    if (shell && response.ok && url.search === "") {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
    }
    return response;
  } catch (offline) {
    const kept = shell && ((await caches.match(url.pathname)) || (await caches.match("/")));
    return kept || Response.error();
  }
}

async function cachedFirst(request) {
  return (await caches.match(request)) || fetch(request);
}

async function networkFirst(request, path) {
  try {
    return await fetch(request);
  } catch (offline) {
    return (await caches.match(path)) || Response.error();
  }
}

// A chat page whose tab is in the background found a stranger. It sends
// "stranger-found", then the notification's title and text in the page's
// language, a line each.
self.addEventListener("message", (event) => {
  if (typeof event.data !== "string") return;
  const [kind, title, body] = event.data.split("\n");
  if (kind !== "stranger-found" || !title) return;
  event.waitUntil(
    self.registration.showNotification(title, {
      body: body || "",
      tag: "strangers-found",
      renotify: true,
      icon: "/icons/icon-192.png",
    }),
  );
});

// Clicking the notification brings back the chat that asked for it.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(
    self.clients.matchAll({ type: "window" }).then((windows) => {
      const chat = windows.find((w) => new URL(w.url).pathname === "/chat");
      return chat ? chat.focus() : self.clients.openWindow("/");
    }),
  );
});
