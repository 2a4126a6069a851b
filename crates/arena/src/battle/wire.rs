//! The record as it is on the wire (the LMSYS field layout), read and written by serde.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Battle, Style, Winner};

/// A problem with one field of one record.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct FieldError {
    pub(super) field: String,
    pub(super) message: String,
}

impl FieldError {
    fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field `{}`: {}", self.field, self.message)
    }
}

/// The record as it is on the wire; the fast, typed path. `M` is what `conv_metadata` is read
/// as: [`RawMeta`], or [`de::IgnoredAny`] when the style features are not wanted (skipping them
/// is a fifth of the parse).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(expecting = "a battle record (a JSON object)")]
pub(super) struct RawBattle<M = RawMeta> {
    model_a: String,
    model_b: String,
    winner: Winner,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    anony: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    turn: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tstamp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    conv_metadata: Option<M>,
    #[serde(default, skip_serializing_if = "is_false")]
    excluded: Option<bool>,
}

fn is_false(v: &Option<bool>) -> bool {
    !v.unwrap_or(false)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct RawMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sum_assistant_a_tokens: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sum_assistant_b_tokens: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    header_count_a: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    header_count_b: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    list_count_a: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    list_count_b: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bold_count_a: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bold_count_b: Option<Count>,
}

/// A count: a number, or an object of numbers that are summed (`{"h1": 0, "h2": 3}`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Count(f64);

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Write whole counts as integers: FastChat tests `isinstance(val, int)`.
        if self.0.fract() == 0.0 && self.0 >= 0.0 && self.0 < 9.0e15 {
            s.serialize_u64(self.0 as u64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        struct CountVisitor;
        impl<'de> Visitor<'de> for CountVisitor {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or an object of numbers")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                Ok(Count(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Count, E> {
                Ok(Count(v))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Count, M::Error> {
                let mut total = 0.0;
                while let Some((_, v)) = map.next_entry::<KeyName, f64>()? {
                    total += v;
                }
                Ok(Count(total))
            }
        }
        d.deserialize_any(CountVisitor)
    }
}

/// A key of a count's object, read as a string (never kept) so that an error in its value can
/// name it; skipping it instead would leave the error without the key.
struct KeyName;

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KeyName, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<KeyName, E> {
                Ok(KeyName)
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// The style features a record's `conv_metadata` gives, if any.
pub(super) trait ReadStyle {
    fn style(self) -> Option<(Style, Style)>;
}

impl ReadStyle for de::IgnoredAny {
    fn style(self) -> Option<(Style, Style)> {
        None
    }
}

impl ReadStyle for RawMeta {
    fn style(self) -> Option<(Style, Style)> {
        let side = |tokens: Option<Count>,
                    headers: Option<Count>,
                    lists: Option<Count>,
                    bold: Option<Count>| {
            Some(Style {
                tokens: tokens?.0,
                headers: headers?.0,
                lists: lists?.0,
                bold: bold?.0,
            })
        };
        let a = side(
            self.sum_assistant_a_tokens,
            self.header_count_a,
            self.list_count_a,
            self.bold_count_a,
        )?;
        let b = side(
            self.sum_assistant_b_tokens,
            self.header_count_b,
            self.list_count_b,
            self.bold_count_b,
        )?;
        Some((a, b))
    }
}

impl<M: ReadStyle> TryFrom<RawBattle<M>> for Battle {
    type Error = FieldError;

    fn try_from(raw: RawBattle<M>) -> Result<Battle, FieldError> {
        if raw.model_a.is_empty() {
            return Err(FieldError::new("model_a", "empty model name"));
        }
        if raw.model_b.is_empty() {
            return Err(FieldError::new("model_b", "empty model name"));
        }
        let style = raw.conv_metadata.and_then(ReadStyle::style);
        Ok(Battle {
            model_a: raw.model_a,
            model_b: raw.model_b,
            winner: raw.winner,
            language: raw.language,
            anony: raw.anony.unwrap_or(false),
            turn: raw.turn.unwrap_or(1),
            tstamp: raw.tstamp.unwrap_or(0.0),
            style,
            excluded: raw.excluded.unwrap_or(false),
        })
    }
}

impl From<Battle> for RawBattle {
    fn from(b: Battle) -> RawBattle {
        let conv_metadata = b.style.map(|(a, bb)| RawMeta {
            sum_assistant_a_tokens: Some(Count(a.tokens)),
            sum_assistant_b_tokens: Some(Count(bb.tokens)),
            header_count_a: Some(Count(a.headers)),
            header_count_b: Some(Count(bb.headers)),
            list_count_a: Some(Count(a.lists)),
            list_count_b: Some(Count(bb.lists)),
            bold_count_a: Some(Count(a.bold)),
            bold_count_b: Some(Count(bb.bold)),
        });
        RawBattle {
            model_a: b.model_a,
            model_b: b.model_b,
            winner: b.winner,
            language: b.language,
            anony: Some(b.anony),
            turn: Some(b.turn),
            tstamp: Some(b.tstamp),
            conv_metadata,
            excluded: Some(b.excluded),
        }
    }
}
