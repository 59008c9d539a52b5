//! The HTTP routes and the layers around them (body limit, CORS, panics as 500, request logs
//! and metrics).

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use super::error::ApiError;
use super::state::AppState;
use super::{libre, native, openapi, page};

/// Every route of `tolk serve`:
///
/// | route | what |
/// |---|---|
/// | `GET /` | the web page |
/// | `POST /translate`, `POST /detect`, `GET /languages`, `GET /frontend/settings` | LibreTranslate API |
/// | `POST /v1/translate`, `GET /v1/models` | native API |
/// | `GET /health` | liveness, never waits on a queue |
/// | `GET /metrics` | Prometheus (OpenMetrics text) |
/// | `GET /openapi.json` | OpenAPI 3 document of both APIs |
pub fn router(state: AppState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(Any);
    let body_limit = state.limits.max_body_bytes;
    Router::new()
        .route("/", get(page::index))
        .route("/translate", post(libre::translate))
        .route("/languages", get(libre::languages))
        .route("/detect", post(libre::detect))
        .route("/frontend/settings", get(libre::frontend_settings))
        .route("/v1/translate", post(native::translate))
        .route("/v1/models", get(native::models))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi::document))
        .route_layer(middleware::from_fn_with_state(state.clone(), record))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(cors)
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    for m in app.pool.models() {
        app.metrics.set_queue_depth(&m.name, m.queue_depth());
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such route (see /openapi.json)")
}

/// Counts each request by route and status, with its duration.
async fn record(
    State(app): State<AppState>,
    path: MatchedPath,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let response = next.run(req).await;
    app.metrics
        .observe_request(path.as_str(), response.status().as_u16(), started.elapsed());
    response
}
