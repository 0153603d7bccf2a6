//! The island in the browser: the page's forms sent with `fetch` (see the crate's note).

use crate::sentence;
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
        // One request at a time per form: a second tap while the first is on its way
        // is not sent again.
        if form.has_attribute("data-sending") {
            return;
        }
        _ = form.set_attribute("data-sending", "");
        let submitter = event.submitter();
        spawn_local(async move {
            if submit(&form, submitter).await.is_err() {
                refused(&form, UNREACHABLE);
            }
            _ = form.remove_attribute("data-sending");
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
    let response = answer(window.fetch_with_str_and_init(&form.action(), &init)).await?;
    let body = text(&response).await?;
    if response.headers().has("serverfnredirect")? {
        // Only to a page of this site.
        if let Some(to) = response.headers().get("location")? {
            if to.starts_with('/') && !to.starts_with("//") {
                return window.location().assign(&to);
            }
        }
    }
    if !response.ok() {
        refused(form, &sentence(response.status(), &body));
        return Ok(());
    }
    let said = match Form::of(form) {
        Form::NewMetric => {
            if field_errors(form, &JSON::parse(&body)?)? {
                return Ok(());
            }
            None
        }
        Form::Log => {
            let said = JSON::parse(&body)?.as_string().unwrap_or_default();
            outcome(".log-outcome", "notice log-result", "status", &said)?;
            Some(said)
        }
        Form::Pin => None,
    };
    // Stored: a page that does not come back is said as such, not as a failure.
    match reload().await {
        Ok(()) => match said {
            Some(said) => outcome(".log-outcome", "notice log-result", "status", &said),
            None => Ok(()),
        },
        Err(_) => {
            let done = format!(
                "{} Reload the page to see it.",
                said.as_deref().unwrap_or("Done.")
            );
            match Form::of(form) {
                Form::Pin => outcome(".pin-outcome", "notice", "status", &done),
                _ => outcome(".log-outcome", "notice log-result", "status", &done),
            }
        }
    }
}

/// Fetches the page again and puts its content in place of the old.
async fn reload() -> Result<(), JsValue> {
    let window = web_sys::window().ok_or(JsValue::NULL)?;
    let document = window.document().ok_or(JsValue::NULL)?;
    let response = answer(window.fetch_with_str("/track")).await?;
    if !response.ok() {
        return Err(JsValue::NULL);
    }
    let html = text(&response).await?;
    let fresh = DomParser::new()?.parse_from_string(&html, SupportedType::TextHtml)?;
    let (Some(old), Some(new)) = (
        document.query_selector(".track")?,
        fresh.query_selector(".track")?,
    ) else {
        return Err(JsValue::NULL);
    };
    old.replace_with_with_node_1(&document.adopt_node(&new)?)?;
    mark_ready(&document);
    Ok(())
}

/// The response a `fetch` promised.
async fn answer(fetch: js_sys::Promise) -> Result<Response, JsValue> {
    JsFuture::from(fetch).await?.dyn_into()
}

/// A response's body, as text.
async fn text(response: &Response) -> Result<String, JsValue> {
    Ok(JsFuture::from(response.text()?)
        .await?
        .as_string()
        .unwrap_or_default())
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
