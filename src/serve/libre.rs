//! The LibreTranslate API (`POST /translate`, `GET /languages`), so that existing clients and
//! plugins work unchanged. Request and response fields follow LibreTranslate 1.x.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::body::Fields;
use super::error::ApiError;
use super::model_pool::ServedModel;
use super::state::{AppState, SearchRequest};

/// `POST /translate`: `q` (text or list), `source` (a code or `auto`), `target`, `format`
/// (`text`; `html` is refused), `alternatives` (extra hypotheses per text, from the n-best
/// list). Answers `{"translatedText": ..., "alternatives": ...}` with a string or a list as
/// `q` was, and `detectedLanguage` for `source = auto`.
///
/// Errors: 400 for a missing or malformed field, an unsupported pair or format, or a limit;
/// 413, 429, 500, 504 as in [`AppState::translate`].
pub async fn translate(
    State(app): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let missing =
        |p: &str| ApiError::bad_request(format!("Invalid request: missing {p} parameter"));
    let (texts, is_list) = fields.texts("q")?.ok_or_else(|| missing("q"))?;
    let source = fields.string("source")?.ok_or_else(|| missing("source"))?;
    let target = fields.string("target")?.ok_or_else(|| missing("target"))?;
    match fields.string("format")?.as_deref() {
        None | Some("text") => {}
        Some(f) => {
            return Err(ApiError::bad_request(format!(
                "Invalid request: format {f:?} is not supported (only \"text\")"
            )))
        }
    }
    let alternatives = fields.count("alternatives")?.unwrap_or(0);
    let most = app.limits.max_nbest.saturating_sub(1);
    if alternatives > most {
        return Err(ApiError::bad_request(format!(
            "Invalid request: alternatives {alternatives} exceeds the limit ({most})"
        )));
    }
    let model = find_model(&app, &source, &target)?;
    let n_best = alternatives + 1;
    let request = SearchRequest {
        n_best: Some(n_best),
        beam_size: Some(model.defaults.beam_size.max(n_best)),
        ..Default::default()
    };
    let options = app.options(model, request)?;
    let n = texts.len();
    let answers = app.translate(model, texts, options).await?;
    let best: Vec<Value> = answers
        .iter()
        .map(|a| json!(a.hypotheses.first().map_or("", |h| h.text.as_str())))
        .collect();
    let alts: Vec<Value> = answers
        .iter()
        .map(|a| {
            json!(a
                .hypotheses
                .iter()
                .skip(1)
                .map(|h| &h.text)
                .collect::<Vec<_>>())
        })
        .collect();
    let detected = json!({ "confidence": 100.0, "language": model.source });
    let one_or_list = |v: Vec<Value>| {
        if is_list {
            Value::Array(v)
        } else {
            v[0].clone()
        }
    };
    let mut out = json!({ "translatedText": one_or_list(best) });
    if alternatives > 0 {
        out["alternatives"] = one_or_list(alts);
    }
    if source == "auto" {
        out["detectedLanguage"] = one_or_list(vec![detected; n]);
    }
    Ok(Json(out))
}

/// The model for `source` → `target`; `auto` picks the only model into `target`.
fn find_model<'a>(
    app: &'a AppState,
    source: &str,
    target: &str,
) -> Result<&'a Arc<ServedModel>, ApiError> {
    let unsupported = || ApiError::bad_request(format!("{source}-{target} is not supported"));
    if source == "auto" {
        let mut into = app.pool.models().iter().filter(|m| m.target == target);
        return match (into.next(), into.next()) {
            (Some(m), None) => Ok(m),
            (Some(_), Some(_)) => Err(ApiError::bad_request(format!(
                "source auto is ambiguous: several models translate into {target}; name the source"
            ))),
            _ => Err(unsupported()),
        };
    }
    app.pool.by_pair(source, target).ok_or_else(unsupported)
}

/// `GET /languages`: `[{"code", "name", "targets"}]`, one entry per source language of the
/// loaded models. Never waits on a queue.
pub async fn languages(State(app): State<AppState>) -> Json<Value> {
    let mut targets: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for m in app.pool.models() {
        targets.entry(&m.source).or_default().push(&m.target);
    }
    let list = targets
        .into_iter()
        .map(|(code, targets)| json!({ "code": code, "name": language_name(code), "targets": targets }))
        .collect();
    Json(Value::Array(list))
}

/// English name of an ISO 639-1 code for the languages of the shipped corpora and their
/// neighbours; the code itself otherwise.
pub fn language_name(code: &str) -> &str {
    match code {
        "cs" => "Czech",
        "de" => "German",
        "en" => "English",
        "es" => "Spanish",
        "fr" => "French",
        "it" => "Italian",
        "nl" => "Dutch",
        "pl" => "Polish",
        "pt" => "Portuguese",
        _ => code,
    }
}
