//! The OpenAPI 3 document of both APIs, served at `/openapi.json` (written by hand in
//! `static/openapi.json`, checked against the routes by the tests).

use axum::http::header;
use axum::response::IntoResponse;

/// The document's text.
pub const OPENAPI_JSON: &str = include_str!("static/openapi.json");

/// `GET /openapi.json`.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}
