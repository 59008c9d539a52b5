//! tolk's own API: `POST /v1/translate` with search settings, n-best lists, scores, subwords
//! and per-sentence alignments; `GET /v1/models`.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::body::Fields;
use super::error::ApiError;
use super::format::{self, Format, SentenceResult, TextResult};
use super::job::HypothesisOut;
use super::model_pool::ServedModel;
use super::state::{AppState, SearchRequest};
use crate::detect::Detection;

/// The fields `POST /v1/translate` takes; any other is a 400 naming it.
pub const FIELDS: [&str; 10] = [
    "src",
    "model",
    "source",
    "target",
    "beam_size",
    "n_best",
    "length_penalty",
    "alignment",
    "format",
    "api_key",
];

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

/// `POST /v1/translate`: `src` (a running text or a list of them), optional `model` (a name
/// from `/v1/models`) or `source` (a code or `auto`) + `target`, `beam_size`, `n_best`,
/// `length_penalty`, `alignment`, `format` (`text` or `html`), `api_key` (checked by
/// [`super::gate`] when keys are required). Every text is segmented into sentences (lines first), all sentences of the
/// request are searched together, and each text's answer keeps its layout:
///
/// `{"model", "source", "target", "detected"?, "translations": [{"hypotheses": [{"text",
/// "score", "log_prob"}], "sentences": [{"source", "start", "end", "hypotheses": [{"text",
/// "score", "log_prob", "tokens", "alignment"?}], "truncated"?}]}]}`: one translation per
/// text in order; the text's k-th hypothesis joins each sentence's k-th (its last when it has
/// fewer), scores summed; `start`/`end` are character offsets of the sentence in the text
/// (omitted for HTML); the alignment is per sentence. `detected` (`{"language",
/// "confidence"}`, percent) when `source` was `auto`: detected on all texts together.
///
/// Errors: 400 for an unknown field, as [`super::libre::translate`] otherwise.
pub async fn translate(
    State(app): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    fields.only(&FIELDS)?;
    let (texts, _) = fields
        .texts("src")?
        .ok_or_else(|| ApiError::bad_request("Invalid request: missing src parameter"))?;
    let format = Format::parse(fields.string("format")?.as_deref())?;
    let (model, detected) = find_model(&app, &fields, &texts)?;
    let alignment = AlignmentKind::parse(fields.string("alignment")?.as_deref())?;
    let request = SearchRequest {
        beam_size: fields.count("beam_size")?,
        n_best: fields.count("n_best")?,
        length_penalty: fields.number("length_penalty")?,
        keep_attention: alignment != AlignmentKind::None,
    };
    let options = app.options(model, request)?;
    let results = format::translate(&app, model, texts, format, options).await?;
    let translations: Vec<Value> = results.iter().map(|r| text_json(r, alignment)).collect();
    let mut out = json!({
        "model": model.name,
        "source": model.source,
        "target": model.target,
        "translations": translations,
    });
    if let Some(d) = detected {
        out["detected"] = json!(d);
    }
    Ok(Json(out))
}

/// The model named by `model`, or by `source` + `target` (`auto`: the detected language of
/// all texts together), or the first; with the detection when there was one.
fn find_model<'a>(
    app: &'a AppState,
    fields: &Fields,
    texts: &[String],
) -> Result<(&'a Arc<ServedModel>, Option<Detection>), ApiError> {
    if let Some(name) = fields.string("model")? {
        let model = app.pool.by_name(&name).ok_or_else(|| {
            ApiError::bad_request(format!("no model named {name:?} (see /v1/models)"))
        })?;
        return Ok((model, None));
    }
    match (fields.string("source")?, fields.string("target")?) {
        (Some(s), Some(t)) if s == "auto" => {
            let (model, d) = app.model_for_auto(&texts.join("\n"), &t)?;
            Ok((model, Some(d)))
        }
        (Some(s), Some(t)) => app
            .pool
            .by_pair(&s, &t)
            .map(|m| (m, None))
            .ok_or_else(|| ApiError::bad_request(format!("{s}-{t} is not supported"))),
        (None, None) => Ok((&app.pool.models()[0], None)),
        _ => Err(ApiError::bad_request(
            "Invalid request: give both source and target, or neither",
        )),
    }
}

fn text_json(result: &TextResult, alignment: AlignmentKind) -> Value {
    let hyps: Vec<Value> = result
        .hypotheses
        .iter()
        .map(|h| json!({ "text": h.text, "score": h.score, "log_prob": h.log_prob }))
        .collect();
    let sentences: Vec<Value> = result
        .sentences
        .iter()
        .map(|s| sentence_json(s, alignment))
        .collect();
    json!({ "hypotheses": hyps, "sentences": sentences })
}

fn sentence_json(s: &SentenceResult, alignment: AlignmentKind) -> Value {
    let hyps: Vec<Value> = s
        .answer
        .hypotheses
        .iter()
        .map(|h| hypothesis_json(h, alignment))
        .collect();
    let mut out = json!({ "source": s.sentence.text, "hypotheses": hyps });
    if s.in_text {
        out["start"] = json!(s.sentence.start);
        out["end"] = json!(s.sentence.end);
    }
    if let Some(t) = s.answer.truncation {
        out["truncated"] = json!({ "original_subwords": t.original, "kept_subwords": t.kept });
        if let Some(c) = t.chars {
            // Cut in characters first: `original_subwords` counts the kept characters' subwords.
            out["truncated"]["original_chars"] = json!(c.original);
            out["truncated"]["kept_chars"] = json!(c.kept);
        }
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
                "beam_size": m.defaults.beam_size,
                "length_penalty": m.defaults.length_penalty,
                "max_input_subwords": m.defaults.max_input_subwords,
                "queue_sentences": m.queue_depth(),
            })
        })
        .collect();
    Json(Value::Array(list))
}
