//! Strict JSON: UTF-8, an object at the top, no duplicate member names (SPEC.md section 1).
//!
//! `serde_json::Value` keeps the last of two equal names silently, which would let a signed
//! payload say two things at once. This module parses through a visitor that refuses duplicates
//! at every depth, then hands out a plain `serde_json::Map`.

use core::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::Error;

/// Deepest nesting accepted; serde_json also stops at 128, this keeps our own bound explicit.
const MAX_DEPTH: usize = 64;

/// Parses bytes as a strict JSON object.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, Error> {
    let text = core::str::from_utf8(bytes).map_err(|_| Error::JsonNotUtf8)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = StrictSeed { depth: 0 }
        .deserialize(&mut de)
        .map_err(map_err)?;
    de.end().map_err(map_err)?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(Error::JsonNotObject),
    }
}

const DUPLICATE_PREFIX: &str = "cellproof-duplicate-member:";

fn map_err(e: serde_json::Error) -> Error {
    let msg = e.to_string();
    if let Some(rest) = msg.strip_prefix(DUPLICATE_PREFIX) {
        // serde_json appends " at line X column Y" to custom messages.
        let name = rest.rsplit_once(" at line ").map_or(rest, |(n, _)| n);
        return Error::JsonDuplicateMember {
            name: name.to_owned(),
        };
    }
    Error::JsonInvalid { detail: msg }
}

struct StrictSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor { depth: self.depth })
    }
}

struct StrictVisitor {
    depth: usize,
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(de::Error::custom("nesting too deep"));
        }
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictSeed { depth })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(de::Error::custom("nesting too deep"));
        }
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("{DUPLICATE_PREFIX}{key}")));
            }
            let v = map.next_value_seed(StrictSeed { depth })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// Typed accessors over a JSON object, producing `ClaimInvalid` with the member's path.
pub(crate) struct Obj<'a> {
    pub(crate) map: &'a Map<String, Value>,
    pub(crate) path: &'a str,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(map: &'a Map<String, Value>, path: &'a str) -> Self {
        Obj { map, path }
    }

    fn field(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    pub(crate) fn err(&self, name: &str, reason: &'static str) -> Error {
        Error::ClaimInvalid {
            field: self.field(name),
            reason,
        }
    }

    pub(crate) fn opt_str(&self, name: &str) -> Result<Option<&'a str>, Error> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(self.err(name, "must be a string")),
        }
    }

    pub(crate) fn str(&self, name: &str) -> Result<&'a str, Error> {
        self.opt_str(name)?
            .ok_or_else(|| self.err(name, "is missing"))
    }

    pub(crate) fn opt_u64(&self, name: &str) -> Result<Option<u64>, Error> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.err(name, "must be a non-negative integer")),
            Some(_) => Err(self.err(name, "must be a non-negative integer")),
        }
    }

    pub(crate) fn u64(&self, name: &str) -> Result<u64, Error> {
        self.opt_u64(name)?
            .ok_or_else(|| self.err(name, "is missing"))
    }

    pub(crate) fn opt_f64(&self, name: &str) -> Result<Option<f64>, Error> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.err(name, "must be a number")),
            Some(_) => Err(self.err(name, "must be a number")),
        }
    }

    pub(crate) fn opt_obj(&self, name: &str) -> Result<Option<&'a Map<String, Value>>, Error> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(self.err(name, "must be an object")),
        }
    }

    pub(crate) fn obj(&self, name: &str) -> Result<&'a Map<String, Value>, Error> {
        self.opt_obj(name)?
            .ok_or_else(|| self.err(name, "is missing"))
    }

    pub(crate) fn opt_array(&self, name: &str) -> Result<Option<&'a Vec<Value>>, Error> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(self.err(name, "must be an array")),
        }
    }

    pub(crate) fn array(&self, name: &str) -> Result<&'a Vec<Value>, Error> {
        self.opt_array(name)?
            .ok_or_else(|| self.err(name, "is missing"))
    }

    /// An array of strings.
    pub(crate) fn strings(&self, name: &str) -> Result<Vec<String>, Error> {
        self.array(name)?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| self.err(name, "must hold strings"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_duplicates_at_any_depth() {
        let e = parse_object(br#"{"a":1,"a":2}"#).unwrap_err();
        assert_eq!(e, Error::JsonDuplicateMember { name: "a".into() });
        let e = parse_object(br#"{"bp":{"cat":"ev","x":[{"k":1,"k":1}]}}"#).unwrap_err();
        assert_eq!(e.code(), "json_duplicate_member");
    }

    #[test]
    fn refuses_non_objects_bad_utf8_and_trailing_bytes() {
        assert_eq!(parse_object(b"[1]").unwrap_err(), Error::JsonNotObject);
        assert_eq!(
            parse_object(b"{\"a\":\"\xff\"}").unwrap_err(),
            Error::JsonNotUtf8
        );
        assert_eq!(parse_object(b"{} {}").unwrap_err().code(), "json_invalid");
        assert_eq!(parse_object(b"{").unwrap_err().code(), "json_invalid");
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100), "]".repeat(100));
        assert_eq!(
            parse_object(deep.as_bytes()).unwrap_err().code(),
            "json_invalid"
        );
    }

    #[test]
    fn keeps_values() {
        let m = parse_object(br#"{"n":1.5,"s":"x","o":{"b":true,"z":null}}"#).unwrap();
        assert_eq!(m["n"], Value::from(1.5));
        assert_eq!(m["o"]["b"], Value::Bool(true));
    }
}
