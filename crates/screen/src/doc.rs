//! The fields of a JSON Lines document that screening reads, taken from the line without
//! building the whole value: strings are borrowed from the line when they have no escapes.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::Deserializer;

/// Which fields hold the text, the URL and the source.
#[derive(Debug, Clone)]
pub struct FieldNames {
    pub text: String,
    pub url: String,
    pub source: Option<String>,
}

/// The fields found in one document (absent ones are `None`; non-string values too).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fields<'a> {
    pub text: Option<Cow<'a, str>>,
    pub url: Option<Cow<'a, str>>,
    pub source: Option<Cow<'a, str>>,
}

mod fast;

/// Reads the named fields of a JSON object; anything but an object is an error.
pub fn extract<'a>(line: &'a str, names: &FieldNames) -> Result<Fields<'a>, serde_json::Error> {
    if let Some(fields) = fast::extract(line, names) {
        return Ok(fields);
    }
    extract_with_serde(line, names)
}

/// [`extract`] by serde_json, which reads any line and says what is wrong with a bad one.
fn extract_with_serde<'a>(
    line: &'a str,
    names: &FieldNames,
) -> Result<Fields<'a>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(line);
    let fields = names.deserialize(&mut de)?;
    de.end()?;
    Ok(fields)
}

impl<'de> DeserializeSeed<'de> for &FieldNames {
    type Value = Fields<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Fields<'de>, D::Error> {
        deserializer.deserialize_map(FieldsVisitor(self))
    }
}

struct FieldsVisitor<'n>(&'n FieldNames);

impl<'de> Visitor<'de> for FieldsVisitor<'_> {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Fields<'de>, M::Error> {
        let names = self.0;
        let mut fields = Fields::default();
        while let Some(key) = map.next_key::<Str<'de>>()? {
            let key = key.0;
            if key == names.text {
                fields.text = map.next_value::<MaybeStr<'de>>()?.0;
            } else if key == names.url {
                fields.url = map.next_value::<MaybeStr<'de>>()?.0;
            } else if names.source.as_deref() == Some(&*key) {
                fields.source = map.next_value::<MaybeStr<'de>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(fields)
    }
}

/// A string, borrowed when it can be.
struct Str<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A string, or `None` for any other value (null, a number, an object).
struct MaybeStr<'de>(Option<Cow<'de, str>>);

impl<'de> de::Deserialize<'de> for MaybeStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(Some(Cow::Owned(v))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<MaybeStr<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeStr(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MaybeStr<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field names the tests of this module and of [`fast`] read.
    pub(super) fn names() -> FieldNames {
        FieldNames {
            text: "text".into(),
            url: "url".into(),
            source: Some("src".into()),
        }
    }

    #[test]
    fn fields_are_borrowed_when_plain() {
        let line = r#"{"id": 1, "text": "hello \"world\"", "url": "http://a.com/x", "meta": {"text": "no"}, "src": null}"#;
        let f = extract(line, &names()).unwrap();
        assert_eq!(f.text.as_deref(), Some("hello \"world\""));
        assert!(matches!(f.url, Some(Cow::Borrowed("http://a.com/x"))));
        assert_eq!(f.source, None);
        assert!(extract("[1, 2]", &names()).is_err());
        assert!(extract(r#"{"text": "a"} trailing"#, &names()).is_err());
        assert_eq!(extract(r#"{"text": 5}"#, &names()).unwrap().text, None);
    }
}
