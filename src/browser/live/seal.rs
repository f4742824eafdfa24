//! End-to-end encryption, the page's side. The keys, sealing and opening are
//! done by `public/e2e/seal.js` with the browser's own WebCrypto (ECDH on
//! P-256, HKDF, AES-GCM, HMAC for franking), a module the page adds when its
//! first chat is paired, so the first visit does not carry it. Here is the
//! handle the chat controller holds: what it asks before the module has
//! loaded waits, in order, and dropping it stops the encryption.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::modules;
use crate::browser::SealEvents;
use crate::protocol::ClientMessage;

/// Where the encryption module is served from.
const MODULE: &str = "/e2e/seal.js";
/// What it sets when it has run.
const GLOBAL: &str = "strangersSeal";

#[wasm_bindgen]
extern "C" {
    /// What `seal.js` exports, as `globalThis.strangersSeal`.
    type SealModule;
    #[wasm_bindgen(method)]
    fn start(
        this: &SealModule,
        send: &Closure<dyn FnMut(String)>,
        agreed: &Closure<dyn FnMut(Option<String>)>,
        heard: &Closure<dyn FnMut(Option<String>, Option<String>)>,
    ) -> SealHandle;

    /// `seal.js`'s Seal: one chat's encryption.
    type SealHandle;
    #[wasm_bindgen(method)]
    fn meet(this: &SealHandle, key: &str);
    #[wasm_bindgen(method)]
    fn say(this: &SealHandle, text: &str);
    #[wasm_bindgen(method)]
    fn open(this: &SealHandle, data: &str, commitment: &str, stamp: &str);
    #[wasm_bindgen(method)]
    fn close(this: &SealHandle);
}

/// What the controller asks of the encryption.
enum Step {
    Meet(String),
    Say(String),
    Open(String, String, String),
}

/// One chat's encryption, running while this value lives.
pub struct Sealer {
    state: Rc<RefCell<SealState>>,
}

#[derive(Default)]
struct SealState {
    /// The module's Seal and the callbacks it holds, once loaded.
    running: Option<(SealHandle, Callbacks)>,
    /// What was asked before then, in order.
    waiting: Vec<Step>,
    /// Dropped before the module loaded.
    stopped: bool,
    /// The module could not be loaded: the chat goes unencrypted.
    failed: Option<SealEvents>,
}

type Callbacks = (
    Closure<dyn FnMut(String)>,
    Closure<dyn FnMut(Option<String>)>,
    Closure<dyn FnMut(Option<String>, Option<String>)>,
);

impl Sealer {
    /// Starts agreeing a key with the stranger just paired: loads the module
    /// (once per page) and sends this browser's public key through `events.send`.
    pub fn start(events: SealEvents) -> Option<Sealer> {
        let state = Rc::new(RefCell::new(SealState::default()));
        let starting = state.clone();
        super::spawn(async move {
            let module = modules::load::<SealModule>(MODULE, GLOBAL).await;
            let mut state = starting.borrow_mut();
            if state.stopped {
                return;
            }
            let Some(module) = module else {
                // Without the module (blocked, offline): unencrypted, and said so.
                let mut events = events;
                (events.agreed)(None);
                state.failed = Some(events);
                for step in std::mem::take(&mut state.waiting) {
                    state.unsealed(step);
                }
                return;
            };
            let SealEvents {
                send,
                agreed,
                mut heard,
            } = events;
            let send = Closure::new(send);
            let agreed = Closure::new(agreed);
            let heard = Closure::new(move |text: Option<String>, proof: Option<String>| {
                heard(text.zip(proof));
            });
            let handle = module.start(&send, &agreed, &heard);
            for step in std::mem::take(&mut state.waiting) {
                apply(&handle, step);
            }
            state.running = Some((handle, (send, agreed, heard)));
        });
        Some(Sealer { state })
    }

    /// The stranger's public key arrived.
    pub fn meet(&self, key: String) {
        self.ask(Step::Meet(key));
    }

    /// Seals `text` and sends it.
    pub fn say(&self, text: String) {
        self.ask(Step::Say(text));
    }

    /// Opens a sealed message from the stranger.
    pub fn open(&self, data: String, commitment: String, stamp: String) {
        self.ask(Step::Open(data, commitment, stamp));
    }

    fn ask(&self, step: Step) {
        let mut state = self.state.borrow_mut();
        match &state.running {
            Some((handle, _)) => apply(handle, step),
            None if state.failed.is_some() => state.unsealed(step),
            None => state.waiting.push(step),
        }
    }
}

impl SealState {
    /// Carries out `step` without the module: messages go as they are, and
    /// sealed ones cannot be opened.
    fn unsealed(&mut self, step: Step) {
        let Some(events) = self.failed.as_mut() else {
            return;
        };
        match step {
            Step::Say(text) => (events.send)(ClientMessage::Message { text }.to_frame()),
            Step::Open(..) => (events.heard)(None),
            Step::Meet(_) => {}
        }
    }
}

fn apply(handle: &SealHandle, step: Step) {
    match step {
        Step::Meet(key) => handle.meet(&key),
        Step::Say(text) => handle.say(&text),
        Step::Open(data, commitment, stamp) => handle.open(&data, &commitment, &stamp),
    }
}

impl Drop for Sealer {
    fn drop(&mut self) {
        let mut state = self.state.borrow_mut();
        state.stopped = true;
        if let Some((handle, _)) = &state.running {
            handle.close();
        }
    }
}
