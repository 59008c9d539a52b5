//! What every translation and detection request passes before its handler: its body read
//! within the request's time budget, its API key and rate checked ([`Access`]), its texts
//! checked against the limits and its key's character allowance, and the whole request
//! bounded by the same budget.

use std::net::SocketAddr;

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::{timeout_at, Instant};

use super::access::{bearer, Access, Allowance};
use super::body::Fields;
use super::error::ApiError;
use super::state::AppState;

/// The body fields that hold a request's texts, over both APIs (`q`: LibreTranslate, `src`:
/// native).
const TEXT_FIELDS: [&str; 2] = ["q", "src"];

/// Middleware of the POST routes. The time budget is `--timeout-s` from the moment the
/// headers are in: the body must arrive within it (else 408), and the answer too (else 504).
///
/// Errors: 408 body too slow, 413 body too large, 400 unreadable body or over the key's
/// characters per request, 403 missing or wrong key, 429 over a rate (with `Retry-After`),
/// 504 no answer within the budget.
pub async fn gate(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let budget = app.limits.request_timeout;
    let deadline = Instant::now() + budget;
    match admit(&app, req, deadline).await {
        Ok(req) => match timeout_at(deadline, next.run(req)).await {
            Ok(response) => response,
            Err(_) => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "the translation did not finish within {} s",
                    budget.as_secs_f64()
                ),
            )
            .into_response(),
        },
        Err(e) => e.into_response(),
    }
}

/// Reads the body, admits the request by key and rate, and hands the parsed fields on.
async fn admit(app: &AppState, req: Request, deadline: Instant) -> Result<Request, ApiError> {
    let (mut parts, body) = req.into_parts();
    let bytes = match timeout_at(deadline, to_bytes(body, app.limits.max_body_bytes)).await {
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} s (--timeout-s)",
                    app.limits.request_timeout.as_secs_f64()
                ),
            ));
        }
        Ok(Err(_)) => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
            ))
        }
        Ok(Ok(bytes)) => bytes,
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE);
    let fields = Fields::parse(content_type.and_then(|v| v.to_str().ok()), &bytes)?;
    let body_key = fields.string("api_key")?;
    let key = bearer(&parts.headers).map(str::to_string).or(body_key);
    let access: &Access = &app.access;
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let ip = access.client_ip(peer, &parts.headers);
    let allowance = access.admit(key.as_deref(), ip)?;
    check_texts(app, &fields, &allowance)?;
    parts.extensions.insert(fields);
    parts.extensions.insert(allowance);
    Ok(Request::from_parts(parts, Body::empty()))
}

/// Checks the request's texts before any work is done on them (detection included): the
/// server's limits ([`AppState::check_texts`]) and the key's characters per request over all
/// texts.
///
/// Errors (400): a malformed text field, a limit, or over the key's allowance, in
/// LibreTranslate's words.
fn check_texts(app: &AppState, fields: &Fields, allowance: &Allowance) -> Result<(), ApiError> {
    let mut chars = 0;
    for field in TEXT_FIELDS {
        if let Some((texts, _)) = fields.texts(field)? {
            app.check_texts(&texts)?;
            chars += texts.iter().map(|t| t.chars().count()).sum::<usize>();
        }
    }
    let Some(limit) = allowance.chars_per_request else {
        return Ok(());
    };
    if chars > limit {
        return Err(ApiError::bad_request(format!(
            "Invalid request: request ({chars}) exceeds text limit ({limit})"
        )));
    }
    Ok(())
}

/// `/metrics` behind a key when `--protect-metrics` is given. Errors (403): no valid
/// `Authorization: Bearer KEY`.
pub async fn metrics_guard(State(app): State<AppState>, req: Request, next: Next) -> Response {
    if app.access.protect_metrics && !app.access.has_valid_bearer(req.headers()) {
        return ApiError::new(StatusCode::FORBIDDEN, super::access::INVALID_KEY).into_response();
    }
    next.run(req).await
}
