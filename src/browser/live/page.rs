//! Small things about the page: a per-browser id, the remembered age and
//! rules confirmation, downloading a text file, the tab's visibility and title.

use wasm_bindgen::JsCast;
use web_sys::HtmlAnchorElement;

/// Where the per-browser id is kept.
const BROWSER_ID_KEY: &str = "strangers.browser";

/// A random id shared by this browser's tabs (in `localStorage`), created on first
/// use. Its only purpose is that two tabs of one browser are never paired; it says
/// nothing about the person and nothing else is stored.
pub fn browser_id() -> Option<String> {
    let window = web_sys::window()?;
    let storage = window.local_storage().ok()??;
    if let Ok(Some(id)) = storage.get_item(BROWSER_ID_KEY)
        && (16..=64).contains(&id.len())
    {
        return Some(id);
    }
    let mut bytes = [0u8; 16];
    // getRandomValues works on plain http too, unlike crypto.randomUUID().
    window
        .crypto()
        .ok()?
        .get_random_values_with_u8_array(&mut bytes)
        .ok()?;
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    storage.set_item(BROWSER_ID_KEY, &id).ok()?;
    Some(id)
}

/// Offers `text` as a download named `file_name`. The file is made here, in the
/// browser; nothing goes to the server.
pub fn download_text(file_name: &str, text: &str) {
    let href = format!(
        "data:text/plain;charset=utf-8,{}",
        js_sys::encode_uri_component(text)
    );
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(link) = document.create_element("a") else {
        return;
    };
    let link: HtmlAnchorElement = link.unchecked_into();
    link.set_href(&href);
    link.set_download(file_name);
    link.click();
}

/// Whether the tab is in the background.
pub fn tab_hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}

/// Where this browser remembers that its person confirmed they are 18 or older
/// and agree to the rules.
const AGREED_KEY: &str = "strangers.agreed";

/// Whether this browser's person already confirmed their age and the rules.
pub fn agreed() -> bool {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|storage| storage.get_item(AGREED_KEY).ok().flatten())
        .is_some_and(|value| value == "1")
}

/// Remembers (or forgets) the confirmation in this browser.
pub fn remember_agreed(agreed: bool) {
    let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) else {
        return;
    };
    let _ = if agreed {
        storage.set_item(AGREED_KEY, "1")
    } else {
        storage.remove_item(AGREED_KEY)
    };
}

/// Sets the tab's title.
pub fn set_title(title: &str) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(title);
    }
}

/// Every value of `field` in the page's address (`?interests=a&interests=b`),
/// decoded.
pub fn address_values(field: &str) -> Vec<String> {
    let Some(search) = web_sys::window().and_then(|w| w.location().search().ok()) else {
        return Vec::new();
    };
    let Ok(query) = web_sys::UrlSearchParams::new_with_str(&search) else {
        return Vec::new();
    };
    query
        .get_all(field)
        .iter()
        .filter_map(|value| value.as_string())
        .collect()
}

/// What the server wrote into the page as `data-<name>` (on the first element
/// that has it).
pub fn page_data(name: &str) -> Option<String> {
    let document = web_sys::window()?.document()?;
    document
        .query_selector(&format!("[data-{name}]"))
        .ok()??
        .get_attribute(&format!("data-{name}"))
}
