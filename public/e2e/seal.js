// End-to-end encryption of a chat's messages, with message franking. The
// chat page adds this module when its first chat is paired (a first visit does
// not download it) and drives it from Rust (src/browser/live/seal.rs).
//
// Each chat: both browsers make a fresh ECDH key pair on P-256 and send the
// public half through the server ({"type":"key"}); each derives the same
// AES-GCM key (HKDF-SHA-256 over the shared secret, salted with both public
// keys) and the same safety code (from both public keys), which differs on the
// two screens if anyone in the middle swapped the keys. A message is sealed
// with AES-GCM, its sender's public key as additional data (so the server
// cannot bounce a message back to its sender), a counter (so it cannot replay
// one) and a fresh franking key; the server sees only the ciphertext and the
// franking commitment, HMAC-SHA-256(franking key, text), which it stamps. The
// recipient shows a message only if the commitment matches its text, and keeps
// key, commitment and stamp, so a report of it can be checked by the server
// (src/server/franking.rs).

const subtle = crypto.subtle;
const utf8 = new TextEncoder();
const text = new TextDecoder();
const CURVE = { name: "ECDH", namedCurve: "P-256" };
// How long to wait for the stranger's key before chatting unencrypted (their
// app may not offer one).
const KEY_WAIT_MS = 5000;

const base64url = (bytes) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const unbase64url = (value) =>
  Uint8Array.from(atob(value.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const join = (...parts) => {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
};
// The two public keys in one order both browsers agree on.
const ordered = (a, b) => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? [a, b] : [b, a];
  }
  return a.length <= b.length ? [a, b] : [b, a];
};
const hmac = async (key, data) => {
  const k = await subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await subtle.sign("HMAC", k, data));
};
// Six groups of three digits (about 60 bits) from the hash of both keys.
const safetyCode = (digest) => {
  let n = 0n;
  for (const byte of digest.subarray(0, 8)) n = (n << 8n) | BigInt(byte);
  const digits = (n % 10n ** 18n).toString().padStart(18, "0");
  return digits.match(/.../g).join(" ");
};

class Seal {
  constructor(send, agreed, heard) {
    this.send = send;
    this.agreed = agreed;
    this.heard = heard;
    this.closed = false;
    this.sent = 0;
    this.received = 0;
    this.met = new Promise((resolve) => (this.meet = resolve));
    // Sealing and opening happen one at a time, in the order asked.
    this.queue = Promise.resolve();
    this.ready = this.agree().catch(() => null);
  }

  // Sends this browser's key, waits for the stranger's, and derives the chat key.
  async agree() {
    const pair = await subtle.generateKey(CURVE, false, ["deriveBits"]);
    this.mine = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
    this.send(JSON.stringify({ type: "key", key: base64url(this.mine) }));
    const timer = setTimeout(() => this.meet(null), KEY_WAIT_MS);
    const offered = await this.met;
    clearTimeout(timer);
    let key = null;
    let code = null;
    try {
      this.theirs = unbase64url(offered);
      const publicKey = await subtle.importKey("raw", this.theirs, CURVE, false, []);
      const secret = await subtle.deriveBits({ name: "ECDH", public: publicKey }, pair.privateKey, 256);
      const salt = new Uint8Array(await subtle.digest("SHA-256", join(...ordered(this.mine, this.theirs))));
      const material = await subtle.importKey("raw", secret, "HKDF", false, ["deriveKey"]);
      key = await subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt, info: utf8.encode("strangers chat v1") },
        material,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      );
      code = safetyCode(salt);
    } catch {
      key = null; // no key offered in time, or not one that works: unencrypted
    }
    if (!this.closed) this.agreed(code);
    return key;
  }

  // Seals and sends `message` (or sends it as it is, with no key agreed).
  say(message) {
    this.queue = this.queue.then(async () => {
      const key = await this.ready;
      if (this.closed) return;
      if (!key) {
        this.send(JSON.stringify({ type: "message", text: message }));
        return;
      }
      const words = utf8.encode(message);
      const franking = crypto.getRandomValues(new Uint8Array(32));
      const commitment = await hmac(franking, words);
      const counter = new Uint8Array(4);
      new DataView(counter.buffer).setUint32(0, ++this.sent);
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = await subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: this.mine },
        key,
        join(counter, franking, words),
      );
      if (this.closed) return;
      this.send(
        JSON.stringify({
          type: "sealed",
          data: base64url(join(iv, new Uint8Array(sealed))),
          commitment: base64url(commitment),
        }),
      );
    });
  }

  // Opens a sealed message from the stranger; every one is answered, with the
  // text and its franking proof, or with nothing if it fails.
  open(data, commitment, stamp) {
    this.queue = this.queue.then(async () => {
      let opened = null;
      try {
        const key = await this.ready;
        const bytes = unbase64url(data);
        const plain = new Uint8Array(
          await subtle.decrypt(
            { name: "AES-GCM", iv: bytes.subarray(0, 12), additionalData: this.theirs },
            key,
            bytes.subarray(12),
          ),
        );
        const counter = new DataView(plain.buffer).getUint32(0);
        const franking = plain.subarray(4, 36);
        const words = plain.subarray(36);
        if (counter > this.received && base64url(await hmac(franking, words)) === commitment) {
          this.received = counter;
          // The proof, a space, the text: one value for the page.
          opened = `${base64url(franking)}.${commitment}.${stamp} ${text.decode(words)}`;
        }
      } catch {
        opened = null; // not sealed for this chat, or tampered with
      }
      if (!this.closed) this.heard(opened);
    });
  }

  close() {
    this.closed = true;
    this.meet(null);
  }
}

globalThis.strangersSeal = {
  start: (send, agreed, heard) => new Seal(send, agreed, heard),
};
