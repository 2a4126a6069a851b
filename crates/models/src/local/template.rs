//! Chat templates rendered the way Hugging Face `transformers` renders them, so the prompt a
//! local model sees is the one its authors defined in the GGUF's `tokenizer.chat_template`.
//!
//! `transformers` compiles the template with Jinja2 using `trim_blocks=True`,
//! `lstrip_blocks=True`, the `loopcontrols` extension, a `raise_exception` global and a
//! non-ASCII-escaping `tojson`; it renders with `messages`, `add_generation_prompt` and the
//! special tokens (`bos_token`, `eos_token`, ...). We mirror that with minijinja, plus Python
//! string methods (`.strip()`, `.startswith()`, ...) that templates call.

use assay_core::Message;
use minijinja::{context, Environment, Error, ErrorKind};

pub struct ChatTemplate {
    source: String,
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl ChatTemplate {
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<ChatTemplate, String> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(false);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |message: String| -> Result<String, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        env.add_filter("tojson", tojson);
        env.add_function("strftime_now", |format: String| -> String {
            // Templates use this to print today's date in a system prompt; a fixed date would
            // silently differ from transformers, so use the real clock.
            strftime_now(&format)
        });
        env.add_template_owned("chat", source.to_string())
            .map_err(|e| format!("the GGUF's chat template does not compile: {e}"))?;
        Ok(ChatTemplate {
            source: source.to_string(),
            env,
            bos_token: bos_token.to_string(),
            eos_token: eos_token.to_string(),
        })
    }

    /// The template text as the GGUF stores it.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders a conversation, ending with the assistant's turn opened when
    /// `add_generation_prompt` is set.
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, String> {
        let template = self.env.get_template("chat").map_err(|e| e.to_string())?;
        template
            .render(context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
            })
            .map_err(|e| format!("rendering the chat template failed: {e:#}"))
    }
}

/// `tojson` as transformers defines it: Python's `json.dumps(x, ensure_ascii=False)`, whose
/// separators are `", "` and `": "` (minijinja's own filter writes compact, HTML-escaped JSON,
/// which would change the prompt of every template that serialises tools or arguments).
fn tojson(value: minijinja::Value, kwargs: minijinja::value::Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    let json = serde_json::to_value(&value)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("tojson: {e}")))?;
    let mut out = String::new();
    write_python_json(&json, indent, sort_keys.unwrap_or(false), 0, &mut out);
    Ok(out)
}

fn write_python_json(
    value: &serde_json::Value,
    indent: Option<usize>,
    sort_keys: bool,
    depth: usize,
    out: &mut String,
) {
    use serde_json::Value;
    let (item_sep, newline) = match indent {
        Some(n) => (",", Some(n)),
        None => (", ", None),
    };
    let open = |out: &mut String, depth: usize| {
        if let Some(n) = newline {
            out.push('\n');
            out.push_str(&" ".repeat(n * depth));
        }
    };
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                open(out, depth + 1);
                write_python_json(item, indent, sort_keys, depth + 1, out);
            }
            open(out, depth);
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            let mut entries: Vec<_> = map.iter().collect();
            if sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                open(out, depth + 1);
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                write_python_json(item, indent, sort_keys, depth + 1, out);
            }
            open(out, depth);
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The subset of `strftime` that chat templates use (`%d %b %Y`, `%Y-%m-%d`, ...), in UTC.
fn strftime_now(format: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let month = MONTHS[(m - 1) as usize];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&y.to_string()),
            Some('m') => out.push_str(&format!("{m:02}")),
            Some('d') => out.push_str(&format!("{d:02}")),
            Some('B') => out.push_str(month),
            Some('b') => out.push_str(&month[..3]),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_blocks_like_transformers() {
        let t = ChatTemplate::new(
            "{% for m in messages %}\n  {{ m.role }}: {{ m.content.strip() }}\n{% endfor %}\n{% if add_generation_prompt %}assistant:{% endif %}",
            "<s>",
            "</s>",
        )
        .unwrap();
        let out = t.render(&[Message::user("  hi  ")], true).unwrap();
        assert_eq!(out, "  user: hi\nassistant:");
    }

    #[test]
    fn raise_exception_is_an_error() {
        let t = ChatTemplate::new("{{ raise_exception('no system role') }}", "", "").unwrap();
        let err = t.render(&[], false).unwrap_err();
        assert!(err.contains("no system role"), "{err}");
    }

    #[test]
    fn tojson_matches_python_json_dumps() {
        let t = ChatTemplate::new("", "", "").unwrap();
        let rendered = t
            .env
            .render_str(
                "{{ x | tojson }}|{{ x | tojson(indent=2) }}|{{ [] | tojson }}",
                minijinja::context! { x => serde_json::json!({"a": [1, "<b>"], "名": {}}) },
            )
            .unwrap();
        // json.dumps({"a": [1, "<b>"], "名": {}}, ensure_ascii=False) and with indent=2:
        assert_eq!(
            rendered,
            "{\"a\": [1, \"<b>\"], \"名\": {}}|{\n  \"a\": [\n    1,\n    \"<b>\"\n  ],\n  \"名\": {}\n}|[]"
        );
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_819), (2027, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
