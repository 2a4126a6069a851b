//! Multiple-choice grading: which option did an answer choose, and is it the key?
//!
//! Models answer multiple-choice questions in many shapes: a bare letter, "The answer is B",
//! "答案：Ｃ", a letter with the option text, the option text alone, or a paragraph of reasoning
//! that ends in a conclusion. Rules are tried in this order; the first that decides names the
//! grade:
//!
//! 1. `explicit`: a statement of the answer: "the answer is B", "Answer: (B)", "correct option
//!    is B", "I choose B", "B is the correct answer", "答案是B", "答案为 C", "正确答案是：D",
//!    "选B", "选择 C". When there are several, the **last** wins: models often reason through
//!    the options ("the answer might be A ...") and then conclude ("... so the answer is C").
//!    When the last statement hedges ("the answer is A or B", "答案是A和B") or rules a letter
//!    out ("the answer is not B", "不选B"), the answer chose nothing and no later rule is tried:
//!    they would only find the letters the statement already declined.
//! 2. `bare-letter`: the whole answer is a letter: "B", "B.", "(B)", "B)", "**B**", or a letter
//!    followed by exactly its option text ("B. Paris").
//! 3. `leading-letter`: the answer opens with a letter marker ("B. Paris is ...", "(C) ...",
//!    "B: ...", "选项B：..."), and marks no other option later (an answer that walks through
//!    "A. ... B. ... C. ..." has not chosen A).
//! 4. `option-text`: the answer contains exactly one option's text (ASCII case-insensitive, at
//!    word boundaries for Latin text). When one option's text contains another's, the longer
//!    match claims its span, so "North Korea" does not also count as "Korea". If several
//!    options appear, this rule decides nothing.
//! 5. `isolated-letter`: exactly one distinct letter stands alone as a choice marker anywhere:
//!    "(B)", "[B]", "【B】", "option B", "B项", or an upper-case letter standing by itself.
//!
//! A letter counts only as a choice marker: the article "A" in "A good question" and the pronoun
//! "I" are words, not choices, and letters past the last option are ignored. Full-width forms
//! ("Ｂ", "：", "（", "）") are read as their half-width forms, and markdown emphasis (`*`, `` ` ``)
//! is ignored.

use super::{Grader, Label, Question, Score};
use crate::suite::Kind;

/// Bump when the rules change, since grades change with them.
pub const VERSION: &str = "1";

/// The multiple-choice grader in the registry: `correct` or `wrong` for items with a key,
/// the letters chosen and expected in the detail.
pub struct Mcq;

impl Grader for Mcq {
    fn grade(&self, question: &Question, answer: &str) -> Option<Score> {
        if question.kind != Kind::Mcq {
            return None;
        }
        let key = question.key?;
        let grade = grade_mcq(answer, &question.choices, key);
        let label = if grade.correct {
            Label::Correct
        } else {
            Label::Wrong
        };
        Some(
            Score::new(label, grade.rule).with_detail(serde_json::json!({
                "chosen": grade.chosen.map(|c| letter(c).to_string()),
                "key": letter(key).to_string(),
            })),
        )
    }

    fn name_and_version(&self) -> (&'static str, &'static str) {
        ("mcq", VERSION)
    }
}

/// The grade of a multiple-choice answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct McqGrade {
    /// The chosen option, 0 for A; `None` when no rule found a choice.
    pub chosen: Option<usize>,
    /// Whether the chosen option is the key (false when nothing was chosen).
    pub correct: bool,
    /// The rule that found the choice, or `no-choice`.
    pub rule: &'static str,
}

/// Grades `answer` against the option texts `choices` and the index `key` of the right one.
pub fn grade_mcq(answer: &str, choices: &[String], key: usize) -> McqGrade {
    match extract_choice(answer, choices) {
        Some((chosen, rule)) => McqGrade {
            chosen: Some(chosen),
            correct: chosen == key,
            rule,
        },
        None => McqGrade {
            chosen: None,
            correct: false,
            rule: "no-choice",
        },
    }
}

/// The option `answer` chose, as `(index, rule)`, or `None` when no rule finds one.
pub fn extract_choice(answer: &str, choices: &[String]) -> Option<(usize, &'static str)> {
    // Letters exist for at most 26 options.
    let n = choices.len().min(26);
    if n == 0 {
        return None;
    }
    let text = normalise(super::graded(answer));
    let lower: Vec<char> = text.iter().map(char::to_ascii_lowercase).collect();
    match explicit(&text, &lower, n) {
        Some(Some(i)) => return Some((i, "explicit")),
        // The conclusion hedges or negates ("A or B", "not B"): no later rule may overrule it.
        Some(None) => return None,
        None => {}
    }
    if let Some(i) = bare_letter(&text, choices, n) {
        return Some((i, "bare-letter"));
    }
    if let Some(i) = leading_letter(&text, &lower, n) {
        return Some((i, "leading-letter"));
    }
    if let Some(i) = option_text(&lower, choices) {
        return Some((i, "option-text"));
    }
    if let Some(i) = isolated_letter(&text, &lower, n) {
        return Some((i, "isolated-letter"));
    }
    None
}

/// The letter of option `index`: 0 is 'A'. Indices past 'Z' have no letter and give '?'.
pub fn letter(index: usize) -> char {
    match u8::try_from(index) {
        Ok(i) if i < 26 => char::from(b'A' + i),
        _ => '?',
    }
}

/// Phrases after which the answer's letter follows ("the answer is B"), lowercase.
const STATEMENT_BEFORE: &[&str] = &[
    "answer is",
    "answer would be",
    "answer should be",
    "answer will be",
    "answer:",
    "answer -",
    "answer —",
    "answer –",
    "correct option is",
    "correct option:",
    "correct choice is",
    "correct choice:",
    "best option is",
    "best choice is",
    "right option is",
    "right choice is",
    "i choose",
    "i'd choose",
    "i would choose",
    "i pick",
    "i'd pick",
    "i would pick",
    "i select",
    "i'll go with",
    "i will go with",
    "i'd go with",
    "i would go with",
    "my choice is",
    "my choice:",
    "[答案]",
    "答案是",
    "答案为",
    "答案:",
    "答案应该是",
    "答案应是",
    "答案应为",
    "答案就是",
    "答案选",
    "正确选项是",
    "正确选项为",
    "正确的选项是",
    "正确选项:",
    "选择",
    "选",
    // "不是B，而是C".
    "而是",
];

/// Phrases after which a letter is ruled out ("the answer is not B", "不选B"), lowercase.
const STATEMENT_NOT: &[&str] = &[
    "answer is not",
    "answer isn't",
    "答案不是",
    "答案不为",
    "不选",
    "不选择",
    "不应选",
];

/// Phrases before which the answer's letter stands ("B is the correct answer"), lowercase.
const STATEMENT_AFTER: &[&str] = &[
    "is the correct answer",
    "is the right answer",
    "is the best answer",
    "is the correct option",
    "is the correct choice",
    "是正确答案",
    "为正确答案",
    "是正确的答案",
    "是正确选项",
    "是正确的选项",
];

/// Words that may stand between a statement and its letter ("answer is option B").
const FILLERS: &[&str] = &["option", "choice", "letter", "选项", "选"];

/// Rule 1: the last explicit statement about the choice: `Some(Some(choice))` when it names
/// one, `Some(None)` when it hedges between letters or rules one out, `None` when there is no
/// statement.
fn explicit(text: &[char], lower: &[char], n: usize) -> Option<Option<usize>> {
    // (position, what the statement says)
    let mut found: Vec<(usize, Option<usize>)> = Vec::new();
    for phrase in STATEMENT_BEFORE {
        let phrase: Vec<char> = phrase.chars().collect();
        for at in occurrences(lower, &phrase) {
            // "不选B" says which option is not the answer.
            if phrase[0] == '选' && at > 0 && text[at - 1] == '不' {
                continue;
            }
            if let Some((choice, end)) = choice_at(text, at + phrase.len(), n, true) {
                let alternatives = names_another(text, end, n);
                found.push((at, (!alternatives).then_some(choice)));
            }
        }
    }
    for phrase in STATEMENT_NOT {
        let phrase: Vec<char> = phrase.chars().collect();
        for at in occurrences(lower, &phrase) {
            if choice_at(text, at + phrase.len(), n, true).is_some() {
                found.push((at, None));
            }
        }
    }
    for phrase in STATEMENT_AFTER {
        let phrase: Vec<char> = phrase.chars().collect();
        for at in occurrences(lower, &phrase) {
            if let Some((choice, start)) = choice_before(text, at, n) {
                found.push((start, Some(choice)));
            }
        }
    }
    found.into_iter().max_by_key(|&(at, _)| at).map(|(_, c)| c)
}

/// Rule 2: the whole answer is a letter, or a letter and its option text.
fn bare_letter(text: &[char], choices: &[String], n: usize) -> Option<usize> {
    let whole = trim(text);
    let (choice, end) = choice_at(whole, 0, n, false)?;
    let mut rest = trim(&whole[end..]);
    if let Some((&mark, after)) = rest.split_first() {
        if matches!(mark, '.' | ')' | ':' | '、' | ',' | '。') {
            rest = after;
        }
    }
    let said = lowercase(trim_end_punct(trim(rest)));
    if said.is_empty() {
        // A lone letter of either case: "b" alone cannot be an article.
        return Some(choice);
    }
    // "B. Paris": the letter, then exactly that option's text.
    let option = lowercase(trim_end_punct(trim(&normalise(&choices[choice]))));
    (said == option).then_some(choice)
}

/// Rule 3: the answer opens with a letter marker: "B. ...", "(C) ...", "选项B：...".
fn leading_letter(text: &[char], lower: &[char], n: usize) -> Option<usize> {
    let start = text.len() - trim_start(text).len();
    let mut at = start;
    for filler in FILLERS {
        let filler: Vec<char> = filler.chars().collect();
        if lower[start..].starts_with(&filler) {
            at = start + filler.len();
            break;
        }
    }
    let (choice, end) = choice_at(text, at, n, at != start)?;
    let bracketed = matches!(text.get(skip_spaces(text, at)), Some('(' | '['));
    let marked = match text.get(end) {
        None => true,
        Some(c) => matches!(c, '.' | ')' | ':' | ',' | '、' | '。'),
    };
    // An upper-case letter needs a marker after it ("A. Paris", not "A good question"); a
    // bracketed letter or one named by "option" already is a marker.
    if !(bracketed || marked || at != start) {
        return None;
    }
    // An answer that goes on to mark other options is walking through them ("A. London -
    // no. B. Paris - yes."), not opening with its choice.
    marked_letters(text, lower, n)
        .iter()
        .all(|&c| c == choice)
        .then_some(choice)
}

/// Rule 4: exactly one option's text appears in the answer.
fn option_text(lower: &[char], choices: &[String]) -> Option<usize> {
    let mut options: Vec<(usize, Vec<char>)> = choices
        .iter()
        .enumerate()
        .map(|(i, c)| (i, lowercase(trim_end_punct(trim(&normalise(c))))))
        // A single CJK character ("是") occurs in any Chinese text; a single Latin character
        // or digit is checked at word boundaries like any other option.
        .filter(|(_, c)| c.len() > 1 || c.first().is_some_and(char::is_ascii_alphanumeric))
        .collect();
    // Longest first, so a longer option claims its span before a shorter one inside it.
    options.sort_by_key(|(_, c)| std::cmp::Reverse(c.len()));
    let mut claimed = vec![false; lower.len()];
    let mut seen: Vec<usize> = Vec::new();
    for (index, option) in &options {
        for at in occurrences(lower, option) {
            let end = at + option.len();
            if claimed[at..end].iter().any(|&c| c) || !at_word_boundaries(lower, at, end) {
                continue;
            }
            claimed[at..end].iter_mut().for_each(|c| *c = true);
            if !seen.contains(index) {
                seen.push(*index);
            }
        }
    }
    match seen.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// Rule 5: exactly one distinct letter used as a choice marker anywhere.
fn isolated_letter(text: &[char], lower: &[char], n: usize) -> Option<usize> {
    match marked_letters(text, lower, n).as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// The distinct choices that letters standing alone as choice markers name, in order.
fn marked_letters(text: &[char], lower: &[char], n: usize) -> Vec<usize> {
    let mut seen: Vec<usize> = Vec::new();
    for i in 0..text.len() {
        if let Some(choice) = marker_at(text, lower, i, n) {
            if !seen.contains(&choice) {
                seen.push(choice);
            }
        }
    }
    seen
}

/// The choice marked by the letter at `i`, if that letter stands alone as a choice marker.
fn marker_at(text: &[char], lower: &[char], i: usize, n: usize) -> Option<usize> {
    let c = text[i];
    let choice = choice_index(c, n)?;
    let prev = i.checked_sub(1).map(|p| text[p]);
    let next = text.get(i + 1).copied();
    let closes = |c: Option<char>| matches!(c, Some(')' | ']'));
    // "(B)", "[b]", "【B】" (normalised to brackets).
    if matches!(prev, Some('(' | '[')) && closes(next) {
        return Some(choice);
    }
    if !c.is_ascii_uppercase() || is_word_char(prev) || is_word_char(next) {
        return None;
    }
    // "option B", "选项B", "B项", "B选项".
    let before = trim_end(&lower[..i]);
    let named = FILLERS[..4]
        .iter()
        .any(|f| before.ends_with(&f.chars().collect::<Vec<_>>()))
        || matches!(next, Some('项' | '选'));
    if named {
        return Some(choice);
    }
    // Otherwise a lone capital, unless it reads as a word: the article "A" or pronoun "I"
    // before a word, a contraction ("I'm"), an initial or abbreviation ("J. Smith", "U.S."),
    // or part of a compound ("B-52", "A/B").
    let after = text.get(i + 1..).unwrap_or(&[]);
    let before_word = trim_start(after)
        .first()
        .is_some_and(char::is_ascii_alphabetic)
        && after.first().is_some_and(|c| c.is_whitespace());
    if matches!(c, 'A' | 'I') && before_word {
        return None;
    }
    let joined = |x: Option<char>| matches!(x, Some('\'' | '-' | '/' | '&' | '_'));
    if joined(prev) || joined(next) {
        return None;
    }
    let abbreviation = (next == Some('.')
        && text.get(i + 2).is_some_and(char::is_ascii_alphabetic))
        || (prev == Some('.') && i >= 2 && text[i - 2].is_ascii_alphabetic());
    (!abbreviation).then_some(choice)
}

/// Reads a choice letter starting at `at` (after spaces, an optional colon, an optional filler
/// such as "option", and perhaps in brackets or quotes). Returns the choice and the index just
/// past it.
///
/// A lower-case letter followed by a word does not count ("the answer is a matter of taste");
/// an upper-case one does ("the answer is A because ..."). Only after a statement
/// (`statement`) are a colon and a filler skipped.
fn choice_at(text: &[char], at: usize, n: usize, statement: bool) -> Option<(usize, usize)> {
    let mut i = skip_colon(text, at, statement);
    if statement {
        let filler = FILLERS.iter().find(|f| {
            let f: Vec<char> = f.chars().collect();
            text.get(i..i + f.len())
                .is_some_and(|word| lowercase(word) == f)
        });
        if let Some(filler) = filler {
            i = skip_colon(text, i + filler.chars().count(), true);
        }
    }
    // A bracketed or quoted letter: "(B)", "[B]", "\"B\"".
    let close = match text.get(i) {
        Some('(') => Some(')'),
        Some('[') => Some(']'),
        Some('"') => Some('"'),
        _ => None,
    };
    let bracketed = close.is_some();
    if bracketed {
        i += 1;
    }
    let c = *text.get(i)?;
    let choice = choice_index(c, n)?;
    i += 1;
    if let Some(close) = close {
        if text.get(i) != Some(&close) {
            return None;
        }
        i += 1;
    }
    let next = text.get(i).copied();
    if is_word_char(next) || (!bracketed && next == Some('\'')) {
        return None;
    }
    // A lower-case letter before a word is an article or a word ("a matter of", "i think").
    if c.is_ascii_lowercase()
        && !bracketed
        && next == Some(' ')
        && trim_start(&text[i..])
            .first()
            .is_some_and(char::is_ascii_alphabetic)
    {
        return None;
    }
    Some((choice, i))
}

/// Reads a choice letter ending just before `at` ("B is the correct answer", "(B) 是正确答案").
/// Returns the choice and the index of the letter.
fn choice_before(text: &[char], at: usize, n: usize) -> Option<(usize, usize)> {
    let mut end = trim_end(&text[..at]).len();
    let bracketed = matches!(text.get(end.checked_sub(1)?), Some(')' | ']'));
    if bracketed {
        end -= 1;
    }
    let i = end.checked_sub(1)?;
    let c = text[i];
    let choice = choice_index(c, n)?;
    let prev = i.checked_sub(1).map(|p| text[p]);
    if bracketed && !matches!(prev, Some('(' | '[')) {
        return None;
    }
    if is_word_char(prev) || (!bracketed && !c.is_ascii_uppercase()) {
        return None;
    }
    Some((choice, i))
}

/// Whether another letter follows as an alternative ("A or B", "A和B", "A/B"): then the
/// statement decides nothing.
fn names_another(text: &[char], end: usize, n: usize) -> bool {
    let rest = &text[end.min(text.len())..];
    let rest = trim_start(rest);
    let lower: Vec<char> = rest.iter().take(4).map(char::to_ascii_lowercase).collect();
    let skip = if lower.starts_with(&['o', 'r', ' ']) || lower.starts_with(&['o', 'r', '(']) {
        2
    } else if lower.starts_with(&['a', 'n', 'd', ' ']) {
        3
    } else if matches!(rest.first(), Some('或' | '和' | '、' | '/')) {
        1
    } else {
        return false;
    };
    choice_at(rest, skip, n, false).is_some()
}

/// The option index of a letter, if within the first `n` options.
fn choice_index(c: char, n: usize) -> Option<usize> {
    if !c.is_ascii_alphabetic() {
        return None;
    }
    let index = usize::from(c.to_ascii_uppercase() as u8 - b'A');
    (index < n).then_some(index)
}

/// An ASCII letter or digit: a letter next to one is part of a word.
fn is_word_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric())
}

/// All start indices of `needle` in `haystack`.
fn occurrences<'a>(haystack: &'a [char], needle: &'a [char]) -> impl Iterator<Item = usize> + 'a {
    let last = (haystack.len() + 1).saturating_sub(needle.len().max(1));
    (0..last).filter(move |&i| !needle.is_empty() && haystack[i..].starts_with(needle))
}

/// Latin text must not be matched inside a longer word ("Paris" in "Parisian").
fn at_word_boundaries(text: &[char], start: usize, end: usize) -> bool {
    let starts_word = !text[start].is_ascii_alphanumeric()
        || start == 0
        || !text[start - 1].is_ascii_alphanumeric();
    let ends_word = !text[end - 1].is_ascii_alphanumeric()
        || end == text.len()
        || !text[end].is_ascii_alphanumeric();
    starts_word && ends_word
}

/// The answer as characters, with full-width forms made half-width, `【】` made `[]`, all
/// whitespace made plain spaces, and markdown emphasis removed.
fn normalise(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| !matches!(c, '*' | '`'))
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '【' => '[',
            '】' => ']',
            '\u{2018}' | '\u{2019}' => '\'',
            '\u{201C}' | '\u{201D}' => '"',
            c if c.is_whitespace() => ' ',
            c => c,
        })
        .collect()
}

fn lowercase(text: &[char]) -> Vec<char> {
    text.iter().map(char::to_ascii_lowercase).collect()
}

/// Skips spaces, and with `colon` one colon or dash ("Answer: B", "Answer — B") and the
/// spaces after it.
fn skip_colon(text: &[char], at: usize, colon: bool) -> usize {
    let i = skip_spaces(text, at);
    if colon && matches!(text.get(i), Some(':' | '-' | '—' | '–' | '=')) {
        skip_spaces(text, i + 1)
    } else {
        i
    }
}

fn skip_spaces(text: &[char], mut i: usize) -> usize {
    while text.get(i) == Some(&' ') {
        i += 1;
    }
    i
}

fn trim(text: &[char]) -> &[char] {
    trim_end(trim_start(text))
}

fn trim_start(text: &[char]) -> &[char] {
    let start = text.iter().position(|&c| c != ' ').unwrap_or(text.len());
    &text[start..]
}

fn trim_end(text: &[char]) -> &[char] {
    let end = text.iter().rposition(|&c| c != ' ').map_or(0, |i| i + 1);
    &text[..end]
}

/// Drops trailing sentence punctuation and spaces ("B." → "B", "Paris。" → "Paris").
fn trim_end_punct(text: &[char]) -> &[char] {
    let end = text
        .iter()
        .rposition(|&c| !matches!(c, ' ' | '.' | '。' | '!' | '?' | ',' | ';'))
        .map_or(0, |i| i + 1);
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|s| s.to_string()).collect()
    }

    fn four() -> Vec<String> {
        options(&["London", "Paris", "Berlin", "Madrid"])
    }

    fn pick(answer: &str) -> Option<(usize, &'static str)> {
        extract_choice(answer, &four())
    }

    #[test]
    fn letters() {
        assert_eq!(letter(0), 'A');
        assert_eq!(letter(3), 'D');
        assert_eq!(letter(25), 'Z');
        assert_eq!(letter(26), '?');
    }

    #[test]
    fn explicit_english_statements() {
        for (answer, want) in [
            ("The answer is B", 1),
            ("answer: (B)", 1),
            ("Answer: B.", 1),
            ("The correct answer is option C.", 2),
            ("Final answer: **D**", 3),
            ("I choose D because Madrid is the capital of Spain.", 3),
            ("B is the correct answer.", 1),
            ("Option (C) is the correct answer", 2),
            ("The answer is A because London is in England.", 0),
            ("the answer is (b).", 1),
            ("My answer: b", 1),
            ("I'd go with C.", 2),
            ("The correct answer is \u{201C}B\u{201D}.", 1),
            ("Answer — B", 1),
        ] {
            assert_eq!(pick(answer), Some((want, "explicit")), "{answer}");
        }
    }

    #[test]
    fn explicit_chinese_statements() {
        for (answer, want) in [
            ("答案：B", 1),
            ("答案是B", 1),
            ("答案为 C", 2),
            ("正确答案是：D", 3),
            ("选B", 1),
            ("选择 C", 2),
            ("答案：Ｂ", 1),
            ("答案是（C）。", 2),
            ("答案是选项D。", 3),
            ("我认为应选A，因为伦敦在英国。", 0),
            ("【答案】B", 1),
            ("答案不是A，而是C。", 2),
            ("B 是正确答案。", 1),
        ] {
            assert_eq!(pick(answer), Some((want, "explicit")), "{answer}");
        }
    }

    #[test]
    fn the_last_explicit_statement_wins() {
        assert_eq!(
            pick("At first glance the answer is A, since London is large. On reflection, the answer is C."),
            Some((2, "explicit"))
        );
        assert_eq!(
            pick("I think the answer is C, not B."),
            Some((2, "explicit"))
        );
        let reasoning = "A 选项伦敦是英国首都，B 选项巴黎是法国首都，C 选项柏林是德国首都。题目问的是西班牙，所以答案是 D。";
        assert_eq!(pick(reasoning), Some((3, "explicit")));
        assert_eq!(pick("我不选B，选C。"), Some((2, "explicit")));
    }

    #[test]
    fn statements_that_decide_nothing() {
        // A conclusion naming two letters or ruling one out: no later rule overrules it.
        assert_eq!(pick("The answer is A or B."), None);
        assert_eq!(pick("The answer is not B."), None);
        assert_eq!(pick("答案不是B。"), None);
        assert_eq!(pick("不选B"), None);
        assert_eq!(pick("答案是A和B。"), None);
        // Not statements at all: the later rules still apply.
        assert_eq!(pick("The answer is not obvious."), None);
        assert_eq!(
            pick("The answer is a matter of debate. Paris."),
            Some((1, "option-text"))
        );
        assert_eq!(pick("The answer is A, B is wrong."), Some((0, "explicit")));
    }

    #[test]
    fn bare_letters() {
        for (answer, want) in [
            ("B", 1),
            ("B.", 1),
            ("(B)", 1),
            ("B)", 1),
            ("**B**", 1),
            ("  c  ", 2),
            ("Ｄ", 3),
            ("B. Paris", 1),
            ("(B) Paris.", 1),
            ("b) paris", 1),
        ] {
            assert_eq!(pick(answer), Some((want, "bare-letter")), "{answer}");
        }
    }

    #[test]
    fn leading_letters() {
        for (answer, want) in [
            ("B. Paris is the capital of France.", 1),
            ("(C) Berlin, because the question is about Germany.", 2),
            ("D: Madrid, the capital of Spain.", 3),
            ("选项B：巴黎是法国的首都。", 1),
            ("B、巴黎", 1),
            ("B. Paris; Berlin is the capital of Germany, not France.", 1),
        ] {
            assert_eq!(pick(answer), Some((want, "leading-letter")), "{answer}");
        }
        // Walking through the options is not choosing the first.
        assert_eq!(pick("A. London - no.\nB. Paris - yes."), None);
        assert_eq!(pick("Option A is London, option B is Paris."), None);
    }

    #[test]
    fn option_text() {
        assert_eq!(
            pick("Paris is the capital of France."),
            Some((1, "option-text"))
        );
        assert_eq!(pick("It is PARIS."), Some((1, "option-text")));
        // Several options: undecided. A word containing an option is not the option.
        assert_eq!(pick("Either Paris or Berlin."), None);
        assert_eq!(pick("A Parisian café."), None);
        let korea = options(&["Korea", "North Korea", "Japan"]);
        assert_eq!(
            extract_choice("It is North Korea.", &korea),
            Some((1, "option-text"))
        );
        assert_eq!(
            extract_choice("North Korea and Korea differ.", &korea),
            None
        );
        let zh = options(&["北京", "上海", "广州", "深圳"]);
        assert_eq!(
            extract_choice("中国的首都是北京。", &zh),
            Some((0, "option-text"))
        );
    }

    #[test]
    fn isolated_letters() {
        assert_eq!(
            pick("Hmm, tricky. I'd lean towards (C) here."),
            Some((2, "isolated-letter"))
        );
        assert_eq!(pick("我觉得B项最合适。"), Some((1, "isolated-letter")));
        assert_eq!(
            pick("I'd say option D seems best."),
            Some((3, "isolated-letter"))
        );
        assert_eq!(pick("Probably D."), Some((3, "isolated-letter")));
        // Several letters: undecided.
        assert_eq!(pick("Both (A) and (C) look plausible."), None);
    }

    #[test]
    fn words_are_not_letters() {
        // The article "A", the pronoun "I", contractions, abbreviations and compounds.
        assert_eq!(pick("A good question, but I'm not sure."), None);
        assert_eq!(pick("I don't know."), None);
        assert_eq!(pick("A B-52 flew over the U.S. capital."), None);
        assert_eq!(
            pick("A good question. Paris, of course."),
            Some((1, "option-text"))
        );
    }

    #[test]
    fn letters_past_the_options_are_ignored() {
        assert_eq!(pick("The answer is E."), None);
        assert_eq!(pick("E"), None);
        assert_eq!(
            pick("The answer is E. Wait, the answer is B."),
            Some((1, "explicit"))
        );
        let two = options(&["Yes", "No"]);
        assert_eq!(extract_choice("(C)", &two), None);
        assert_eq!(extract_choice("B", &[]), None);
    }

    #[test]
    fn grades_against_the_key() {
        let choices = four();
        let g = grade_mcq("The answer is D.", &choices, 3);
        assert_eq!(
            g,
            McqGrade {
                chosen: Some(3),
                correct: true,
                rule: "explicit"
            }
        );
        let g = grade_mcq("答案是 A", &choices, 3);
        assert_eq!(g.chosen, Some(0));
        assert!(!g.correct);
        let g = grade_mcq("I cannot answer that.", &choices, 3);
        assert_eq!(
            g,
            McqGrade {
                chosen: None,
                correct: false,
                rule: "no-choice"
            }
        );
    }
}
