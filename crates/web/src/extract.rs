//! Extractors that parse request bodies and queries into typed values, and answer bad
//! input with a problem naming the field at fault instead of axum's plain-text rejections.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::Problem;

/// A JSON body; `Content-Type: application/json` is required. Fields the type does not
/// know are refused rather than dropped, so a misspelt field is an error the client sees.
pub struct Json<T>(pub T);

/// The largest JSON body any API operation takes; uploads go through tus, not JSON.
pub const MAX_JSON_BYTES: usize = 1 << 20;

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        if !is_json {
            return Err(Problem::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Send a JSON body with `Content-Type: application/json`.",
            ));
        }
        let _ = state;
        let bytes = axum::body::to_bytes(req.into_body(), MAX_JSON_BYTES)
            .await
            .map_err(|_| Problem::from_status(axum::http::StatusCode::PAYLOAD_TOO_LARGE))?;
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            Problem::bad_request(
                "malformed-json",
                format!("The body is not valid JSON: {e}."),
            )
        })?;
        whole_numbers_as_integers(&mut value);
        let mut unknown: Option<String> = None;
        let mut note = |path: serde_ignored::Path<'_>| {
            unknown.get_or_insert_with(|| path.to_string());
        };
        let de = serde_ignored::Deserializer::new(value, &mut note);
        let parsed = serde_path_to_error::deserialize(de)
            .map(Json)
            .map_err(|e| {
                let field = e.path().to_string();
                let inner = e.into_inner();
                let field = field_at_fault(&field, &inner.to_string());
                Problem::invalid(&field, format!("Field `{field}`: {inner}."))
            })?;
        match unknown {
            None => Ok(parsed),
            Some(field) => Err(Problem::invalid(
                &field,
                format!("This operation has no field `{field}`; remove it or check its spelling."),
            )),
        }
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// JSON has one number type, and JSON Schema counts `800.0` as an integer; serde does
/// not, so whole numbers written with a fraction become integers before typing.
fn whole_numbers_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0) {
                // Beyond ±2^63 (or 2^64) the float is not a whole number serde could take.
                if f.abs() < 9.223_372_036_854_776e18 {
                    *value = Value::from(f as i64);
                } else if (0.0..1.844_674_407_370_955_2e19).contains(&f) {
                    *value = Value::from(f as u64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(map) => map.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// A urlencoded form body, as HTML forms post.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let bytes = body_bytes(req, state).await?;
        parse_urlencoded(&bytes).map(Form)
    }
}

/// A query string.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        parse_urlencoded(parts.uri.query().unwrap_or("").as_bytes()).map(Query)
    }
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<bytes::Bytes, Problem> {
    bytes::Bytes::from_request(req, state).await.map_err(|e| {
        let status = e.status();
        Problem::from_status(status)
    })
}

fn parse_urlencoded<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(bytes));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        let field = field_at_fault(&field, &inner.to_string());
        Problem::invalid(&field, format!("Field `{field}`: {inner}."))
    })
}

/// serde reports a missing field at its parent's path; name the field itself.
fn field_at_fault(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(name)) => name.to_string(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (path, None) => path.to_string(),
    }
}

/// A body that must be a JSON object. Serde also reads a struct from an array (its
/// fields by position), so a PATCH whose fields are all optional would take `[null]` as
/// "change nothing"; wrapped in this, an array is refused like any other wrong type.
#[derive(Debug)]
pub struct Object<T>(pub T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Fields<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Fields(std::marker::PhantomData))
            .map(Object)
    }
}
