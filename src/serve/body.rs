//! Request bodies: JSON or `application/x-www-form-urlencoded` (LibreTranslate clients send
//! both), read into one JSON object so that both APIs parse their fields once.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use percent_encoding::percent_decode;
use serde_json::{Map, Value};

use super::error::ApiError;

/// The fields of a request body. A repeated form key becomes a list, like a JSON list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = ApiError;

    /// The fields [`super::gate`] already read, else the body read now.
    async fn from_request(mut req: Request, state: &S) -> Result<Self, ApiError> {
        if let Some(fields) = req.extensions_mut().remove::<Fields>() {
            return Ok(fields);
        }
        let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(status, "request body too large")
            } else {
                ApiError::new(status, format!("cannot read the request body: {e}"))
            }
        })?;
        Fields::parse(content_type.as_ref().and_then(|v| v.to_str().ok()), &bytes)
    }
}

impl Fields {
    /// The fields of a body of `content_type`: a form for
    /// `application/x-www-form-urlencoded`, else JSON. Errors (400) as [`parse_form`] and
    /// [`parse_json`].
    pub fn parse(content_type: Option<&str>, bytes: &[u8]) -> Result<Self, ApiError> {
        let form = content_type.is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if form {
            parse_form(bytes).map(Fields)
        } else {
            parse_json(bytes).map(Fields)
        }
    }
}

/// A JSON object. Errors (400): invalid UTF-8, invalid JSON, or JSON that is not an object.
pub fn parse_json(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    std::str::from_utf8(bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid UTF-8: {e}")))?;
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("the JSON body must be an object")),
        Err(e) => Err(ApiError::bad_request(format!("invalid JSON body: {e}"))),
    }
}

/// `a=1&b=x+y&b=z` → `{"a": "1", "b": ["x y", "z"]}`. Errors (400): a key or value that is
/// not valid UTF-8 once percent-decoded.
pub fn parse_form(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let mut map = Map::new();
    for pair in bytes.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let mut kv = pair.splitn(2, |&b| b == b'=');
        let key = decode(kv.next().unwrap_or_default())?;
        let value = Value::String(decode(kv.next().unwrap_or_default())?);
        match map.get_mut(&key) {
            None => {
                map.insert(key, value);
            }
            Some(Value::Array(list)) => list.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
        }
    }
    Ok(map)
}

fn decode(part: &[u8]) -> Result<String, ApiError> {
    let plus_as_space: Vec<u8> = part
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|e| ApiError::bad_request(format!("a form field is not valid UTF-8: {e}")))
}

/// Typed access to [`Fields`], accepting numbers written as strings (form bodies have only
/// strings).
impl Fields {
    /// Checks that every field is one of `known`. Errors (400): the first unknown field, named.
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) => Err(ApiError::bad_request(format!(
                "Invalid request: unknown field {k:?} (known: {})",
                known.join(", ")
            ))),
        }
    }

    /// A string field. Errors (400): present but not a string.
    pub fn string(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::bad_request(format!(
                "Invalid request: {key} must be a string"
            ))),
        }
    }

    /// A text or a list of texts, and whether it was a list. Errors (400): anything else.
    pub fn texts(&self, key: &str) -> Result<Option<(Vec<String>, bool)>, ApiError> {
        let invalid = || {
            ApiError::bad_request(format!(
                "Invalid request: {key} must be a string or a list of strings"
            ))
        };
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some((vec![s.clone()], false))),
            Some(Value::Array(list)) => {
                let texts = list
                    .iter()
                    .map(|v| v.as_str().map(str::to_string).ok_or_else(invalid))
                    .collect::<Result<_, _>>()?;
                Ok(Some((texts, true)))
            }
            Some(_) => Err(invalid()),
        }
    }

    /// A non-negative integer field. Errors (400): present but not one.
    pub fn count(&self, key: &str) -> Result<Option<usize>, ApiError> {
        let invalid = || {
            ApiError::bad_request(format!(
                "Invalid request: {key} must be a non-negative integer"
            ))
        };
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(|n| Some(n as usize)).ok_or_else(invalid),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| invalid()),
            Some(_) => Err(invalid()),
        }
    }

    /// A number field. Errors (400): present but not a number.
    pub fn number(&self, key: &str) -> Result<Option<f64>, ApiError> {
        let invalid = || ApiError::bad_request(format!("Invalid request: {key} must be a number"));
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_f64().map(Some).ok_or_else(invalid),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| invalid()),
            Some(_) => Err(invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_percent_and_repeated_keys() {
        let m = parse_form(b"q=ein+Hund&q=%C3%A4&source=de&alternatives=2").unwrap();
        assert_eq!(m["q"], serde_json::json!(["ein Hund", "ä"]));
        assert_eq!(Fields(m).count("alternatives").unwrap(), Some(2));
        assert!(parse_form(b"q=%FF").is_err());
    }

    #[test]
    fn json_must_be_an_object_of_valid_utf8() {
        assert!(parse_json(b"{\"q\": \"x\"}").is_ok());
        assert!(parse_json(b"[1]").is_err());
        assert!(parse_json(b"{\"q\": \"\xff\"}")
            .unwrap_err()
            .message
            .contains("UTF-8"));
        assert!(parse_json(b"{")
            .unwrap_err()
            .message
            .contains("invalid JSON"));
    }
}
