//! The API description clients read at `/api/v1/openapi.json`: every studio's operations
//! merged, then completed from what the platform knows of every route, so no studio can
//! state it wrongly or forget it:
//!
//! - who may call an operation (its [`Access`]) becomes its `security` and the 401/403 it
//!   can answer;
//! - every error is a problem document (`application/problem+json`), and the statuses any
//!   operation can meet (malformed input, a body too large or of the wrong type, throttling,
//!   a busy server) are declared on each, with a `default` for the rest;
//! - request bodies refuse unknown fields ([`tutti_web::Json`] does), so their object
//!   schemas say `additionalProperties: false`;
//! - roles are data, so the `Role` schema lists the ones this server declares.
//!
//! Operations still carry their own summaries, bodies and success answers; the test
//! `every_operation_is_described` checks that none lacks a summary.

use serde_json::{Map, Value, json};
use utoipa::openapi::OpenApi;

use crate::access::{Access, Roles, RouteDecl};

/// What `info.description` says about the API as a whole.
const DESCRIPTION: &str = "The JSON API of Tutti, a self-hosted server for voices and music \
in the browser. Scripts authenticate with `Authorization: Bearer <token>` (tokens are made \
on the profile page or with `tutti admin create-token`); scripts in a signed-in page use the \
session cookie and send the page's CSRF token as `X-CSRF-Token` on every POST, PUT, PATCH and \
DELETE. Every error is an RFC 9457 problem document whose `field` names the input at fault; \
429 and 503 answers say in `Retry-After` when to try again.";

const PROBLEM_REF: &str = "#/components/schemas/Problem";

/// The finished document, as served.
pub fn document(openapi: OpenApi, decls: &[RouteDecl], roles: &Roles, version: &str) -> Value {
    let mut doc = serde_json::to_value(&openapi).expect("an OpenAPI document serializes");
    doc["info"] = json!({
        "title": "Tutti",
        "version": version,
        "description": DESCRIPTION,
        "license": { "name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later" },
    });
    let components = object_at(&mut doc, "components");
    components.insert(
        "securitySchemes".into(),
        json!({
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API token: `Authorization: Bearer tutti_…`",
            },
            "session": {
                "type": "apiKey",
                "in": "cookie",
                "name": crate::identity::SESSION_COOKIE,
                "description": "A browser's session (named `__Host-tutti_session` over https); \
                    unsafe methods also need the `X-CSRF-Token` header",
            },
        }),
    );
    let names: Vec<Value> = roles
        .all()
        .iter()
        .map(|d| Value::from(d.role.as_str()))
        .collect();
    let count = names.len();
    if let Some(Value::Object(role)) = doc.pointer_mut("/components/schemas/Role") {
        role.insert("enum".into(), Value::Array(names));
    }

    let mut body_refs = Vec::new();
    if let Some(Value::Object(paths)) = doc.get_mut("paths") {
        for (path, item) in paths.iter_mut() {
            let Value::Object(item) = item else { continue };
            for (method, op) in item.iter_mut() {
                let Value::Object(op) = op else { continue };
                let access = decls
                    .iter()
                    .find(|d| {
                        !d.page && d.path == *path && d.method.as_str().eq_ignore_ascii_case(method)
                    })
                    .map(|d| &d.access);
                complete_operation(op, access);
                if let Some(body) = op.get("requestBody") {
                    collect_refs(body, &mut body_refs);
                }
            }
        }
    }
    close_body_schemas(&mut doc, body_refs);
    bound_role_lists(&mut doc, count);
    doc
}

/// A list of roles names each declared role at most once ([`Roles::check`]).
fn bound_role_lists(value: &mut Value, count: usize) {
    match value {
        Value::Object(map) => {
            let lists_roles = map.get("type").is_some_and(|t| t == "array")
                && map
                    .get("items")
                    .and_then(|i| i.get("$ref"))
                    .is_some_and(|r| r == "#/components/schemas/Role");
            if lists_roles {
                map.insert("maxItems".into(), Value::from(count));
                map.insert("uniqueItems".into(), Value::Bool(true));
            }
            map.values_mut().for_each(|v| bound_role_lists(v, count));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| bound_role_lists(v, count)),
        _ => {}
    }
}

/// Security, parameters and error answers of one operation.
fn complete_operation(op: &mut Map<String, Value>, access: Option<&Access>) {
    let signed_in = matches!(access, Some(Access::SignedIn | Access::Role(_)));
    if signed_in {
        op.insert(
            "security".into(),
            json!([{ "bearer": [] }, { "session": [] }]),
        );
    }
    if let Some(Access::Role(role)) = access {
        let note = format!("Requires the `{role}` role (administrators hold every role).");
        let text = match op.get("description").and_then(Value::as_str) {
            Some(d) if !d.is_empty() => format!("{d}\n\n{note}"),
            _ => note,
        };
        op.insert("description".into(), Value::String(text));
    }
    if let Some(Value::Array(params)) = op.get_mut("parameters") {
        for param in params.iter_mut() {
            let (Some(name), Some(place)) = (
                param.get("name").and_then(Value::as_str),
                param.get("in").and_then(Value::as_str),
            ) else {
                continue;
            };
            match (place, name) {
                ("path", "role") => {
                    param["schema"] = json!({ "$ref": "#/components/schemas/Role" })
                }
                ("path", "email") => {
                    param["schema"] = json!({ "type": "string", "format": "email" })
                }
                // An optional header or query value is absent, never JSON `null`.
                ("header" | "query", _) => not_null(&mut param["schema"]),
                _ => {}
            }
        }
    }
    let has_body = op.contains_key("requestBody");
    let has_params = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|p| !p.is_empty());
    let responses = object_at_map(op, "responses");
    for (code, answer) in responses.iter_mut() {
        if code.starts_with('4') || code.starts_with('5') || code == "default" {
            as_problem(answer);
        }
    }
    let mut add = |code: &str, text: &str| {
        responses.entry(code.to_string()).or_insert_with(|| {
            let mut answer = json!({ "description": text });
            as_problem(&mut answer);
            answer
        });
    };
    if has_body || has_params {
        add("400", "The request is malformed; `detail` says how");
        add("422", "A value is not acceptable; `field` names it");
    }
    if has_body {
        add("413", "The body is larger than this operation takes");
        add("415", "The body is not of a type this operation takes");
    }
    if signed_in {
        add("401", "No valid token or session was sent");
        add(
            "403",
            "The caller may not do this (a role, a delegate, or a missing CSRF token)",
        );
    }
    add(
        "429",
        "Too many attempts; `Retry-After` says when to try again",
    );
    add(
        "503",
        "The server is busy or its database unavailable; `Retry-After` says when to try again",
    );
    add("default", "Any other failure, as a problem document");
    for code in ["429", "503"] {
        if let Some(Value::Object(answer)) = responses.get_mut(code) {
            answer.insert(
                "headers".into(),
                json!({ "Retry-After": {
                    "description": "Seconds to wait before trying again",
                    "schema": { "type": "integer", "minimum": 1 },
                }}),
            );
        }
    }
}

/// `["string", "null"]` (how `Option<String>` is described) becomes `"string"`.
fn not_null(schema: &mut Value) {
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            schema["type"] = only;
        }
    }
}

/// An error answer's body is a problem document, whatever the operation said.
fn as_problem(answer: &mut Value) {
    if let Value::Object(answer) = answer {
        answer.insert(
            "content".into(),
            json!({ "application/problem+json": { "schema": { "$ref": PROBLEM_REF } } }),
        );
    }
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                refs.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

/// Marks every object schema reachable from a request body as closed to unknown fields.
fn close_body_schemas(doc: &mut Value, mut pending: Vec<String>) {
    let mut done = std::collections::BTreeSet::new();
    while let Some(reference) = pending.pop() {
        let Some(name) = reference.strip_prefix("#/components/schemas/") else {
            continue;
        };
        if !done.insert(name.to_string()) {
            continue;
        }
        let Some(schema) = doc.pointer_mut(&format!("/components/schemas/{name}")) else {
            continue;
        };
        close_objects(schema);
        collect_refs(schema, &mut pending);
    }
    // Inline body schemas (no $ref) too.
    if let Some(Value::Object(paths)) = doc.get_mut("paths") {
        for item in paths.values_mut() {
            let Value::Object(item) = item else { continue };
            for op in item.values_mut() {
                if let Some(Value::Object(content)) = op.pointer_mut("/requestBody/content") {
                    for media in content.values_mut() {
                        if let Some(schema) = media.get_mut("schema") {
                            close_objects(schema);
                        }
                    }
                }
            }
        }
    }
}

fn close_objects(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    let is_object = map.get("type").is_some_and(|t| {
        t == "object"
            || t.as_array()
                .is_some_and(|a| a.iter().any(|t| t == "object"))
    });
    if is_object && map.contains_key("properties") && !map.contains_key("additionalProperties") {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    for key in ["properties"] {
        if let Some(Value::Object(props)) = map.get_mut(key) {
            props.values_mut().for_each(close_objects);
        }
    }
    for key in ["items", "allOf", "oneOf", "anyOf"] {
        match map.get_mut(key) {
            Some(Value::Array(all)) => all.iter_mut().for_each(close_objects),
            Some(one @ Value::Object(_)) => close_objects(one),
            _ => {}
        }
    }
}

fn object_at<'a>(doc: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    let Value::Object(map) = doc else {
        unreachable!("an OpenAPI document is an object")
    };
    object_at_map(map, key)
}

fn object_at_map<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map.entry(key.to_string()).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    slot.as_object_mut().expect("made an object above")
}
