//! Markdown as the event pages and feeds show it. A leaf (pulldown-cmark and ammonia
//! only), so that the fuzz target `server/fuzz/fuzz_targets/markdown.rs` builds it alone.

/// Markdown to HTML that is safe to put in the page: pulldown-cmark renders, ammonia
/// keeps only harmless tags and attributes (links get `rel="noopener noreferrer"`).
pub fn render_markdown(markdown: &str) -> String {
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
