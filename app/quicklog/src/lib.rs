//! The quick log's island. `/track`, the page members open on their phones at the door of
//! a meetup, is sent as the server renders it with this small module instead of the app's
//! bundle (README, "Front-end weight"): the page's forms work as Leptos's `ActionForm`
//! makes them work on a hydrated page, and nothing else of the app is loaded.
//!
//! A form is sent with `fetch` to its server function, as the app's bundle sends it. Then:
//! - refused (4xx, 5xx): the sentence shows beside the form, and what was typed stays;
//! - sent on (a server function's redirect, such as a new metric's page): the browser goes;
//! - done: the page's content is fetched again and put in place of the old (the new
//!   value in "Recently" and on its card), with the answer ("Logged Mood: 7.") above
//!   the cards; a new metric's refused fields get their reasons beside them.
//!
//! Every text shown is set as text; the only markup inserted is the server's own page,
//! parsed by the browser (`DOMParser` runs no script).
//!
//! The classes and places are those of `app/src/track/pages.rs`, whose view this shares
//! with the app's bundle (a member who reaches `/track` by in-place navigation gets the
//! bundle's version): `.track`, `.log-form` and `.log-outcome`, `.pin-outcome`,
//! `.new-metric`.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    Document, DomParser, Element, FormData, Headers, HtmlElement, HtmlFormElement, Node,
    RequestInit, Response, SubmitEvent, SupportedType, UrlSearchParams,
};

/// Shown when the answer never came (no network at the door).
const UNREACHABLE: &str = "Could not reach Cohort: check your connection and try again.";

#[wasm_bindgen(start)]
pub fn start() {
    let Some(document) = web_sys::window().and_then(|window| window.document()) else {
        return;
    };
    let on_submit = Closure::<dyn FnMut(SubmitEvent)>::new(|event: SubmitEvent| {
        let Some(form) = event
            .target()
            .and_then(|target| target.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        // The quick log's own forms; the header's "Log out" stays a plain form post.
        if !matches!(form.closest(".track"), Ok(Some(_))) {
            return;
        }
        event.prevent_default();
        let submitter = event.submitter();
        spawn_local(async move {
            if submit(&form, submitter).await.is_err() {
                refused(&form, UNREACHABLE);
            }
        });
    });
    _ = document.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
    on_submit.forget();
    mark_ready(&document);
}

/// What the browser tests and the weight test wait for, as with the app's bundle.
fn mark_ready(document: &Document) {
    if let Ok(Some(track)) = document.query_selector(".track") {
        _ = track.set_attribute("data-hydrated", "true");
    }
    _ = Reflect::set(&js_sys::global(), &"__cohortHydrated".into(), &true.into());
}

/// Which of the page's forms this is.
enum Form {
    Log,
    Pin,
    NewMetric,
}

impl Form {
    fn of(form: &HtmlFormElement) -> Form {
        if form.class_list().contains("log-form") {
            Form::Log
        } else if matches!(form.closest(".new-metric"), Ok(Some(_))) {
            Form::NewMetric
        } else {
            Form::Pin
        }
    }
}

async fn submit(form: &HtmlFormElement, submitter: Option<HtmlElement>) -> Result<(), JsValue> {
    let window = web_sys::window().ok_or(JsValue::NULL)?;
    let data = FormData::new_with_form(form)?;
    // The button tapped is part of what is sent (a scale's "7", "Yes").
    if let Some(button) = submitter {
        if let Some(name) = button.get_attribute("name") {
            data.append_with_str(&name, &button.get_attribute("value").unwrap_or_default())?;
        }
    }
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&UrlSearchParams::new_with_str_sequence_sequence(&data)?.into());
    let headers = Headers::new()?;
    headers.set("Accept", "application/json")?;
    init.set_headers(&headers);
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(&form.action(), &init))
        .await?
        .dyn_into()?;
    let body = JsFuture::from(response.text()?)
        .await?
        .as_string()
        .unwrap_or_default();
    if response.headers().has("serverfnredirect")? {
        if let Some(to) = response.headers().get("location")? {
            return window.location().assign(&to);
        }
    }
    if !response.ok() {
        // A refusal's sentence, as the server functions send it.
        refused(form, body.strip_prefix("ServerError|").unwrap_or(&body));
        return Ok(());
    }
    match Form::of(form) {
        Form::NewMetric => {
            let errors = JSON::parse(&body)?;
            if !field_errors(form, &errors)? {
                reload().await?;
            }
        }
        Form::Log => {
            let said = JSON::parse(&body)?.as_string().unwrap_or_default();
            reload().await?;
            outcome(".log-outcome", "notice log-result", "status", &said)?;
        }
        Form::Pin => reload().await?,
    }
    Ok(())
}

/// Fetches the page again and puts its content in place of the old.
async fn reload() -> Result<(), JsValue> {
    let window = web_sys::window().ok_or(JsValue::NULL)?;
    let document = window.document().ok_or(JsValue::NULL)?;
    let response: Response = JsFuture::from(window.fetch_with_str("/track"))
        .await?
        .dyn_into()?;
    let html = JsFuture::from(response.text()?)
        .await?
        .as_string()
        .unwrap_or_default();
    let fresh = DomParser::new()?.parse_from_string(&html, SupportedType::TextHtml)?;
    if let (Some(old), Some(new)) = (
        document.query_selector(".track")?,
        fresh.query_selector(".track")?,
    ) {
        old.replace_with_with_node_1(&document.adopt_node(&new)?)?;
    }
    mark_ready(&document);
    Ok(())
}

/// A refusal's sentence, beside the form it refused; the form keeps what was typed.
fn refused(form: &HtmlFormElement, sentence: &str) {
    _ = match Form::of(form) {
        Form::Log => outcome(".log-outcome", "error log-result", "alert", sentence),
        Form::Pin => outcome(".pin-outcome", "error", "alert", sentence),
        Form::NewMetric => clear_errors(form).and_then(|()| {
            let p = paragraph("error", "alert", sentence)?;
            form.append_with_node_1(&p)
        }),
    };
}

/// Puts one sentence in the page's slot `selector`, in place of what was there.
fn outcome(selector: &str, class: &str, role: &str, text: &str) -> Result<(), JsValue> {
    let document = web_sys::window()
        .and_then(|window| window.document())
        .ok_or(JsValue::NULL)?;
    if let Some(slot) = document.query_selector(selector)? {
        slot.replace_children_with_node_1(&paragraph(class, role, text)?);
    }
    Ok(())
}

/// A new metric's refused fields, each reason after its field (as the app's bundle
/// shows them). False when nothing was refused.
fn field_errors(form: &HtmlFormElement, errors: &JsValue) -> Result<bool, JsValue> {
    clear_errors(form)?;
    let mut any = false;
    let fields: Array = Reflect::get(errors, &"fields".into())?.dyn_into()?;
    for pair in fields.iter() {
        let pair: Array = pair.dyn_into()?;
        let (Some(name), Some(reason)) = (pair.get(0).as_string(), pair.get(1).as_string()) else {
            continue;
        };
        // Field names are the form's own; anything else is not looked up.
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        if let Some(field) = form.query_selector(&format!("[name=\"{name}\"]"))? {
            field.after_with_node_1(&paragraph("field-error", "alert", &reason)?)?;
            any = true;
        }
    }
    if let Some(sentence) = Reflect::get(errors, &"form".into())?.as_string() {
        form.append_with_node_1(&paragraph("error", "alert", &sentence)?)?;
        any = true;
    }
    Ok(any)
}

fn clear_errors(form: &HtmlFormElement) -> Result<(), JsValue> {
    let old = form.query_selector_all(".field-error, .error")?;
    for i in 0..old.length() {
        if let Some(node) = old.item(i).and_then(|node| node.dyn_into::<Element>().ok()) {
            node.remove();
        }
    }
    Ok(())
}

fn paragraph(class: &str, role: &str, text: &str) -> Result<Node, JsValue> {
    let document = web_sys::window()
        .and_then(|window| window.document())
        .ok_or(JsValue::NULL)?;
    let p = document.create_element("p")?;
    p.set_class_name(class);
    p.set_attribute("role", role)?;
    p.set_text_content(Some(text));
    Ok(p.into())
}
