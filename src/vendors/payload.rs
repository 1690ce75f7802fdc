//! A vendor's JSON object kept as it was sent, with its typed text fields read in place.
//!
//! Decoding an invitation keeps one copy of the object's bytes (not the answer's buffer, which
//! can be the connection's) and remembers where each typed string lies in them, so the
//! lossless payload costs one allocation instead of one per field (and none per unknown
//! field). Strings the vendor wrote with escapes are the exception: their
//! decoded text is kept on its own.

use std::borrow::Cow;

use serde::de::Error as _;
use serde_json::{Map, Value};

/// A string field of a kept JSON object: where it lies in the object's text, or its own
/// text when the vendor escaped something in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Text {
    /// The bytes `start..end` of the object's text.
    Span { start: u32, end: u32 },
    /// Decoded text that is not in the object as it is (it had escapes).
    Owned(Box<str>),
}

impl Text {
    /// A string decoded from `source`: borrowed ones become spans of it.
    pub(crate) fn new(source: &[u8], value: Cow<'_, str>) -> Text {
        if let Cow::Borrowed(text) = &value {
            let base = source.as_ptr() as usize;
            let at = text.as_ptr() as usize;
            if let Some(start) = at.checked_sub(base) {
                let end = start + text.len();
                if end <= source.len() {
                    if let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(end)) {
                        return Text::Span { start, end };
                    }
                }
            }
        }
        Text::Owned(value.into_owned().into_boxed_str())
    }

    /// An optional string decoded from `source`; empty strings are absent when
    /// `empty_is_none`.
    pub(crate) fn optional(
        source: &[u8],
        value: Option<Str<'_>>,
        empty_is_none: bool,
    ) -> Option<Text> {
        value
            .map(|value| value.0)
            .filter(|value| !(empty_is_none && value.is_empty()))
            .map(|value| Text::new(source, value))
    }

    /// The text, from the object's `source` it was decoded from (which held it as UTF-8).
    pub(crate) fn get<'a>(&'a self, source: &'a [u8]) -> &'a str {
        match self {
            Text::Span { start, end } => source
                .get(*start as usize..*end as usize)
                .and_then(|span| std::str::from_utf8(span).ok())
                .unwrap_or(""),
            Text::Owned(text) => text,
        }
    }
}

/// A JSON string, borrowed from the text it is read from unless it had escapes.
///
/// (`Option<Cow<str>>` fields always copy: serde borrows only a bare `Cow` field.)
#[derive(Debug)]
pub(crate) struct Str<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                text: &'de str,
            ) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(text)))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(text.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// The JSON text of `body` without the whitespace JSON allows around a value, or an error
/// when the body is not UTF-8.
pub(crate) fn json_text(body: &[u8]) -> Result<&str, serde_json::Error> {
    let text = std::str::from_utf8(body)
        .map_err(|_| serde_json::Error::custom("the body is not UTF-8"))?;
    Ok(text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r')))
}

/// Text already checked to be UTF-8 (empty otherwise).
pub(crate) fn checked_text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// One member of the JSON object `json`, decoded; `None` when it has no such member.
pub(crate) fn field(json: &str, name: &str) -> Option<Value> {
    let mut object: Map<String, Value> = serde_json::from_str(json).ok()?;
    object.remove(name)
}

/// Writes the JSON object `json` through any serializer.
pub(crate) fn serialize<S: serde::Serializer>(
    json: &str,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::Error as _;
    use serde::Serialize as _;
    let value: Value = serde_json::from_str(json).map_err(S::Error::custom)?;
    value.serialize(serializer)
}

/// Reads a JSON object from any deserializer, as text.
pub(crate) fn deserialize_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    use serde::Deserialize as _;
    let value = Value::deserialize(deserializer)?;
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn borrowed_strings_are_spans_and_escaped_ones_are_kept() {
        let source = r#"{"a":"plain","b":"es\"caped"}"#;
        #[derive(serde::Deserialize)]
        struct Wire<'a> {
            #[serde(borrow)]
            a: Option<Str<'a>>,
            #[serde(borrow)]
            b: Option<Str<'a>>,
        }
        let wire: Wire = serde_json::from_str(source).unwrap();
        let bytes = source.as_bytes();
        let a = Text::optional(bytes, wire.a, false).unwrap();
        let b = Text::optional(bytes, wire.b, false).unwrap();
        assert_eq!(a, Text::Span { start: 6, end: 11 });
        assert_eq!(a.get(bytes), "plain");
        assert_eq!(b, Text::Owned("es\"caped".into()));
        assert_eq!(b.get(bytes), "es\"caped");
        // Text from elsewhere is never taken for a span.
        assert_eq!(
            Text::new(bytes, Cow::Borrowed("elsewhere")),
            Text::Owned("elsewhere".into())
        );
    }

    #[test]
    fn json_text_trims_json_whitespace_only() {
        assert_eq!(json_text(b" \r\n\t{} \n").unwrap(), "{}");
        assert!(json_text(b"{\"a\":\"\xff\"}").is_err());
        // A view of the same bytes, not a copy.
        let body = Bytes::from_static(b" {\"a\": 1}\n");
        let text = json_text(&body).unwrap();
        assert_eq!(text, "{\"a\": 1}");
        assert_eq!(text.as_ptr(), body[1..].as_ptr());
    }

    #[test]
    fn fields_are_read_on_demand() {
        let json = r#"{"a":{"b":[1,2]},"c":null}"#;
        assert_eq!(field(json, "a"), Some(serde_json::json!({"b": [1, 2]})));
        assert_eq!(field(json, "c"), Some(Value::Null));
        assert_eq!(field(json, "d"), None);
    }
}
