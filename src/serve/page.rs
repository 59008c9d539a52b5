//! The web page at `/`: a text box, the translation, the n-best list with scores and the
//! attention heatmap of the selected hypothesis. One self-contained HTML file (no CDN, no
//! build step) embedded in the binary; it calls `POST /v1/translate` with `alignment = soft`.

use axum::response::Html;

/// The page's HTML.
pub const INDEX_HTML: &str = include_str!("static/index.html");

/// `GET /`.
pub async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}
