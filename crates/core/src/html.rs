//! The one way pages are made: minijinja templates with HTML autoescaping.
//!
//! Every value a template prints is escaped unless it is marked safe (only our own compiled-in
//! CSS and JavaScript are). The escape is the same everywhere: `&`, `<`, `>`, `"` and `'`, which
//! makes a value safe in element content and in quoted attribute values (also SVG text).

use std::fmt;

use base64::Engine;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use sha2::{Digest, Sha256};

/// A template environment for pages: strict about undefined values (a misspelt field is an
/// error, not an empty cell), HTML-escaping every template whatever its name, `{% %}` lines
/// leaving no blank lines, and a template's final newline kept.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_formatter(|out, state, value| {
        if state.auto_escape() == AutoEscape::Html && !value.is_safe() && !value.is_undefined() {
            match value.as_str() {
                Some(s) => write!(out, "{}", Escaped(s)),
                None => write!(out, "{}", Escaped(&value.to_string())),
            }
            .map_err(minijinja::Error::from)
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    env
}

/// `'sha256-…'` of an inline script, for a Content Security Policy that allows that script and
/// no other.
pub fn script_hash(script: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()))
    )
}

/// `text`, HTML-escaped as it is displayed.
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut last = 0;
        for (i, b) in s.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&s[last..i])?;
            f.write_str(entity)?;
            last = i + 1;
        }
        f.write_str(&s[last..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::{context, Value};

    fn render(source: &str, ctx: Value) -> Result<String, minijinja::Error> {
        let mut env = environment();
        env.add_template("t.txt", source)?;
        env.get_template("t.txt")?.render(ctx)
    }

    #[test]
    fn escapes_the_five_characters_in_every_template() {
        let out = render(
            "<p title=\"{{ x }}\">{{ x }}</p>{{ n }}",
            context! { x => r#"<a href="x" onclick='y'>&amp;</a> 天安门 ]]> /"#, n => 3 },
        )
        .unwrap();
        assert_eq!(
            out,
            "<p title=\"&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt; 天安门 ]]&gt; /\">\
             &lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt; 天安门 ]]&gt; /</p>3"
        );
    }

    #[test]
    fn only_values_marked_safe_pass_unescaped() {
        let out = render(
            "{{ css }}{{ x }}",
            context! { css => Value::from_safe_string("a>b".into()), x => "a>b" },
        )
        .unwrap();
        assert_eq!(out, "a>ba&gt;b");
    }

    #[test]
    fn an_undefined_value_is_an_error() {
        assert!(render("{{ missing }}", context! {}).is_err());
        assert!(render("{{ x.missing }}", context! { x => context! { y => 1 } }).is_err());
    }

    #[test]
    fn block_lines_leave_no_blank_lines_and_the_final_newline_stays() {
        let out = render(
            "<ul>\n{% for i in xs %}\n<li>{{ i }}</li>\n{% endfor %}\n</ul>\n",
            context! { xs => [1, 2] },
        )
        .unwrap();
        assert_eq!(out, "<ul>\n<li>1</li>\n<li>2</li>\n</ul>\n");
    }
}
