//! Markdown answers to safe HTML, and escaping for the pages we write.
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

/// Markdown → HTML that is safe to put into `innerHTML`.
pub fn markdown_to_safe_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
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

/// Escapes text for HTML element content and double- or single-quoted attribute values (and
/// for SVG/XML text).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
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

    #[test]
    fn escaping() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
