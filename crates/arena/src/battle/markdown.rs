//! Style features from Markdown, counted as FastChat counts them.

use super::Style;

impl Style {
    /// Counts markdown elements the way FastChat's `count_markdown_elements`
    /// (`fastchat/serve/monitor/add_markdown_info.py`) does, with `tokens` supplied by the caller
    /// (FastChat counts them with tiktoken). Pass the assistant turns joined with `"\n"`.
    ///
    /// FastChat first removes code blocks with the regex ```` ```([^`]*)``` ````, but because
    /// `findall` returns the captured group it removes only the text *inside* the fences (every
    /// occurrence of it), leaving the fences themselves; that quirk is reproduced so counts match.
    /// Then, per line: a header is 1–6 `#` followed by whitespace (`^#{k}\s`), a list item is
    /// optional leading whitespace then `digits.` or one of `- * +`, then whitespace; bold spans
    /// are non-overlapping `**[^*\n]+**` and `__[^_\n]+__`. Digits are ASCII here, where Python's
    /// `\d` also takes other scripts' decimal digits.
    pub fn from_markdown(text: &str, tokens: f64) -> Style {
        let text = remove_code_block_contents(text);
        let mut headers = 0usize;
        let mut lists = 0usize;
        let mut lines = text.split('\n').peekable();
        while let Some(line) = lines.next() {
            // Python's `\s` after the marker may be the newline that ends the line.
            let has_next_line = lines.peek().is_some();
            if is_header(line, has_next_line) {
                headers += 1;
            }
            if is_list_item(line, has_next_line) {
                lists += 1;
            }
        }
        let bold = count_delimited(&text, '*') + count_delimited(&text, '_');
        Style {
            tokens,
            headers: headers as f64,
            lists: lists as f64,
            bold: bold as f64,
        }
    }
}

/// Removes, like FastChat's `remove_pattern`, every occurrence of the text between each pair of
/// triple backticks (```` ```[^`]*``` ````, non-overlapping, left to right).
fn remove_code_block_contents(text: &str) -> String {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        // `[^`]*` cannot cross a backtick, so the block must close at the first backtick.
        match after.find('`') {
            Some(close) if after[close..].starts_with("```") => {
                blocks.push(after[..close].to_string());
                rest = &after[close + 3..];
            }
            // No match starting here: the regex moves on by one character.
            _ => rest = &rest[open + 1..],
        }
    }
    let mut out = text.to_string();
    for block in blocks {
        if !block.is_empty() {
            out = out.replace(&block, "");
        }
    }
    out
}

/// `^#{1,6}\s` for one line; `line_break_follows` stands for the `\n` the split removed.
fn is_header(line: &str, line_break_follows: bool) -> bool {
    let hashes = line.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&hashes) {
        return false;
    }
    match line[hashes..].chars().next() {
        Some(c) => c.is_whitespace(),
        None => line_break_follows,
    }
}

/// `^\s*\d+\.\s` or `^\s*[-*+]\s` for one line.
fn is_list_item(line: &str, line_break_follows: bool) -> bool {
    let body = line.trim_start();
    let marker_len = if body.starts_with(['-', '*', '+']) {
        1
    } else {
        let digits = body.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || body.as_bytes().get(digits) != Some(&b'.') {
            return false;
        }
        digits + 1
    };
    match body[marker_len..].chars().next() {
        Some(c) => c.is_whitespace(),
        None => line_break_follows,
    }
}

/// Non-overlapping matches of `DD[^D\n]+DD` with `D` = `delim`, scanning left to right as a regex
/// engine does. The inner run cannot contain `D`, so at each start the only candidate end is the
/// first `D` or newline, which makes this scan exact.
fn count_delimited(text: &str, delim: char) -> usize {
    let bytes = text.as_bytes();
    let d = delim as u8;
    let mut count = 0;
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == d && bytes[i + 1] == d {
            let mut j = i + 2;
            while j < bytes.len() && bytes[j] != d && bytes[j] != b'\n' {
                j += 1;
            }
            if j > i + 2 && j + 1 < bytes.len() && bytes[j] == d && bytes[j + 1] == d {
                count += 1;
                i = j + 2;
                continue;
            }
        }
        i += 1;
    }
    count
}
