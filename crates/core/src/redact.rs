//! Credentials out of everything assay stores, shows or logs.
//!
//! Model names and upstream addresses may carry secrets (`http://user:pass@host/v1`,
//! `?api_key=…`, a token as a path segment), and upstream errors quote them. Whatever leaves
//! the process — a client's error message, the store, a report, a log line — goes through
//! [`redact`] first.

/// What a secret is replaced with.
pub const REDACTED: &str = "***";

/// Query parameters whose value is a credential (compared without case, `-` read as `_`).
const SECRET_PARAMS: &[&str] = &[
    "key",
    "api_key",
    "apikey",
    "token",
    "access_token",
    "auth",
    "authorization",
    "secret",
    "client_secret",
    "password",
    "pass",
    "pwd",
    "sig",
    "signature",
    "x_api_key",
    "code",
];

/// Prefixes of well-known API key formats.
const KEY_PREFIXES: &[&str] = &[
    "sk-", "sk_", "ghp_", "gho_", "hf_", "xoxb-", "xoxp-", "glpat-",
];

/// `text` with every credential in it replaced by [`REDACTED`]: the user information, secret
/// query values and token-like path segments of each URL in it, `Bearer` tokens, and
/// well-known API key formats. Text without any comes back unchanged.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let start = scheme_start(rest, at);
        let end = at + 3 + url_len(&rest[at + 3..]);
        out.push_str(&redact_words(&rest[..start]));
        out.push_str(&redact_url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(&redact_words(rest));
    out
}

/// Whether [`redact`] would change `text`.
pub fn has_secrets(text: &str) -> bool {
    redact(text) != text
}

fn scheme_start(text: &str, colon: usize) -> usize {
    let bytes = text.as_bytes();
    let mut start = colon;
    while start > 0
        && (bytes[start - 1].is_ascii_alphanumeric() || b"+-.".contains(&bytes[start - 1]))
    {
        start -= 1;
    }
    start
}

fn url_len(after_scheme: &str) -> usize {
    after_scheme
        .find(|c: char| {
            c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`' | ')' | ']' | '}' | ',')
        })
        .unwrap_or(after_scheme.len())
}

/// One URL (`scheme://…`, no surrounding text).
fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let (scheme, rest) = url.split_at(scheme_end + 3);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(authority_end);
    let mut out = String::with_capacity(url.len());
    out.push_str(scheme);
    match authority.rfind('@') {
        Some(at) => {
            out.push_str(REDACTED);
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let (before_fragment, fragment) = match rest.find('#') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let (path, query) = match before_fragment.find('?') {
        Some(at) => (&before_fragment[..at], Some(&before_fragment[at + 1..])),
        None => (before_fragment, None),
    };
    let segments: Vec<&str> = path.split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(if looks_like_token(segment) {
            REDACTED
        } else {
            segment
        });
    }
    if let Some(query) = query {
        out.push('?');
        push_redacted_query(query, &mut out);
    }
    // A model name's parameters follow its fragment (`#model?temperature=0`), and a key
    // written there by mistake is as secret as one in the query.
    match fragment.split_once('?') {
        Some((model, query)) => {
            out.push_str(model);
            out.push('?');
            push_redacted_query(query, &mut out);
        }
        None => out.push_str(fragment),
    }
    out
}

/// `query` (`a=1&b=2`, without its `?`) with secret values replaced.
fn push_redacted_query(query: &str, out: &mut String) {
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((name, value)) if is_secret_param(name) || looks_like_token(value) => {
                out.push_str(name);
                out.push('=');
                out.push_str(REDACTED);
            }
            _ => out.push_str(pair),
        }
    }
}

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase().replace('-', "_");
    SECRET_PARAMS.contains(&name.as_str()) || name.ends_with("_key") || name.ends_with("_token")
}

/// A path segment or value that is a credential, not a name: a known key format, or a long
/// run of letters and digits such as no model or route is called.
fn looks_like_token(s: &str) -> bool {
    let token_chars = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b':')
    };
    if !token_chars(s) {
        return false;
    }
    if KEY_PREFIXES.iter().any(|p| s.starts_with(p)) && s.len() >= 20 {
        return true;
    }
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let letters = s.bytes().filter(u8::is_ascii_alphabetic).count();
    s.len() >= 32 && digits >= 4 && letters >= 4
}

/// Outside URLs: `Bearer <token>` and well-known key formats.
fn redact_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous_is_bearer = false;
    let mut rest = text;
    while !rest.is_empty() {
        let word_start = rest
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(rest.len());
        out.push_str(&rest[..word_start]);
        rest = &rest[word_start..];
        if rest.is_empty() {
            break;
        }
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..word_end];
        let core =
            word.trim_matches(|c: char| matches!(c, '"' | '\'' | ',' | ';' | '.' | ')' | '('));
        if (previous_is_bearer && !core.is_empty())
            || looks_like_token(core) && KEY_PREFIXES.iter().any(|p| core.starts_with(p))
        {
            out.push_str(&word.replacen(core, REDACTED, 1));
        } else {
            out.push_str(word);
        }
        previous_is_bearer = core.eq_ignore_ascii_case("bearer");
        rest = &rest[word_end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_information_is_removed() {
        assert_eq!(
            redact("http://admin:s3cretpw@127.0.0.1:9/v1#qwen"),
            "http://***@127.0.0.1:9/v1#qwen"
        );
        assert_eq!(
            redact("502: upstream http://admin:s3cretpw@10.0.0.1/v1 answered HTTP 400"),
            "502: upstream http://***@10.0.0.1/v1 answered HTTP 400"
        );
        assert_eq!(redact("postgres://u:p@db/assay"), "postgres://***@db/assay");
    }

    #[test]
    fn secret_query_values_and_token_paths_are_removed() {
        assert_eq!(
            redact("https://h/v1?api_key=abc&model=x#m"),
            "https://h/v1?api_key=***&model=x#m"
        );
        assert_eq!(
            redact("https://h/v1?X-Api-Key=abc"),
            "https://h/v1?X-Api-Key=***"
        );
        assert_eq!(
            redact("https://h/bot/sk-proj-abcdefghijklmnopqrstuv/v1"),
            "https://h/bot/***/v1"
        );
        assert_eq!(
            redact("https://h/k/a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8/v1"),
            "https://h/k/***/v1"
        );
        // After the model, where a name's parameters go, as in an error about the name.
        assert_eq!(
            redact("invalid model name \"http://h:9/v1#m?temperature=0&api_key=sk-proj-ABCDEFGHIJKLMNOPQRSTUV12\": unknown"),
            "invalid model name \"http://h:9/v1#m?temperature=0&api_key=***\": unknown"
        );
        assert_eq!(redact("http://h/v1#m?token=abc"), "http://h/v1#m?token=***");
    }

    #[test]
    fn names_and_plain_text_are_kept() {
        for text in [
            "http://127.0.0.1:8081/v1#qwen2.5-7b-instruct",
            "http://127.0.0.1:8081/v1#qwen?temperature=0&max_tokens=256",
            "https://api.example.com/v1#Meta-Llama-3.1-70B-Instruct-Turbo",
            "local:smollm2?temperature=0.2",
            "guard:example@local:smollm2",
            "the answer is 42, see chapter 3.",
            "",
        ] {
            assert_eq!(redact(text), text, "{text}");
            assert!(!has_secrets(text));
        }
    }

    #[test]
    fn bearer_tokens_and_key_formats_are_removed() {
        assert_eq!(
            redact("Authorization: Bearer abc.def-123"),
            "Authorization: Bearer ***"
        );
        assert_eq!(
            redact("invalid key sk-abcdefghijklmnopqrstuvwx."),
            "invalid key ***."
        );
    }

    #[test]
    fn several_urls_in_one_text() {
        assert_eq!(
            redact("a http://u:p@x/ b (https://y/?token=t) c"),
            "a http://***@x/ b (https://y/?token=***) c"
        );
    }
}
