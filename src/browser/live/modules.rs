//! The JavaScript modules the page adds only when they are needed (the video
//! call, the encryption), each by a `<script type="module">` that sets one
//! global when it has run.

use js_sys::{Promise, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// The module that set `global`, if it has run.
pub fn loaded(global: &str) -> Option<JsValue> {
    let module = Reflect::get(&js_sys::global(), &global.into()).ok()?;
    (!module.is_undefined()).then_some(module)
}

/// Adds the module at `src` (once per page), waits until it has run, and
/// hands over what it set as `global`.
pub async fn load(src: &str, global: &str) -> Option<JsValue> {
    if let Some(module) = loaded(global) {
        return Some(module);
    }
    let document = web_sys::window()?.document()?;
    // The element is named after the global, so a second caller waits for the
    // same one (not by it: an element's id is also a property of `window`).
    let id = format!("{global}-module");
    let script = match document.get_element_by_id(&id) {
        Some(script) => script,
        None => {
            let script = document.create_element("script").ok()?;
            script.set_id(&id);
            script.set_attribute("type", "module").ok()?;
            script.set_attribute("src", src).ok()?;
            document.head()?.append_child(&script).ok()?;
            script
        }
    };
    // A module script's `load` fires once it has run.
    let ran = Promise::new(&mut |resolve, reject| {
        let _ = script.add_event_listener_with_callback("load", &resolve);
        let _ = script.add_event_listener_with_callback("error", &reject);
    });
    if loaded(global).is_none() {
        JsFuture::from(ran).await.ok()?;
    }
    loaded(global)
}
