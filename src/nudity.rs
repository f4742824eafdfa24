//! The on-device nudity check, the page's side: a few times a second it scales
//! a frame of the stranger's video to 224 x 224 and hands it to a worker
//! (`public/classifier/worker.js`) that runs the model off the main thread; the
//! verdict goes to the chat page. No frame, score or verdict leaves the
//! browser. The worker, the model and the runtime are fetched only when this
//! starts, which is only in video mode.
//!
//! For tests and the curious, the stranger's `<video>` carries what the check
//! last found: `data-nudity-check` (`loading`, `running` or `failed`),
//! `data-nudity-verdict` (`neutral` or `sexual`), `data-nudity-checks` (how
//! many frames), `data-nudity-ms` (the last inference time) and
//! `data-nudity-backend` (`webgl` or `cpu`).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use js_sys::{Array, Reflect};
use leptos::leptos_dom::helpers::{IntervalHandle, set_interval_with_handle};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlVideoElement, ImageBitmapOptions, MessageEvent, ResizeQuality, Worker};

use crate::video_guard::Scores;

/// Where the worker is served from.
const WORKER: &str = "/classifier/worker.js";
/// The model's input size.
const SIDE: u32 = 224;
/// How often, at most, a frame is checked; and how seldom, at least, on a
/// device too slow for that.
const FASTEST: f64 = 500.0;
const SLOWEST: f64 = 4000.0;
/// How often the sampler wakes up to see whether a frame is due.
const TICK: Duration = Duration::from_millis(100);

/// A running check; dropping it stops the sampling and the worker.
pub struct NudityCheck {
    worker: Worker,
    sampler: IntervalHandle,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

/// What the sampler and the worker's answers share.
struct Pace {
    /// The worker has loaded the model.
    ready: Cell<bool>,
    /// A frame is with the worker.
    busy: Cell<bool>,
    /// When the next frame is due (ms since 1970).
    due: Cell<f64>,
    /// The current gap between frames (ms).
    every: Cell<f64>,
    /// Frames checked.
    checks: Cell<u32>,
}

impl NudityCheck {
    /// Starts checking `video` (the stranger's); `verdict` hears whether each
    /// checked frame may show nudity.
    pub fn start(
        video: HtmlVideoElement,
        verdict: impl Fn(bool) + 'static,
    ) -> Result<Self, JsValue> {
        let worker = Worker::new(WORKER)?;
        let _ = video.set_attribute("data-nudity-check", "loading");
        let pace = Rc::new(Pace {
            ready: Cell::new(false),
            busy: Cell::new(false),
            due: Cell::new(0.0),
            every: Cell::new(FASTEST),
            checks: Cell::new(0),
        });

        let on_message = {
            let (pace, video) = (pace.clone(), video.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                answered(&pace, &video, &event.data(), &verdict);
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));

        let sampler = {
            let (worker, pace) = (worker.clone(), pace.clone());
            set_interval_with_handle(move || sample(&worker, &video, &pace), TICK)?
        };
        Ok(NudityCheck {
            worker,
            sampler,
            _on_message: on_message,
        })
    }
}

impl Drop for NudityCheck {
    fn drop(&mut self) {
        self.sampler.clear();
        self.worker.terminate();
    }
}

/// Sends the worker the next frame, if one is due and the last is answered.
fn sample(worker: &Worker, video: &HtmlVideoElement, pace: &Rc<Pace>) {
    let now = js_sys::Date::now();
    if !pace.ready.get() || pace.busy.get() || now < pace.due.get() || video.video_width() == 0 {
        return;
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    let options = ImageBitmapOptions::new();
    options.set_resize_width(SIDE);
    options.set_resize_height(SIDE);
    options.set_resize_quality(ResizeQuality::Low);
    let Ok(bitmap) = window
        .create_image_bitmap_with_html_video_element_and_image_bitmap_options(video, &options)
    else {
        return;
    };
    pace.busy.set(true);
    pace.due.set(now + pace.every.get());
    let (worker, pace) = (worker.clone(), pace.clone());
    wasm_bindgen_futures::spawn_local(async move {
        let Ok(frame) = JsFuture::from(bitmap).await else {
            pace.busy.set(false);
            return;
        };
        let message = js_sys::Object::new();
        let _ = Reflect::set(&message, &"frame".into(), &frame);
        if worker
            .post_message_with_transfer(&message, &Array::of1(&frame))
            .is_err()
        {
            pace.busy.set(false);
        }
    });
}

/// Takes in one answer of the worker.
fn answered(pace: &Pace, video: &HtmlVideoElement, data: &JsValue, verdict: &impl Fn(bool)) {
    let field = |object: &JsValue, name: &str| Reflect::get(object, &name.into()).ok();
    if field(data, "ready").is_some_and(|ready| ready.is_truthy()) {
        pace.ready.set(true);
        let _ = video.set_attribute("data-nudity-check", "running");
        if let Some(backend) = field(data, "backend").and_then(|b| b.as_string()) {
            let _ = video.set_attribute("data-nudity-backend", &backend);
        }
        return;
    }
    pace.busy.set(false);
    let Some(scores) = field(data, "scores").filter(|s| s.is_object()) else {
        // The model could not load or run here: the video stays as it is.
        let _ = video.set_attribute("data-nudity-check", "failed");
        return;
    };
    let score = |name| field(&scores, name).and_then(|v| v.as_f64()).unwrap_or(0.0) as f32;
    let scores = Scores {
        drawing: score("drawing"),
        hentai: score("hentai"),
        neutral: score("neutral"),
        porn: score("porn"),
        sexy: score("sexy"),
    };
    let took = field(data, "ms").and_then(|v| v.as_f64()).unwrap_or(0.0);
    // A slow device checks less often rather than making the video stutter.
    let every = pace.every.get();
    if took > every / 2.0 {
        pace.every.set((every * 2.0).min(SLOWEST));
    } else if took < every / 8.0 {
        pace.every.set((every / 2.0).max(FASTEST));
    }
    let sexual = scores.is_sexual();
    pace.checks.set(pace.checks.get() + 1);
    let _ = video.set_attribute(
        "data-nudity-verdict",
        if sexual { "sexual" } else { "neutral" },
    );
    let _ = video.set_attribute("data-nudity-checks", &pace.checks.get().to_string());
    let _ = video.set_attribute("data-nudity-ms", &format!("{took:.0}"));
    verdict(sexual);
}
