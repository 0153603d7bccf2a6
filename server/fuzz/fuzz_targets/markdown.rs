//! The Markdown of event descriptions on any text: it never panics, the HTML it gives
//! carries no script (no script or style element, no event-handler attribute, no
//! javascript: or data: link), the same text renders the same way, and the plain summary
//! keeps to its length.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../../app/src/events/store/markdown.rs"]
mod markdown;

/// The tags of HTML whose text has every `<` escaped (as ammonia writes it).
fn tags(html: &str) -> impl Iterator<Item = &str> {
    html.split('<')
        .skip(1)
        .filter_map(|rest| rest.split_once('>').map(|(tag, _)| tag))
}

/// A tag's name and its attributes (name, value), quotes understood.
fn parse(tag: &str) -> (String, Vec<(String, String)>) {
    let tag = tag.trim_start_matches('/').trim_end_matches('/');
    let mut chars = tag.chars().peekable();
    let name: String = chars.by_ref().take_while(|c| !c.is_whitespace()).collect();
    let mut attributes = Vec::new();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut attribute = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            attribute.push(c);
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            match chars.peek() {
                Some(&quote) if quote == '"' || quote == '\'' => {
                    chars.next();
                    value = chars.by_ref().take_while(|&c| c != quote).collect();
                }
                _ => value = chars.by_ref().take_while(|c| !c.is_whitespace()).collect(),
            }
        }
        attributes.push((attribute.to_ascii_lowercase(), value));
    }
    (name.to_ascii_lowercase(), attributes)
}

/// The attributes whose value a browser follows, loads or submits to.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "srcset",
    "action",
    "formaction",
    "cite",
    "poster",
    "background",
    "xlink:href",
    "longdesc",
];

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let html = markdown::render_markdown(text);
    for tag in tags(&html) {
        let (name, attributes) = parse(tag);
        assert!(
            !matches!(
                name.as_str(),
                "script" | "style" | "iframe" | "object" | "embed" | "svg" | "math"
            ),
            "a <{name}> element in {html:?}"
        );
        for (attribute, value) in attributes {
            assert!(!attribute.starts_with("on"), "an event handler in {html:?}");
            // Only an attribute that the browser follows or loads is a link; a title or
            // an alt that reads "data:..." is text (ammonia keeps it, and rightly).
            if !URL_ATTRIBUTES.contains(&attribute.as_str()) {
                continue;
            }
            let value = value.trim().to_ascii_lowercase();
            assert!(
                !value.starts_with("javascript:") && !value.starts_with("data:"),
                "a script link in {html:?}"
            );
        }
    }
    assert_eq!(
        html,
        markdown::render_markdown(text),
        "the same text renders the same"
    );
    let summary = markdown::plain_summary(text, 160);
    assert!(summary.chars().count() <= 161, "a summary past its limit");
});
