//! Markdown as the event pages and feeds show it. A leaf (pulldown-cmark and ammonia
//! only), so that the fuzz target `server/fuzz/fuzz_targets/markdown.rs` builds it alone.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// How many descriptions [`render_markdown`] keeps rendered, and the longest it keeps.
const CACHED: usize = 256;
const CACHED_LONGEST: usize = 16 * 1024;
static RENDERED: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();

/// The kept renderings. A poisoned lock only means that another thread panicked while
/// holding it: the map is still whole (an insert or a clear does not stop halfway).
fn rendered() -> std::sync::MutexGuard<'static, HashMap<String, String>> {
    RENDERED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Markdown to HTML that is safe to put in the page: pulldown-cmark renders, ammonia
/// keeps only harmless tags and attributes (links get `rel="noopener noreferrer"`).
///
/// The last descriptions rendered are kept, keyed by their whole text: a meetup's page is
/// read far more often than its description changes, and parsing and sanitising it was
/// about 5% of the page's time under load (`perf` of `bench_pages`). At most
/// [`CACHED`] texts of up to [`CACHED_LONGEST`] bytes each, so a few MB at worst.
pub fn render_markdown(markdown: &str) -> String {
    if markdown.len() > CACHED_LONGEST {
        return render_uncached(markdown);
    }
    if let Some(html) = rendered().get(markdown) {
        return html.clone();
    }
    let html = render_uncached(markdown);
    let mut cache = rendered();
    if cache.len() >= CACHED {
        cache.clear();
    }
    cache.insert(markdown.to_owned(), html.clone());
    html
}

fn render_uncached(markdown: &str) -> String {
    use pulldown_cmark::{html, Options, Parser};
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    );
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, parser);
    ammonia::clean(&unsafe_html)
}

/// The description as plain text, cut to about `limit` characters (link previews, feeds).
pub fn plain_summary(markdown: &str, limit: usize) -> String {
    use pulldown_cmark::{Event, Parser};
    let mut text = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(part) | Event::Code(part) => text.push_str(&part),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push(' '),
            _ => {}
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut summary = String::new();
    for word in words {
        if summary.chars().count() + word.chars().count() + 1 > limit {
            summary.push('…');
            break;
        }
        if !summary.is_empty() {
            summary.push(' ');
        }
        summary.push_str(word);
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_rendering_is_the_rendering_of_that_very_text() {
        let first = render_markdown("**Bring** your <script>data</script>");
        assert_eq!(
            first,
            render_uncached("**Bring** your <script>data</script>")
        );
        assert_eq!(
            first,
            render_markdown("**Bring** your <script>data</script>")
        );
        assert!(!first.contains("<script"), "{first}");
        // Texts that differ by one character are kept apart.
        assert_ne!(render_markdown("*Bring* a"), render_markdown("*Bring* b"));
        // Past the bound, the cache starts over rather than grows.
        for n in 0..CACHED + 10 {
            render_markdown(&format!("item {n}"));
        }
        let kept = rendered().len();
        assert!(kept <= CACHED, "{kept} kept");
        // Long texts are rendered each time, never kept.
        let long = "word ".repeat(CACHED_LONGEST);
        assert!(render_markdown(&long).starts_with("<p>word word"));
    }
}
