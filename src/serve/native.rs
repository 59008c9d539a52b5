//! tolk's own API: `POST /v1/translate` with search settings, n-best lists, scores, subwords
//! and alignments; `GET /v1/models`.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::body::Fields;
use super::error::ApiError;
use super::job::{HypothesisOut, SentenceOut};
use super::model_pool::ServedModel;
use super::state::{AppState, SearchRequest};

/// What `alignment` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlignmentKind {
    /// No alignment.
    None,
    /// Arg-max attention as Pharaoh `i-j` pairs (source i, target j), over subwords.
    Hard,
    /// The attention matrix α `[tgt][src]` with source and target subwords.
    Soft,
}

impl AlignmentKind {
    fn parse(s: Option<&str>) -> Result<Self, ApiError> {
        match s {
            None | Some("none") => Ok(Self::None),
            Some("hard") => Ok(Self::Hard),
            Some("soft") => Ok(Self::Soft),
            Some(other) => Err(ApiError::bad_request(format!(
                "Invalid request: alignment {other:?} must be none, hard or soft"
            ))),
        }
    }
}

/// `POST /v1/translate`: `src` (text or list), optional `model` (a name from `/v1/models`) or
/// `source` + `target`, `beam_size`, `n_best`, `length_penalty`, `alignment`. Answers
/// `{"model", "source", "target", "translations": [{"hypotheses": [{"text", "score",
/// "log_prob", "tokens", "alignment"?}], "truncated"?}]}`, one translation per text in order.
///
/// Errors: as [`super::libre::translate`].
pub async fn translate(
    State(app): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let (texts, _) = fields
        .texts("src")?
        .ok_or_else(|| ApiError::bad_request("Invalid request: missing src parameter"))?;
    let model = find_model(&app, &fields)?;
    let alignment = AlignmentKind::parse(fields.string("alignment")?.as_deref())?;
    let request = SearchRequest {
        beam_size: fields.count("beam_size")?,
        n_best: fields.count("n_best")?,
        length_penalty: fields.number("length_penalty")?,
        keep_attention: alignment != AlignmentKind::None,
    };
    let options = app.options(model, request)?;
    let answers = app.translate(model, texts, options).await?;
    let translations: Vec<Value> = answers
        .iter()
        .map(|a| sentence_json(a, alignment))
        .collect();
    Ok(Json(json!({
        "model": model.name,
        "source": model.source,
        "target": model.target,
        "translations": translations,
    })))
}

fn find_model<'a>(app: &'a AppState, fields: &Fields) -> Result<&'a Arc<ServedModel>, ApiError> {
    if let Some(name) = fields.string("model")? {
        return app.pool.by_name(&name).ok_or_else(|| {
            ApiError::bad_request(format!("no model named {name:?} (see /v1/models)"))
        });
    }
    match (fields.string("source")?, fields.string("target")?) {
        (Some(s), Some(t)) => app
            .pool
            .by_pair(&s, &t)
            .ok_or_else(|| ApiError::bad_request(format!("{s}-{t} is not supported"))),
        (None, None) => Ok(&app.pool.models()[0]),
        _ => Err(ApiError::bad_request(
            "Invalid request: give both source and target, or neither",
        )),
    }
}

fn sentence_json(answer: &SentenceOut, alignment: AlignmentKind) -> Value {
    let hyps: Vec<Value> = answer
        .hypotheses
        .iter()
        .map(|h| hypothesis_json(h, alignment))
        .collect();
    let mut out = json!({ "hypotheses": hyps });
    if let Some(t) = answer.truncation {
        out["truncated"] = json!({ "original_subwords": t.original, "kept_subwords": t.kept });
    }
    out
}

fn hypothesis_json(h: &HypothesisOut, alignment: AlignmentKind) -> Value {
    let mut out = json!({
        "text": h.text,
        "score": h.score,
        "log_prob": h.log_prob,
        "tokens": h.tokens,
    });
    match (alignment, &h.alignment) {
        (AlignmentKind::Hard, Some(a)) => out["alignment"] = json!(a.pharaoh()),
        (AlignmentKind::Soft, Some(a)) => out["alignment"] = json!(a),
        _ => {}
    }
    out
}

/// `GET /v1/models`: every loaded model with its language pair and default settings.
pub async fn models(State(app): State<AppState>) -> Json<Value> {
    let list = app
        .pool
        .models()
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "source": m.source,
                "target": m.target,
                "dir": m.dir.display().to_string(),
                "beam_size": m.defaults.beam_size,
                "length_penalty": m.defaults.length_penalty,
                "max_input_subwords": m.defaults.max_input_subwords,
                "queue_sentences": m.queue_depth(),
            })
        })
        .collect();
    Json(Value::Array(list))
}
