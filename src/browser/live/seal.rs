//! End-to-end encryption, the page's side. The keys, sealing and opening are
//! done by `public/e2e/seal.js` with the browser's own WebCrypto (ECDH on
//! P-256, HKDF, AES-GCM, HMAC for franking), a module the page adds when its
//! first chat is paired, so the first visit does not carry it. A page has one
//! chat at a time, so one encryption at a time: the functions here start,
//! feed and end it. What is asked before the module has loaded waits, in order.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
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
    /// Every callback takes one value (a text, or `null`), so the page
    /// carries one kind of callback for them all.
    #[wasm_bindgen(method)]
    fn start(
        this: &SealModule,
        send: &Closure<dyn FnMut(JsValue)>,
        agreed: &Closure<dyn FnMut(JsValue)>,
        heard: &Closure<dyn FnMut(JsValue)>,
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
struct Sealer {
    state: Rc<RefCell<SealState>>,
}

thread_local! {
    /// The current chat's encryption, if any. (Kept here rather than in the
    /// chat controller's reactive state, which would cost the bundle a copy of
    /// the reactive machinery for its type.)
    static CURRENT: RefCell<Option<Sealer>> = const { RefCell::new(None) };
}

/// Starts agreeing a key with the stranger just paired (loading the module
/// once per page) and sends this browser's public key through `events.send`;
/// the last chat's encryption, if any, stops.
pub fn seal_begin(events: SealEvents) {
    let sealer = Sealer::start(events);
    // Replaced outside the borrow: the old one's drop may run its callbacks' drops.
    let old = CURRENT.with(|current| current.replace(Some(sealer)));
    drop(old);
}

/// The stranger's public key arrived.
pub fn seal_meet(key: String) {
    ask(Step::Meet(key));
}

/// Seals `text` and sends it.
pub fn seal_say(text: String) {
    ask(Step::Say(text));
}

/// Opens a sealed message from the stranger.
pub fn seal_open(data: String, commitment: String, stamp: String) {
    ask(Step::Open(data, commitment, stamp));
}

/// Ends the current chat's encryption, if any.
pub fn seal_end() {
    let old = CURRENT.with(|current| current.take());
    drop(old);
}

fn ask(step: Step) {
    CURRENT.with(|current| {
        if let Some(sealer) = current.borrow().as_ref() {
            sealer.ask(step);
        }
    });
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

type Callbacks = [Closure<dyn FnMut(JsValue)>; 3];

impl Sealer {
    fn start(events: SealEvents) -> Sealer {
        let state = Rc::new(RefCell::new(SealState::default()));
        let starting = state.clone();
        super::spawn(async move {
            let module = modules::load(MODULE, GLOBAL)
                .await
                .map(JsCast::unchecked_into::<SealModule>);
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
                mut send,
                mut agreed,
                mut heard,
            } = events;
            let send =
                Closure::new(move |frame: JsValue| send(frame.as_string().unwrap_or_default()));
            let agreed = Closure::new(move |code: JsValue| agreed(code.as_string()));
            // "<proof> <text>": the proof has no spaces.
            let heard = Closure::new(move |opened: JsValue| {
                heard(opened.as_string().and_then(|opened| {
                    let (proof, text) = opened.split_once(' ')?;
                    Some((text.to_owned(), proof.to_owned()))
                }))
            });
            let handle = module.start(&send, &agreed, &heard);
            for step in std::mem::take(&mut state.waiting) {
                apply(&handle, step);
            }
            state.running = Some((handle, [send, agreed, heard]));
        });
        Sealer { state }
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
