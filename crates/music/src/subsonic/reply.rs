//! Subsonic answers as one tree written two ways. The API's XML puts scalar fields in
//! attributes and lists in repeated elements; its JSON turns the same tree into objects
//! whose lists are arrays named after the element. Building one [`El`] per entity and
//! rendering it either way keeps the two forms from drifting apart.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// The Subsonic API version we answer to (with the OpenSubsonic extensions).
pub const API_VERSION: &str = "1.16.1";

/// One element: its scalar fields, children and text.
#[derive(Debug, Clone)]
pub struct El {
    name: &'static str,
    attrs: Vec<(&'static str, Value)>,
    kids: Vec<Kid>,
    text: Option<String>,
}

#[derive(Debug, Clone)]
enum Kid {
    /// A single child object (`"album": {…}`).
    One(El),
    /// A list of children under one name (`"song": [ … ]`), also when empty.
    Many(&'static str, Vec<El>),
    /// A list of scalars (`"versions": [1]`, `<versions>1</versions>`).
    Values(&'static str, Vec<Value>),
}

impl El {
    pub fn new(name: &'static str) -> El {
        El {
            name,
            attrs: Vec::new(),
            kids: Vec::new(),
            text: None,
        }
    }

    pub fn attr(mut self, key: &'static str, value: impl Into<Value>) -> El {
        self.attrs.push((key, value.into()));
        self
    }

    /// Leaves the field out when there is no value (Subsonic omits unknown fields).
    pub fn attr_opt<V: Into<Value>>(self, key: &'static str, value: Option<V>) -> El {
        match value {
            Some(v) => self.attr(key, v),
            None => self,
        }
    }

    pub fn one(mut self, child: El) -> El {
        self.kids.push(Kid::One(child));
        self
    }

    pub fn many(mut self, name: &'static str, children: Vec<El>) -> El {
        self.kids.push(Kid::Many(name, children));
        self
    }

    pub fn values(mut self, name: &'static str, values: Vec<Value>) -> El {
        self.kids.push(Kid::Values(name, values));
        self
    }

    pub fn text(mut self, text: impl Into<String>) -> El {
        self.text = Some(text.into());
        self
    }

    fn json(&self) -> Value {
        let mut map = Map::new();
        for (k, v) in &self.attrs {
            map.insert((*k).to_string(), v.clone());
        }
        for kid in &self.kids {
            match kid {
                Kid::One(el) => {
                    map.insert(el.name.to_string(), el.json());
                }
                Kid::Many(name, els) => {
                    map.insert(
                        (*name).to_string(),
                        Value::Array(els.iter().map(El::json).collect()),
                    );
                }
                Kid::Values(name, values) => {
                    map.insert((*name).to_string(), Value::Array(values.clone()));
                }
            }
        }
        if let Some(text) = &self.text {
            map.insert("value".into(), Value::String(text.clone()));
        }
        Value::Object(map)
    }

    fn xml(&self, out: &mut String, xmlns: bool) {
        out.push('<');
        out.push_str(self.name);
        if xmlns {
            out.push_str(" xmlns=\"http://subsonic.org/restapi\"");
        }
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            out.push_str(&escape(&scalar(v)));
            out.push('"');
        }
        if self.kids.is_empty() && self.text.is_none() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for kid in &self.kids {
            match kid {
                Kid::One(el) => el.xml(out, false),
                Kid::Many(_, els) => els.iter().for_each(|el| el.xml(out, false)),
                Kid::Values(name, values) => {
                    for v in values {
                        out.push_str(&format!("<{name}>{}</{name}>", escape(&scalar(v))));
                    }
                }
            }
        }
        if let Some(text) = &self.text {
            out.push_str(&escape(text));
        }
        out.push_str(&format!("</{}>", self.name));
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// XML-escaped text without the control characters XML 1.0 cannot carry at all (a
/// stray one in a tag read from a file would make the whole answer unreadable).
fn escape(raw: &str) -> String {
    let clean: String = raw
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect();
    quick_xml::escape::escape(clean.as_str()).into_owned()
}

/// The error codes of the Subsonic API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Generic = 0,
    MissingParameter = 10,
    WrongCredentials = 40,
    TokenNotSupported = 41,
    MechanismNotSupported = 42,
    ConflictingMechanisms = 43,
    InvalidApiKey = 44,
    NotAuthorized = 50,
    NotFound = 70,
}

/// A refused call: an envelope with status `failed`.
#[derive(Debug, Clone)]
pub struct Fail {
    pub code: Code,
    pub message: String,
}

impl Fail {
    pub fn new(code: Code, message: impl Into<String>) -> Fail {
        Fail {
            code,
            message: message.into(),
        }
    }

    pub fn missing(param: &str) -> Fail {
        Fail::new(
            Code::MissingParameter,
            format!("Required parameter is missing: {param}"),
        )
    }

    pub fn not_found(what: impl Into<String>) -> Fail {
        Fail::new(Code::NotFound, what)
    }
}

impl From<crate::MusicError> for Fail {
    fn from(e: crate::MusicError) -> Fail {
        match e {
            crate::MusicError::NotFound { detail } => Fail::not_found(detail),
            crate::MusicError::Invalid { detail, .. } => Fail::new(Code::Generic, detail),
            crate::MusicError::Forbidden { detail, .. } => Fail::new(Code::NotAuthorized, detail),
            other => {
                tracing::error!(error = %other, "subsonic call failed");
                Fail::new(Code::Generic, "the server could not answer; try again")
            }
        }
    }
}

impl From<tutti_store::StoreError> for Fail {
    fn from(e: tutti_store::StoreError) -> Fail {
        Fail::from(crate::MusicError::from(e))
    }
}

/// The response format a client asked for with `f`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
    /// JSON wrapped in a call of the client's function.
    Jsonp(String),
}

impl Format {
    pub fn from_params(f: Option<&str>, callback: Option<&str>) -> Format {
        match f {
            Some("json") => Format::Json,
            Some("jsonp") => {
                let cb: String = callback
                    .unwrap_or("callback")
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$'))
                    .take(64)
                    .collect();
                if cb.is_empty() {
                    Format::Json
                } else {
                    Format::Jsonp(cb)
                }
            }
            _ => Format::Xml,
        }
    }
}

fn envelope(status: &'static str) -> El {
    El::new("subsonic-response")
        .attr("status", status)
        .attr("version", API_VERSION)
        .attr("type", "tutti")
        .attr("serverVersion", env!("CARGO_PKG_VERSION"))
        .attr("openSubsonic", true)
}

/// An answer with `payload` inside the envelope (none for `ping`).
pub fn ok(format: &Format, payload: Option<El>) -> Response {
    let mut env = envelope("ok");
    if let Some(p) = payload {
        env = env.one(p);
    }
    render(format, &env)
}

/// An answer whose payload is a bare list in the envelope (`openSubsonicExtensions`).
pub fn ok_many(format: &Format, name: &'static str, items: Vec<El>) -> Response {
    render(format, &envelope("ok").many(name, items))
}

/// A failed call's envelope. Subsonic clients read the code, not the HTTP status.
pub fn failed(format: &Format, fail: &Fail) -> Response {
    let env = envelope("failed").one(
        El::new("error")
            .attr("code", fail.code as i64)
            .attr("message", fail.message.clone()),
    );
    render(format, &env)
}

fn render(format: &Format, env: &El) -> Response {
    let (body, content_type) = match format {
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
            env.xml(&mut out, true);
            (out, "text/xml; charset=utf-8")
        }
        Format::Json => (json_of(env), "application/json"),
        Format::Jsonp(cb) => (format!("{cb}({});", json_of(env)), "text/javascript"),
    };
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn json_of(env: &El) -> String {
    let mut outer = Map::new();
    outer.insert("subsonic-response".into(), env.json());
    Value::Object(outer).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> El {
        El::new("album")
            .attr("id", "a1")
            .attr("name", "Fish & <Chips> \u{1}")
            .attr("songCount", 2)
            .attr("starred", Value::Null)
            .many(
                "song",
                vec![
                    El::new("song").attr("id", "s1"),
                    El::new("song").attr("id", "s2"),
                ],
            )
            .many("genres", vec![])
            .values("versions", vec![1.into()])
    }

    #[test]
    fn xml_puts_fields_in_attributes_and_lists_in_repeated_elements() {
        let mut out = String::new();
        sample().xml(&mut out, false);
        assert_eq!(
            out,
            "<album id=\"a1\" name=\"Fish &amp; &lt;Chips&gt; \" songCount=\"2\" starred=\"\">\
             <song id=\"s1\"/><song id=\"s2\"/><versions>1</versions></album>"
        );
    }

    #[test]
    fn json_names_lists_after_their_elements_and_keeps_types() {
        let v = sample().json();
        assert_eq!(v["songCount"], 2);
        assert_eq!(v["song"][1]["id"], "s2");
        assert_eq!(v["genres"], serde_json::json!([]));
        assert_eq!(v["versions"], serde_json::json!([1]));
        let text = El::new("lyrics").attr("artist", "A").text("la la").json();
        assert_eq!(text["value"], "la la");
    }

    #[test]
    fn the_envelope_says_who_answers() {
        let env = envelope("ok").json();
        assert_eq!(env["openSubsonic"], true);
        assert_eq!(env["type"], "tutti");
        assert_eq!(env["version"], API_VERSION);
    }
}
