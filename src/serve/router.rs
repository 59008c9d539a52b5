//! The HTTP routes and the layers around them (the gate of the POST routes, body limit, CORS,
//! panics as 500, request logs and metrics).

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use super::access::CorsOrigins;
use super::error::ApiError;
use super::state::AppState;
use super::{gate, libre, native, openapi, page};

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
    let body_limit = state.limits.max_body_bytes;
    let gated = || middleware::from_fn_with_state(state.clone(), gate::gate);
    let router = Router::new()
        .route("/", get(page::index))
        .route("/translate", post(libre::translate).layer(gated()))
        .route("/languages", get(libre::languages))
        .route("/detect", post(libre::detect).layer(gated()))
        .route("/frontend/settings", get(libre::frontend_settings))
        .route("/v1/translate", post(native::translate).layer(gated()))
        .route("/v1/models", get(native::models))
        .route("/health", get(health))
        .route(
            "/metrics",
            get(metrics).layer(middleware::from_fn_with_state(
                state.clone(),
                gate::metrics_guard,
            )),
        )
        .route("/openapi.json", get(openapi::document))
        .route_layer(middleware::from_fn_with_state(state.clone(), record))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit));
    let router = match cors(&state.access.cors) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
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

/// The CORS layer for `origins`; none for the same origin only.
fn cors(origins: &CorsOrigins) -> Option<CorsLayer> {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION]);
    match origins {
        CorsOrigins::SameOrigin => None,
        CorsOrigins::Any => Some(layer.allow_origin(Any)),
        CorsOrigins::List(list) => {
            let list: Vec<HeaderValue> = list.iter().filter_map(|o| o.parse().ok()).collect();
            Some(layer.allow_origin(AllowOrigin::list(list)))
        }
    }
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
