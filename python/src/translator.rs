//! `tolk.Translator`: a model directory (or several, as an ensemble) loaded once, translating
//! lists of texts with the GIL released. Search is the library's ([`tolk::decode::Translator`]
//! over [`Ensemble`]), so outputs are the CLI's byte for byte.

use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard};

use numpy::{PyArray2, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyList;
use pyo3::IntoPyObjectExt;
use tolk::artifacts::ModelDir;
use tolk::config::Config;
use tolk::decode::{
    translate_in_workers, AlignmentMatrix, Ensemble, SearchLimits, TranslateOptions,
    TranslateOverrides, Translation,
};
use tolk::document::DocumentBatch;
use tolk::error::Error;
use tolk::model::Seq2Seq;
use tolk::precision::PrecisionChoice;
use tolk::runtime::{check_parallelism, device_from};

use crate::errors::{from_anyhow, from_error, input};

type Inner = tolk::decode::Translator<Ensemble<Seq2Seq>>;

/// Loaded models for translation: `workers` copies of the (ensemble) model, each searching a
/// share of a call's texts with `threads` libtorch threads. Calls from several Python threads
/// are safe: a call takes every copy that is free (waiting for one if none is), so two
/// threads share the copies and a single thread uses all of them.
#[pyclass(module = "tolk._native", name = "Translator", frozen)]
pub struct Translator {
    pool: Mutex<Vec<Inner>>,
    freed: Condvar,
    threads_per_worker: usize,
    language: String,
    options: TranslateOptions,
}

/// One hypothesis as search left it, before it becomes Python objects.
struct NativeHypothesis {
    text: String,
    score: f64,
    tokens: Vec<String>,
    matrix: Option<AlignmentMatrix>,
}

/// One input's answer: its hypotheses (best first), and with `split_sentences` its
/// sentences' own, and whether it was cut to `max_input_subwords`.
struct NativeTranslation {
    hypotheses: Vec<NativeHypothesis>,
    sentences: Option<Vec<Vec<NativeHypothesis>>>,
    truncated: bool,
}

#[pymethods]
impl Translator {
    /// See `tolk.Translator` (python/tolk/translator.py) for the arguments.
    #[new]
    #[pyo3(signature = (model_dirs, checkpoint=None, device="cpu", threads=None, workers=1,
                        precision=None, shortlist=None, fused_kernels=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model_dirs: Vec<PathBuf>,
        checkpoint: Option<String>,
        device: &str,
        threads: Option<usize>,
        workers: usize,
        precision: Option<&str>,
        shortlist: Option<bool>,
        fused_kernels: Option<bool>,
    ) -> PyResult<Self> {
        check_parallelism(threads.unwrap_or(0), workers)
            .map_err(|e| input(e.to_string().replace("--", "")))?;
        let device = device_from(device).map_err(|e| input(e.to_string()))?;
        let precision = precision
            .map(|p| p.parse::<PrecisionChoice>().map_err(input))
            .transpose()?;
        let overrides = TranslateOverrides {
            shortlist,
            precision,
            fused_kernels,
            ..TranslateOverrides::default()
        };
        let pool = py
            .detach(|| {
                (0..workers)
                    .map(|_| {
                        Inner::load_ensemble(&model_dirs, checkpoint.as_deref(), device, &overrides)
                    })
                    .collect::<Result<Vec<_>, Error>>()
            })
            .map_err(from_error)?;
        let config =
            Config::from_file(&ModelDir::new(&model_dirs[0]).config()).map_err(from_anyhow)?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let options = *pool[0].options();
        Ok(Self {
            pool: Mutex::new(pool),
            freed: Condvar::new(),
            threads_per_worker: (threads.unwrap_or(cores) / workers).max(1),
            language: config.data.language_pair().0,
            options,
        })
    }

    /// The source language (from the model's config), whose rules split sentences.
    #[getter]
    fn source_language(&self) -> String {
        self.language.clone()
    }

    /// The model's decoding defaults: (beam size, length penalty, max length ratio, max input
    /// subwords, shortlist, precision).
    #[getter]
    fn defaults(&self) -> (usize, f64, f64, usize, bool, String) {
        let o = &self.options;
        (
            o.beam_size,
            o.length_penalty,
            o.max_len_ratio,
            o.max_input_subwords,
            o.shortlist,
            o.precision.to_string(),
        )
    }

    /// Translates `texts`; returns per text `(hypotheses, sentences, truncated)`, each
    /// hypothesis `(text, score, tokens, attention, source_tokens, alignment)`.
    #[pyo3(signature = (texts, beam_size=None, n_best=1, length_penalty=None, max_len_ratio=None,
                        max_input_subwords=None, split_sentences=false, return_attention=false,
                        return_alignment=false, replace_unk=false))]
    #[allow(clippy::too_many_arguments)]
    fn translate<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        beam_size: Option<usize>,
        n_best: usize,
        length_penalty: Option<f64>,
        max_len_ratio: Option<f64>,
        max_input_subwords: Option<usize>,
        split_sentences: bool,
        return_attention: bool,
        return_alignment: bool,
        replace_unk: bool,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let mut opts = self.options;
        opts.beam_size = beam_size.unwrap_or(opts.beam_size);
        opts.nbest = n_best;
        opts.length_penalty = length_penalty.unwrap_or(opts.length_penalty);
        opts.max_len_ratio = max_len_ratio.unwrap_or(opts.max_len_ratio);
        opts.max_input_subwords = max_input_subwords.unwrap_or(opts.max_input_subwords);
        opts.keep_attention = return_attention || return_alignment;
        opts.replace_unk = replace_unk;
        opts.validate(&SearchLimits::cli()).map_err(from_error)?;
        let answers = py
            .detach(|| self.translate_native(&texts, &opts, split_sentences))
            .map_err(from_error)?;
        answers
            .into_iter()
            .map(|a| translation_to_py(py, a, return_attention, return_alignment))
            .collect()
    }
}

impl Translator {
    /// Takes every free model copy, waiting for one when all are busy.
    fn acquire(&self) -> Vec<Inner> {
        let mut pool = self.lock();
        while pool.is_empty() {
            pool = self.freed.wait(pool).unwrap_or_else(|p| p.into_inner());
        }
        std::mem::take(&mut *pool)
    }

    /// Gives model copies back and wakes the callers waiting for one.
    fn release(&self, copies: Vec<Inner>) {
        self.lock().extend(copies);
        self.freed.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Inner>> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Translation without the GIL: sentences split when asked, search over the free copies,
    /// hypotheses with their attention matrices.
    fn translate_native(
        &self,
        texts: &[String],
        opts: &TranslateOptions,
        split_sentences: bool,
    ) -> Result<Vec<NativeTranslation>, Error> {
        let batch = split_sentences.then(|| DocumentBatch::new(texts, &self.language));
        let sources = batch
            .as_ref()
            .map_or_else(|| texts.to_vec(), |b| b.model_inputs());
        let mut copies = self.acquire();
        let result = translate_in_workers(&mut copies, &sources, opts, self.threads_per_worker)
            .and_then(|t| native_hypotheses(&copies[0], &sources, t, opts.keep_attention));
        self.release(copies);
        let per_source = result?;
        let Some(batch) = batch else {
            return Ok(per_source
                .into_iter()
                .map(|(hypotheses, truncated)| NativeTranslation {
                    hypotheses,
                    sentences: None,
                    truncated,
                })
                .collect());
        };
        let rows: Vec<Vec<(String, f64)>> = per_source
            .iter()
            .map(|(hs, _)| hs.iter().map(|h| (h.text.clone(), h.score)).collect())
            .collect();
        let joined = batch.joined_rows(rows)?;
        let grouped = batch.regroup(per_source);
        Ok(joined
            .into_iter()
            .zip(grouped)
            .map(|(rows, sentences)| NativeTranslation {
                hypotheses: rows
                    .into_iter()
                    .map(|(text, score)| NativeHypothesis {
                        text,
                        score,
                        tokens: Vec::new(),
                        matrix: None,
                    })
                    .collect(),
                truncated: sentences.iter().any(|(_, t)| *t),
                sentences: Some(sentences.into_iter().map(|(h, _)| h).collect()),
            })
            .collect())
    }
}

/// Each source's hypotheses with their target pieces and (with `keep_attention`) their
/// subword attention matrices ([`tolk::decode::Translator::alignment`], as the CLI's
/// `--alignments` writes them), and whether the source was cut.
fn native_hypotheses(
    translator: &Inner,
    sources: &[String],
    translations: Vec<Vec<Translation>>,
    keep_attention: bool,
) -> Result<Vec<(Vec<NativeHypothesis>, bool)>, Error> {
    sources
        .iter()
        .zip(translations)
        .map(|(src, hyps)| {
            let truncated = hyps.first().is_some_and(|h| h.truncation.is_some());
            let hyps = hyps
                .iter()
                .map(|t| {
                    let matrix = if keep_attention {
                        translator.alignment(src, t)?
                    } else {
                        None
                    };
                    Ok(NativeHypothesis {
                        text: t.text.clone(),
                        score: t.hypothesis.score,
                        tokens: translator.target_pieces(&t.hypothesis.tokens),
                        matrix,
                    })
                })
                .collect::<Result<Vec<_>, Error>>()?;
            Ok((hyps, truncated))
        })
        .collect()
}

/// `(hypotheses, sentences, truncated)` for Python.
fn translation_to_py<'py>(
    py: Python<'py>,
    t: NativeTranslation,
    attention: bool,
    alignment: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let list = |hyps: Vec<NativeHypothesis>| -> PyResult<Bound<'py, PyList>> {
        let items = hyps
            .into_iter()
            .map(|h| hypothesis_to_py(py, h, attention, alignment))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    };
    let sentences = t
        .sentences
        .map(|s| s.into_iter().map(list).collect::<PyResult<Vec<_>>>())
        .transpose()?;
    (list(t.hypotheses)?, sentences, t.truncated).into_bound_py_any(py)
}

/// `(text, score, tokens, attention, source_tokens, alignment)` for Python; attention is a
/// float32 array `[tgt_len, src_len]` (rows: output pieces plus `</s>`; columns: source pieces
/// plus `</s>`), alignment the Pharaoh pairs (source index, target index).
fn hypothesis_to_py<'py>(
    py: Python<'py>,
    h: NativeHypothesis,
    attention: bool,
    alignment: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let (mut array, mut src_tokens, mut pairs) = (None, None, None);
    if let Some(m) = h.matrix {
        if alignment {
            pairs = Some(m.hard());
        }
        if attention {
            let cols = m.src_tokens.len();
            let flat: Vec<f32> = m.weights.iter().flatten().copied().collect();
            let a: Bound<'py, PyArray2<f32>> =
                numpy::PyArray1::from_vec(py, flat).reshape([m.weights.len(), cols])?;
            array = Some(a);
            src_tokens = Some(m.src_tokens);
        }
    }
    (h.text, h.score, h.tokens, array, src_tokens, pairs).into_bound_py_any(py)
}
