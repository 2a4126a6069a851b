//! Markdown answers to safe HTML.
//!
//! An answer is untrusted text: a model can be asked to write `<img src=x onerror=alert(1)>`
//! or `[click](javascript:alert(1))`. It is rendered here, on the server, in two steps:
//!
//! 1. pulldown-cmark turns the Markdown into HTML, with every piece of raw HTML in the answer
//!    turned into plain text first (so `<b>` shows as `<b>`, it does not become bold);
//! 2. ammonia then keeps only an allow-list of formatting tags, no attributes but `href` on
//!    links (http, https and mailto only; relative links are dropped) and `start` on lists,
//!    and no images at all (they could fetch from anywhere).
//!
//! The browser only ever puts this output into `innerHTML`; the page's Content-Security-Policy
//! forbids inline scripts and event handlers besides, so even a sanitizer bug would stay inert.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use ammonia::{Builder, UrlRelative};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

/// The HTML elements an answer may contain after sanitizing.
const ALLOWED_TAGS: [&str; 28] = [
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "sup",
    "sub",
];

fn sanitizer() -> &'static Builder<'static> {
    static SANITIZER: OnceLock<Builder<'static>> = OnceLock::new();
    SANITIZER.get_or_init(|| {
        let tags: HashSet<&'static str> = ALLOWED_TAGS.into_iter().collect();
        let mut tag_attributes: HashMap<&'static str, HashSet<&'static str>> = HashMap::new();
        tag_attributes.insert("a", ["href"].into_iter().collect());
        tag_attributes.insert("ol", ["start"].into_iter().collect());
        let mut builder = Builder::default();
        builder
            .tags(tags)
            .generic_attributes(HashSet::new())
            .tag_attributes(tag_attributes)
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            .url_relative(UrlRelative::Deny)
            .link_rel(Some("noopener noreferrer nofollow"))
            .strip_comments(true);
        builder
    })
}

/// Deepest nesting of block containers (block quotes and lists) and, separately, of inline
/// spans (emphasis, links, …) that is rendered; deeper ones are flattened into their parent.
/// The sanitizer's HTML parser takes time quadratic in the nesting depth: a 32 KB answer of
/// `>` (16,384 nested quotes) took seconds, and answers are re-rendered as they stream.
pub const MAX_NESTING: usize = 8;

/// Drops the start and end events of containers nested deeper than [`MAX_NESTING`], keeping
/// their content, so the HTML is never nested deeper than that (plus a few fixed levels).
struct Flatten {
    /// For every open tag: its kind and whether its start was passed on.
    open: Vec<(Nest, bool)>,
    blocks: usize,
    spans: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Nest {
    Block,
    Item,
    Span,
    Other,
}

fn nest_of(tag: &Tag) -> Nest {
    match tag {
        Tag::BlockQuote(_) | Tag::List(_) => Nest::Block,
        Tag::Item => Nest::Item,
        Tag::Emphasis
        | Tag::Strong
        | Tag::Strikethrough
        | Tag::Superscript
        | Tag::Subscript
        | Tag::Link { .. } => Nest::Span,
        _ => Nest::Other,
    }
}

impl Flatten {
    fn new() -> Flatten {
        Flatten {
            open: Vec::new(),
            blocks: 0,
            spans: 0,
        }
    }

    /// The event to pass on in place of `event` (`None`: drop it).
    fn pass<'a>(&mut self, event: Event<'a>) -> Option<Event<'a>> {
        match &event {
            Event::Start(tag) => {
                let nest = nest_of(tag);
                let keep = match nest {
                    Nest::Block => self.blocks < MAX_NESTING,
                    // An item goes with its list.
                    Nest::Item => self.open.last().is_none_or(|(_, kept)| *kept),
                    Nest::Span => self.spans < MAX_NESTING,
                    Nest::Other => true,
                };
                if keep {
                    match nest {
                        Nest::Block => self.blocks += 1,
                        Nest::Span => self.spans += 1,
                        _ => {}
                    }
                }
                self.open.push((nest, keep));
                keep.then_some(event)
            }
            Event::End(_) => {
                let (nest, kept) = self.open.pop().unwrap_or((Nest::Other, true));
                if kept {
                    match nest {
                        Nest::Block => self.blocks -= 1,
                        Nest::Span => self.spans -= 1,
                        _ => {}
                    }
                    Some(event)
                } else if nest == Nest::Item {
                    // Keeps the items of a flattened list apart.
                    Some(Event::HardBreak)
                } else {
                    None
                }
            }
            _ => Some(event),
        }
    }
}

/// Markdown → HTML that is safe to put into `innerHTML`. Containers nested deeper than
/// [`MAX_NESTING`] are flattened (their text stays).
pub fn markdown_to_safe_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut flatten = Flatten::new();
    let events = Parser::new_ext(markdown, options).filter_map(move |event| flatten.pass(event));
    let events = events.map(|event| match event {
        // Raw HTML is shown as the text it is, never interpreted.
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        Event::Start(Tag::HtmlBlock) => Event::Start(Tag::Paragraph),
        Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::Paragraph),
        // Images become their alt text plus the address, as a link-free text.
        Event::Start(Tag::Image { dest_url, .. }) => {
            Event::Text(CowStr::from(format!("[image: {dest_url}] ")))
        }
        Event::End(TagEnd::Image) => Event::Text(CowStr::Borrowed("")),
        other => other,
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2 + 16);
    pulldown_cmark::html::push_html(&mut html, events);
    sanitizer().clean(&html).to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn markdown_formatting_survives() {
        let html = markdown_to_safe_html(
            "# Title\n\n**bold** and *it* and `code`\n\n- one\n- two\n\n```rust\nfn main() {}\n```\n\n[site](https://example.com)",
        );
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(html.contains("<em>it</em>"), "{html}");
        assert!(html.contains("<code>code</code>"), "{html}");
        assert!(html.contains("<li>one</li>"), "{html}");
        assert!(html.contains("<pre><code>fn main() {}"), "{html}");
        assert!(
            html.contains(
                r#"<a href="https://example.com" rel="noopener noreferrer nofollow">site</a>"#
            ),
            "{html}"
        );
    }

    /// Every real tag in `html` (text `<` is escaped, so each `<` opens a tag) is allowed and
    /// carries only harmless attributes.
    pub(crate) fn assert_only_safe_tags(html: &str, input: &str) {
        for tag in html.split('<').skip(1) {
            let tag = tag
                .split('>')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let name = tag
                .trim_start_matches('/')
                .split([' ', '/'])
                .next()
                .unwrap_or_default();
            assert!(
                ALLOWED_TAGS.contains(&name),
                "{input:?} rendered tag <{tag}> in {html:?}"
            );
            for attr in tag.split_whitespace().skip(1) {
                let attr_name = attr.split('=').next().unwrap_or_default();
                assert!(
                    ["href", "rel", "start"].contains(&attr_name) || !attr.contains('='),
                    "{input:?} rendered attribute {attr} in {html:?}"
                );
                assert!(
                    !attr.contains("javascript:") && !attr.contains("data:"),
                    "{input:?} → {html:?}"
                );
            }
        }
    }

    #[test]
    fn hostile_html_is_inert() {
        for hostile in [
            "<img src=x onerror=alert(1)>",
            "Hello <img src=x onerror=alert(1)> world",
            "<script>alert(1)</script>",
            "<svg onload=alert(1)></svg>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "[click](javascript:alert(1))",
            "[click](JaVaScRiPt:alert(1))",
            "[c](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "![x](https://evil.example/track.png)",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<div style=\"background:url(javascript:alert(1))\">x</div>",
            "<b onmouseover=alert(1)>hover</b>",
            "<details open ontoggle=alert(1)>",
        ] {
            let html = markdown_to_safe_html(hostile);
            assert_only_safe_tags(&html, hostile);
        }
        // The hostile markup is still visible to the reader, as text.
        assert_eq!(
            markdown_to_safe_html("<img src=x onerror=alert(1)>").trim(),
            "<p>&lt;img src=x onerror=alert(1)&gt;</p>"
        );
    }

    #[test]
    fn relative_links_are_dropped() {
        let html = markdown_to_safe_html("[vote](/api/vote)");
        assert!(!html.contains("href"), "{html}");
        assert!(html.contains("vote"));
    }

    #[test]
    fn unfinished_markdown_renders() {
        // Streaming renders half-written answers.
        for partial in [
            "```py\nprint(",
            "**bol",
            "| a | b |\n|---",
            "<img src=x on",
            "[x](java",
        ] {
            let html = markdown_to_safe_html(partial);
            assert!(!html.to_ascii_lowercase().contains("<img"), "{html}");
        }
    }

    /// How deep the elements of `html` nest (void elements aside).
    fn depth(html: &str) -> usize {
        let (mut depth, mut max) = (0usize, 0usize);
        for tag in html.split('<').skip(1) {
            let tag = tag.split('>').next().unwrap_or_default();
            if let Some(_closing) = tag.strip_prefix('/') {
                depth = depth.saturating_sub(1);
            } else if !(tag.starts_with("br") || tag.starts_with("hr")) {
                depth += 1;
                max = max.max(depth);
            }
        }
        max
    }

    #[test]
    fn deep_nesting_is_flattened_and_fast() {
        let alternate = |a: &str, b: &str, n: usize| {
            let mut s = String::new();
            while s.len() < n {
                s.push_str(a);
                s.push_str(b);
            }
            s
        };
        let kb32 = 32 * 1024;
        let mut indented = String::new();
        for i in 0..200 {
            indented.push_str(&" ".repeat(2 * i));
            indented.push_str("- item\n");
        }
        for input in [
            ">".repeat(kb32),
            "> ".repeat(kb32 / 2),
            format!("{}deep", "> ".repeat(kb32 / 2 - 2)),
            "1. ".repeat(kb32 / 3),
            alternate("- ", "+ ", kb32),
            alternate("> ", "- ", kb32),
            alternate("1. ", "> ", kb32),
            indented,
            format!("{}a{}", "*".repeat(kb32 / 2), "*".repeat(kb32 / 2)),
            format!("{}a", "[a ".repeat(kb32 / 3)),
            alternate("**a ", "_b ", kb32),
        ] {
            let start = std::time::Instant::now();
            let html = markdown_to_safe_html(&input);
            let took = start.elapsed();
            let head = &input[..40.min(input.len())];
            // Before the cap, 32 KB of `>` took 12.6 s on a fast machine; now it is
            // milliseconds (the bound leaves room for a slow debug build on a busy machine).
            assert!(
                took < std::time::Duration::from_secs(2),
                "{head:?}…: {took:?}"
            );
            // Eight containers, each with an item or a paragraph in it, and a span or two.
            assert!(
                depth(&html) <= 2 * MAX_NESTING + 4,
                "{head:?}…: {}",
                depth(&html)
            );
            assert_only_safe_tags(&html, head);
        }
        // Flattened text is kept.
        let html = markdown_to_safe_html(&format!("{}deep", "> ".repeat(20)));
        assert_eq!(html.matches("<blockquote>").count(), MAX_NESTING, "{html}");
        assert!(html.contains("deep"), "{html}");
        let html = markdown_to_safe_html(&format!("- {}deep", "1. ".repeat(20)));
        assert!(html.contains("deep"), "{html}");
        // Nesting up to the cap renders as it always did.
        let html = markdown_to_safe_html("> a\n> > b\n\n- one\n  - two\n    - three");
        assert_eq!(html.matches("<blockquote>").count(), 2, "{html}");
        assert_eq!(html.matches("<ul>").count(), 3, "{html}");
    }
}
