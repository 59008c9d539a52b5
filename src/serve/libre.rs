//! The LibreTranslate API (`POST /translate`, `POST /detect`, `GET /languages`,
//! `GET /frontend/settings`), so that existing clients and plugins work unchanged. Request and
//! response fields follow LibreTranslate 1.x.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::body::Fields;
use super::error::ApiError;
use super::format::{self, Format};
use super::model_pool::ServedModel;
use super::state::{AppState, SearchRequest};
use crate::detect::Detection;

/// `POST /translate`: `q` (a running text or a list of them), `source` (a code or `auto`),
/// `target`, `format` (`text` or `html`), `alternatives` (extra hypotheses per text, from the
/// n-best list), `api_key` (checked by [`super::gate`] when keys are required); other fields are ignored, as LibreTranslate
/// does. Every text is segmented into sentences and keeps its layout. Answers
/// `{"translatedText": ..., "alternatives": ...}` with a string or a list as `q` was, and
/// `detectedLanguage` (`{"confidence", "language"}`, per text) for `source = auto`: each text
/// goes to the model of its detected language.
///
/// Errors: 400 for a missing or malformed field, an unsupported pair or format, a text in a
/// language no model takes (naming it), or a limit; 413, 429, 500, 504 as in
/// [`AppState::translate_sentences`].
pub async fn translate(
    State(app): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let missing =
        |p: &str| ApiError::bad_request(format!("Invalid request: missing {p} parameter"));
    let (texts, is_list) = fields.texts("q")?.ok_or_else(|| missing("q"))?;
    let source = fields.string("source")?.ok_or_else(|| missing("source"))?;
    let target = fields.string("target")?.ok_or_else(|| missing("target"))?;
    let format = Format::parse(fields.string("format")?.as_deref())?;
    let alternatives = fields.count("alternatives")?.unwrap_or(0);
    let most = app.limits.max_nbest.saturating_sub(1);
    if alternatives > most {
        return Err(ApiError::bad_request(format!(
            "Invalid request: alternatives {alternatives} exceeds the limit ({most})"
        )));
    }
    let routes = route_texts(&app, &texts, &source, &target)?;
    let mut best = vec![Value::Null; texts.len()];
    let mut alts = vec![Value::Null; texts.len()];
    for (model, indices) in group_by_model(&routes) {
        let n_best = alternatives + 1;
        let request = SearchRequest {
            n_best: Some(n_best),
            beam_size: Some(model.defaults.beam_size.max(n_best)),
            ..Default::default()
        };
        let options = app.options(model, request)?;
        let group: Vec<String> = indices.iter().map(|&i| texts[i].clone()).collect();
        let results = format::translate(&app, model, group, format, options).await?;
        for (&i, r) in indices.iter().zip(results) {
            best[i] = json!(r.hypotheses.first().map_or("", |h| h.text.as_str()));
            let rest = r.hypotheses.iter().skip(1).map(|h| h.text.as_str());
            alts[i] = json!(rest.take(alternatives).collect::<Vec<_>>());
        }
    }
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
        let detected = routes.iter().map(|(_, d)| json!(d)).collect();
        out["detectedLanguage"] = one_or_list(detected);
    }
    Ok(Json(out))
}

/// Per text: the model that translates it into `target`, and its detection for `auto`.
type Route<'a> = (&'a Arc<ServedModel>, Option<Detection>);

fn route_texts<'a>(
    app: &'a AppState,
    texts: &[String],
    source: &str,
    target: &str,
) -> Result<Vec<Route<'a>>, ApiError> {
    if source != "auto" {
        let model = app
            .pool
            .by_pair(source, target)
            .ok_or_else(|| ApiError::bad_request(format!("{source}-{target} is not supported")))?;
        return Ok(texts.iter().map(|_| (model, None)).collect());
    }
    texts
        .iter()
        .map(|t| app.model_for_auto(t, target).map(|(m, d)| (m, Some(d))))
        .collect()
}

/// Text indices per model, models in order of first use.
fn group_by_model<'a>(routes: &[Route<'a>]) -> Vec<(&'a Arc<ServedModel>, Vec<usize>)> {
    let mut groups: Vec<(&Arc<ServedModel>, Vec<usize>)> = Vec::new();
    for (i, (model, _)) in routes.iter().enumerate() {
        match groups.iter_mut().find(|(m, _)| Arc::ptr_eq(m, model)) {
            Some((_, list)) => list.push(i),
            None => groups.push((model, vec![i])),
        }
    }
    groups
}

/// `POST /detect`: `q` (a text) → `[{"language": "de", "confidence": 97.2}, ...]`, the
/// candidates best first with their confidence in percent, as LibreTranslate answers; `[]`
/// for a text without letters. `api_key` as for [`translate`].
///
/// Errors: 400 for a missing or malformed `q`, or a text over the character limit.
pub async fn detect(State(app): State<AppState>, fields: Fields) -> Result<Json<Value>, ApiError> {
    let (texts, _) = fields
        .texts("q")?
        .ok_or_else(|| ApiError::bad_request("Invalid request: missing q parameter"))?;
    Ok(Json(json!(app.detector.detect(&texts.join("\n")))))
}

/// `GET /frontend/settings`: what LibreTranslate's web UI and some clients read at start: the
/// character limit, whether keys are needed, and the default languages.
pub async fn frontend_settings(State(app): State<AppState>) -> Json<Value> {
    let first = app.pool.models().first();
    let target = first.map_or("en", |m| m.target.as_str());
    Json(json!({
        "charLimit": app.limits.max_chars_per_text,
        "frontendTimeout": 500,
        "apiKeys": app.access.keys_required(),
        "keyRequired": app.access.keys_required(),
        "suggestions": false,
        "filesTranslation": false,
        "supportedFilesFormat": [],
        "language": {
            "source": { "code": "auto", "name": "Auto Detect" },
            "target": { "code": target, "name": language_name(target) },
        },
    }))
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
