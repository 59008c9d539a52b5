//! Translating lists of sentences: subword encoding, length-sorted batching, search, and
//! detokenisation, with the output in input order.
//!
//! A [`Translator`] owns its model, subword models, shortlist and resolved options, so it can
//! be built once and handed to whatever serves requests; validation during training builds
//! one over a borrowed model (`Translator<&Seq2Seq>`).

use std::path::{Path, PathBuf};

use tch::Device;

use super::alignment::AlignmentMatrix;
use super::beam::{beam_search, BeamConfig};
use super::ensemble::Ensemble;
use super::greedy::greedy_search;
use super::hypothesis::{length_penalty, Hypothesis};
use super::options::{TranslateOptions, TranslateOverrides};
use super::prepare::{prepare_sources, PreparedSource, Truncation};
use super::shortlist::LexicalShortlist;
use super::step_model::StepModel;
use crate::artifacts::{LoadedModel, ModelDir};
use crate::batch::source_tensors;
use crate::data::batching::plan_inference;
use crate::error::Error;
use crate::model::Seq2Seq;
use crate::subword::{SubwordModel, EOS_TOKEN};

/// One translated hypothesis: detokenised text plus the search result.
#[derive(Debug, Clone)]
pub struct Translation {
    /// Detokenised output text.
    pub text: String,
    /// Token ids, score and attention.
    pub hypothesis: Hypothesis,
    /// Set when the source was longer than `max_input_subwords` and cut to it.
    pub truncation: Option<Truncation>,
}

impl Translation {
    /// The translation of an empty (or whitespace-only) source: no text, no model run.
    fn empty(keep_attention: bool) -> Self {
        Self {
            text: String::new(),
            hypothesis: Hypothesis::empty(keep_attention),
            truncation: None,
        }
    }
}

/// Runs search over sentences with a model, its subword models and its options.
#[derive(Debug)]
pub struct Translator<M: StepModel = Seq2Seq> {
    model: M,
    src_subwords: SubwordModel,
    tgt_subwords: SubwordModel,
    device: Device,
    shortlist: Option<LexicalShortlist>,
    options: TranslateOptions,
}

impl Translator<Seq2Seq> {
    /// Loads the model directory `dir` (config, subword models, the weights of the checkpoint
    /// named `checkpoint`, by default `best/` or else `last/` (see [`LoadedModel::load`]), and
    /// `shortlist.json` when the options ask for it) and resolves the translation options from
    /// its `[decoding]` config and `overrides`; the model searches in `options.precision`.
    ///
    /// Errors: [`Error::Model`] for a directory that cannot be loaded, [`Error::Input`] for
    /// overrides out of range.
    pub fn load(
        dir: &Path,
        checkpoint: Option<&str>,
        device: Device,
        overrides: &TranslateOverrides,
    ) -> Result<Self, Error> {
        let mut loaded = LoadedModel::load(dir, checkpoint, device).map_err(Error::model)?;
        let options = TranslateOptions::resolve(&loaded.config.decoding, overrides)?;
        loaded.model.set_search_precision(options.precision);
        let shortlist = if options.shortlist {
            let md = ModelDir::new(dir);
            md.check_files(&[&md.shortlist()]).map_err(Error::model)?;
            let vocab = loaded.tgt_subwords.vocab_size();
            Some(LexicalShortlist::load(&md.shortlist(), vocab).map_err(Error::model)?)
        } else {
            None
        };
        Ok(Self::new(
            loaded.model,
            loaded.src_subwords,
            loaded.tgt_subwords,
            device,
            shortlist,
            options,
        ))
    }
}

impl Translator<Ensemble<Seq2Seq>> {
    /// Loads the model directories `dirs` as one ensemble ([`Ensemble`]), each as
    /// [`Translator::load`] does (the same checkpoint name in each). The options and the
    /// shortlist come from the first directory. One directory gives exactly that model's
    /// translations.
    ///
    /// Errors: as [`Translator::load`]; no directory; members whose source or target subword
    /// vocabularies differ (naming the directory and the first differing piece).
    pub fn load_ensemble(
        dirs: &[PathBuf],
        checkpoint: Option<&str>,
        device: Device,
        overrides: &TranslateOverrides,
    ) -> Result<Self, Error> {
        let (first, rest) = dirs
            .split_first()
            .ok_or_else(|| Error::Input("an ensemble needs at least one model".into()))?;
        let head = Translator::load(first, checkpoint, device, overrides)?;
        let mut members = Vec::with_capacity(dirs.len());
        for dir in rest {
            let member = Translator::load(dir, checkpoint, device, overrides)?;
            for (side, a, b) in [
                ("source", &head.src_subwords, &member.src_subwords),
                ("target", &head.tgt_subwords, &member.tgt_subwords),
            ] {
                if let Some(why) = vocabulary_difference(a, b) {
                    return Err(Error::Model(format!(
                        "{} cannot join an ensemble with {}: its {side} vocabulary differs \
                         ({why})",
                        dir.display(),
                        first.display()
                    )));
                }
            }
            members.push(member.model);
        }
        members.insert(0, head.model);
        Ok(Translator::new(
            Ensemble::new(members),
            head.src_subwords,
            head.tgt_subwords,
            device,
            head.shortlist,
            head.options,
        ))
    }
}

/// Why two subword models are not the same vocabulary (`None` if they are).
fn vocabulary_difference(a: &SubwordModel, b: &SubwordModel) -> Option<String> {
    if a.vocab_size() != b.vocab_size() {
        return Some(format!("{} vs {} pieces", b.vocab_size(), a.vocab_size()));
    }
    (0..a.vocab_size() as i64).find_map(|id| {
        let (pa, pb) = (a.id_to_piece(id), b.id_to_piece(id));
        (pa != pb).then(|| format!("id {id} is {pb:?}, not {pa:?}"))
    })
}

impl<M: StepModel> Translator<M> {
    /// A translator over `model` on `device`. A shortlist is used only when `options.shortlist`
    /// is set.
    pub fn new(
        model: M,
        src_subwords: SubwordModel,
        tgt_subwords: SubwordModel,
        device: Device,
        shortlist: Option<LexicalShortlist>,
        options: TranslateOptions,
    ) -> Self {
        Self {
            model,
            src_subwords,
            tgt_subwords,
            device,
            shortlist,
            options,
        }
    }

    /// The model searched.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The options [`Translator::translate`] uses.
    pub fn options(&self) -> &TranslateOptions {
        &self.options
    }

    /// The source subword model (to measure inputs before they are queued).
    pub fn source_subwords(&self) -> &SubwordModel {
        &self.src_subwords
    }

    /// Target subword pieces of token ids (an id outside the vocabulary gives `""`).
    pub fn target_pieces(&self, ids: &[i64]) -> Vec<String> {
        ids.iter()
            .map(|&id| self.tgt_subwords.id_to_piece(id).unwrap_or_default())
            .collect()
    }

    /// Device of the model.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Translates `sources` (raw text, one sentence each) with the translator's options; see
    /// [`Translator::translate_with`].
    pub fn translate<S: AsRef<str>>(&self, sources: &[S]) -> Result<Vec<Vec<Translation>>, Error> {
        self.translate_with(sources, &self.options)
    }

    /// Translates `sources` with `opts`; returns for each input its hypotheses, best first (1
    /// for greedy, `nbest` for beam search), in input order. An empty or whitespace-only source
    /// gives one empty translation without running the model; a source longer than
    /// `opts.max_input_subwords` is cut to it (see [`Translation::truncation`]).
    ///
    /// Errors: [`Error::Input`] for options out of range or text the subword model rejects.
    pub fn translate_with<S: AsRef<str>>(
        &self,
        sources: &[S],
        opts: &TranslateOptions,
    ) -> Result<Vec<Vec<Translation>>, Error> {
        let prepared = self.prepare(sources, opts)?;
        self.translate_prepared(&prepared, opts)
    }

    /// `sources` encoded and cut for `opts` ([`prepare_sources`]): what a queue holds before
    /// [`Translator::translate_prepared`] searches it.
    ///
    /// Errors: [`Error::Input`] for text the subword model rejects.
    pub fn prepare<S: AsRef<str>>(
        &self,
        sources: &[S],
        opts: &TranslateOptions,
    ) -> Result<Vec<PreparedSource>, Error> {
        prepare_sources(&self.src_subwords, sources, opts.max_input_subwords)
    }

    /// Translates sources prepared by [`Translator::prepare`] (or [`prepare_sources`] with
    /// this translator's source subword model) with `opts`, as [`Translator::translate_with`].
    ///
    /// Errors: [`Error::Input`] when `opts` asks for a shortlist this translator lacks.
    pub fn translate_prepared(
        &self,
        sources: &[PreparedSource],
        opts: &TranslateOptions,
    ) -> Result<Vec<Vec<Translation>>, Error> {
        let shortlist = if opts.shortlist {
            Some(self.shortlist.as_ref().ok_or_else(|| {
                Error::Input("the shortlist was asked for but this translator has none".into())
            })?)
        } else {
            None
        };
        let mut out: Vec<Vec<Translation>> = vec![Vec::new(); sources.len()];
        let todo: Vec<usize> = (0..sources.len())
            .filter(|&i| {
                let blank = sources[i].is_blank();
                if blank {
                    out[i] = vec![Translation::empty(opts.keep_attention)];
                }
                !blank
            })
            .collect();
        let lengths: Vec<usize> = todo.iter().map(|&i| sources[i].cost()).collect();
        for batch in plan_inference(&lengths, opts.batch_tokens) {
            let indices: Vec<usize> = batch.iter().map(|&k| todo[k]).collect();
            let items: Vec<&PreparedSource> = indices.iter().map(|&i| &sources[i]).collect();
            let hyps = self.search_batch(&items, opts, shortlist)?;
            for (&k, hs) in indices.iter().zip(hyps) {
                out[k] = hs
                    .into_iter()
                    .map(|h| self.finish(h, &sources[k], opts))
                    .collect::<Result<_, Error>>()?;
            }
        }
        Ok(out)
    }

    /// Searches one batch of prepared sources.
    fn search_batch(
        &self,
        batch: &[&PreparedSource],
        opts: &TranslateOptions,
        shortlist: Option<&LexicalShortlist>,
    ) -> Result<Vec<Vec<Hypothesis>>, Error> {
        let srcs: Vec<&[i64]> = batch.iter().map(|s| s.ids.as_slice()).collect();
        let max_len: Vec<usize> = srcs
            .iter()
            .map(|s| (opts.max_len_ratio * s.len() as f64) as usize + 5)
            .collect();
        let candidates = shortlist.map(|s| s.candidates(&srcs));
        // UNK replacement reads the attention, kept for it alone if not asked for.
        let search_opts = TranslateOptions {
            keep_attention: opts.keep_attention || opts.replace_unk,
            ..*opts
        };
        crate::kernels::with_fused(opts.fused_kernels, || {
            self.search(&srcs, &max_len, &search_opts, candidates.as_deref())
        })
    }

    /// A hypothesis of `source` as a [`Translation`]: detokenised, `<unk>`s replaced when
    /// asked for.
    fn finish(
        &self,
        mut h: Hypothesis,
        source: &PreparedSource,
        opts: &TranslateOptions,
    ) -> Result<Translation, Error> {
        let mut text = self.tgt_subwords.decode(&h.tokens)?;
        if opts.replace_unk {
            text = self.unk_replaced(&text, &h, &source.ids, &source.text);
            if !opts.keep_attention {
                h.attention = None;
            }
        }
        Ok(Translation {
            text,
            hypothesis: h,
            truncation: source.truncation,
        })
    }

    /// `text` of hypothesis `h` with its `<unk>`s replaced from the source (`src_ids`, the
    /// text `source`) by [`super::unk::replace_unk`].
    fn unk_replaced(&self, text: &str, h: &Hypothesis, src_ids: &[i64], source: &str) -> String {
        let pieces: Vec<String> = src_ids
            .iter()
            .map(|&id| self.src_subwords.id_to_piece(id).unwrap_or_default())
            .collect();
        super::unk::replace_unk(text, &h.tokens, h.attention.as_deref(), &pieces, source)
    }

    /// Greedy (beam size 1) or beam search over one batch of subword sequences.
    fn search(
        &self,
        srcs: &[&[i64]],
        max_len: &[usize],
        opts: &TranslateOptions,
        candidates: Option<&[i64]>,
    ) -> Result<Vec<Vec<Hypothesis>>, Error> {
        let (src, src_len) = source_tensors(srcs, self.device);
        let keep = opts.keep_attention;
        if opts.beam_size <= 1 {
            let hyps = greedy_search(&self.model, &src, &src_len, max_len, keep, candidates);
            // The same score as beam search ranks by: log-probability over the GNMT length
            // penalty of the output length, `</s>` included when it was produced.
            return Ok(hyps
                .into_iter()
                .zip(max_len)
                .map(|(mut h, &limit)| {
                    let length = (h.tokens.len() + 1).min(limit);
                    h.score = h.log_prob / length_penalty(length, opts.length_penalty);
                    vec![h]
                })
                .collect());
        }
        let cfg = BeamConfig {
            beam_size: opts.beam_size,
            length_penalty: opts.length_penalty,
            nbest: opts.nbest.clamp(1, opts.beam_size),
        };
        beam_search(&self.model, &src, &src_len, max_len, cfg, keep, candidates)
    }

    /// The subword attention matrix of a translation of `source` (needs
    /// `keep_attention`): source pieces plus `</s>` as columns, output pieces (plus `</s>` when
    /// it was produced) as rows. `None` when the translation kept no attention.
    ///
    /// Errors: [`Error::Input`] if `source` cannot be segmented.
    pub fn alignment(
        &self,
        source: &str,
        translation: &Translation,
    ) -> Result<Option<AlignmentMatrix>, Error> {
        let Some(rows) = translation.hypothesis.attention.as_ref() else {
            return Ok(None);
        };
        // The source as it was encoded: a source cut in characters is not encoded whole again.
        let kept_chars = translation.truncation.and_then(|t| t.chars).map(|c| c.kept);
        let (source, _) = super::prepare::cut_chars(source, kept_chars);
        let mut src_tokens = self.src_subwords.pieces(source)?;
        if let Some(t) = translation.truncation {
            src_tokens.truncate(t.kept);
        }
        src_tokens.push(EOS_TOKEN.into());
        let mut tgt_tokens = self.target_pieces(&translation.hypothesis.tokens);
        if rows.len() > tgt_tokens.len() {
            tgt_tokens.push(EOS_TOKEN.into());
        }
        let weights = rows
            .iter()
            .map(|r| r[..src_tokens.len().min(r.len())].to_vec())
            .collect();
        Ok(Some(AlignmentMatrix {
            src_tokens,
            tgt_tokens,
            weights,
        }))
    }
}
