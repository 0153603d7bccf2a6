//! Text for the few HTML sinks that Leptos writes raw.
//!
//! Leptos escapes text children and attribute values, with two exceptions that matter here:
//! `leptos_meta` writes the page title into `<title>` as it is (0.8.7), and tachys writes
//! the children of `<textarea>` (like `<script>` and `<style>`) unescaped. Every title and
//! every textarea's content therefore passes through this module; `tests::sinks_go_through_html`
//! fails when a page writes to either sink another way.
//!
//! Escaping happens on the server only: in the browser the same text is set through the DOM
//! (`document.title`, text nodes), which needs no escaping and would show the entities.

use std::borrow::Cow;

/// Escapes the five characters that can end a text or attribute context.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Text as the server must write it into a raw sink, as the browser must set it: escaped
/// in the server's HTML, unchanged in the browser.
fn for_raw_sink(text: String) -> String {
    if cfg!(feature = "ssr") {
        escape(&text).into_owned()
    } else {
        text
    }
}

/// The content of a `<textarea>`: `<textarea>{html::textarea_text(body)}</textarea>`.
pub fn textarea_text(text: String) -> String {
    for_raw_sink(text)
}

/// The document title for a page: "Page · Cohort". The one formatter that the app's
/// `<Title>`s use, each given beside its text (`<Title formatter=crate::html::page_title
/// text=…>`): a formatter alone, in the shell, would blank the browser's title from the
/// shell's hydration until the page's (leptos_meta shows nothing without a text).
pub fn page_title(page: String) -> String {
    let title = if page.is_empty() {
        "Cohort".to_string()
    } else {
        format!("{page} · Cohort")
    };
    for_raw_sink(title)
}

/// HTML that Leptos rendered on the server from the app's own components ([`render`]), so
/// every text in it was escaped by construction; a page shows it with
/// `inner_html=x.rendered_html()` (the sink check below allows no other raw HTML than the
/// Markdown sanitiser's `body_html`). For parts of a page that never change once loaded
/// (a meetup's frozen figures, a talk's frozen insight with its chart): the browser gets
/// them drawn and needs no code of its own to draw them, which keeps their components out
/// of the page's wasm.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Rendered(String);

impl Rendered {
    pub fn rendered_html(&self) -> String {
        self.0.clone()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An error's sentence as a paragraph, escaped here (it may quote what was sent).
    pub fn text_error(sentence: String) -> Rendered {
        Rendered(format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(&sentence)
        ))
    }
}

/// Renders a view to HTML on the server, in a reactive owner of its own.
///
/// Server only, as are the components that only it draws (`#[cfg(feature = "ssr")]` on
/// each): an erased component is reached through the wasm function table, so one merely
/// compiled into the browser's code would weigh on every page.
#[cfg(feature = "ssr")]
pub fn render<V>(view: impl FnOnce() -> V) -> Rendered
where
    V: leptos::tachys::view::RenderHtml,
{
    let owner = leptos::prelude::Owner::new();
    // Without the empty comments that mark where hydration would look for a child: this
    // HTML is never hydrated. (Escaped text holds no `<`, so only markers match.)
    Rendered(owner.with(|| view().to_html()).replace("<!>", ""))
}

/// The Content-Security-Policy of a page: scripts only from this site and with this
/// response's nonce (Leptos puts it on its hydration and resource scripts), wasm compiled
/// by the browser (`'wasm-unsafe-eval'` allows WebAssembly, not `eval`), no inline styles,
/// no plugins, no framing, forms posted only here. `dev` adds the live-reload socket.
#[cfg(feature = "ssr")]
pub fn content_security_policy(nonce: &str, dev: bool) -> String {
    let connect = if dev { "'self' ws: wss:" } else { "'self'" };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' https: data:; connect-src {connect}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Sends the page's Content-Security-Policy with the nonce Leptos made for this response.
/// Called by the document shell, so every rendered page (the 404 page included) has it.
#[cfg(feature = "ssr")]
pub fn send_page_policy(options: &leptos::config::LeptosOptions) {
    use leptos::prelude::use_context;
    let (Some(response), Some(nonce)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        leptos::nonce::use_nonce(),
    ) else {
        return;
    };
    let dev = options.env == leptos::config::Env::DEV;
    if let Ok(value) = http::HeaderValue::from_str(&content_security_policy(&nonce, dev)) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn escape_leaves_plain_text_alone_and_defuses_markup() {
        assert!(matches!(escape("Meetup v1.3"), Cow::Borrowed(_)));
        assert_eq!(
            escape(r#"X</title><img src=x onerror="alert('1')">&"#),
            "X&lt;/title&gt;&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;"
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn titles_and_textareas_are_escaped_on_the_server() {
        assert_eq!(
            page_title("</title><script>x</script>".into()),
            "&lt;/title&gt;&lt;script&gt;x&lt;/script&gt; · Cohort"
        );
        assert_eq!(page_title(String::new()), "Cohort");
        assert_eq!(
            textarea_text("</textarea><b>".into()),
            "&lt;/textarea&gt;&lt;b&gt;"
        );
    }

    /// Every page's sources: a `<textarea>` with content, or a title formatter, that does
    /// not go through this module would write member text into HTML unescaped.
    #[test]
    fn sinks_go_through_html() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut offenders = Vec::new();
        visit(std::path::Path::new(root), &mut |path, source| {
            if !path.ends_with("html.rs") {
                offenders.extend(offences(&path.display().to_string(), source));
            }
        });
        assert!(offenders.is_empty(), "{}", offenders.join("\n"));
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_view_rendered_on_the_server_escapes_its_text_and_keeps_no_markers() {
        use leptos::prelude::*;
        let hostile = "<script>alert(1)</script> & \"quotes\"".to_string();
        let maybe = Some("kept");
        let html = render(move || view! { <p title=hostile.clone()>{hostile.clone()}{maybe}</p> });
        assert_eq!(
            html.as_str(),
            "<p title=\"&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;\">\
             &lt;script&gt;alert(1)&lt;/script&gt; &amp; \"quotes\"kept</p>"
        );
    }

    #[test]
    fn the_sink_check_sees_a_raw_sink() {
        let page = r#"
            <textarea name="a">{data.body_md.clone()}</textarea>
            <textarea name="b"></textarea>
            <textarea name="c">{html::textarea_text(body)}</textarea>
            <Title formatter=|page| page />
            <div inner_html=comment.body></div>
        "#;
        let found = offences("page.rs", page);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("page.rs:2:"), "{found:?}");
    }

    fn offences(path: &str, source: &str) -> Vec<String> {
        let mut offenders = Vec::new();
        for (number, line) in source.lines().enumerate() {
            let at = format!("{path}:{}", number + 1);
            if let Some(start) = line.find("<textarea") {
                let content = line[start..]
                    .split_once('>')
                    .map(|(_, after)| after)
                    .unwrap_or("")
                    .split("</textarea>")
                    .next()
                    .unwrap_or("");
                if !content.trim().is_empty() && !content.contains("html::textarea_text(") {
                    offenders.push(format!(
                        "{at}: textarea content not through html::textarea_text"
                    ));
                }
            }
            if line.contains("formatter=") && !line.contains("html::page_title") {
                offenders.push(format!(
                    "{at}: a title formatter other than html::page_title"
                ));
            }
            // Raw HTML comes only from the Markdown sanitiser (`body_html`) and from views
            // rendered on the server (`Rendered::rendered_html`).
            if line.contains("inner_html=")
                && !line.contains("body_html")
                && !line.contains(".rendered_html()")
            {
                offenders.push(format!("{at}: raw HTML through inner_html"));
            }
        }
        offenders
    }

    /// Calls `check` with every `.rs` file under `dir` and its text.
    pub(crate) fn visit(dir: &std::path::Path, check: &mut dyn FnMut(&std::path::Path, &str)) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                visit(&path, check);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                if let Ok(source) = std::fs::read_to_string(&path) {
                    check(&path, &source);
                }
            }
        }
    }
}
