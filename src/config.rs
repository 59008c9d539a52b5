//! Experiment configuration: one TOML file with the sections `[data]`, `[subword]`, `[model]`,
//! `[training]` and `[decoding]`. Every key has a default (given in its docstring and in
//! `configs/reference.toml`); unknown keys are an error so that typos do not pass silently.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::data::corpus::EmptyLinePolicy;
use crate::precision::{PrecisionChoice, TrainingPrecision};

/// The whole experiment: where the data is, how it is segmented, the model, its training and
/// the decoding used for validation and translation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Parallel data files and reading policy.
    pub data: DataConfig,
    /// Subword (BPE) segmentation.
    pub subword: SubwordConfig,
    /// Encoder-decoder architecture.
    pub model: ModelConfig,
    /// Optimisation, validation, checkpoints.
    pub training: TrainingConfig,
    /// Search used for validation BLEU and as `tolk translate`'s defaults.
    pub decoding: DecodingConfig,
}

/// `[data]`: sentence-aligned plain-text files (`.gz` allowed). Relative paths are resolved
/// against the directory of the config file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Training source file. Default `data/multi30k/train.de.gz`.
    pub train_src: PathBuf,
    /// Training target file. Default `data/multi30k/train.en.gz`.
    pub train_tgt: PathBuf,
    /// Validation source file. Default `data/multi30k/val.de.gz`.
    pub valid_src: PathBuf,
    /// Validation target file. Default `data/multi30k/val.en.gz`.
    pub valid_tgt: PathBuf,
    /// What to do with a pair where a side is empty: `"skip"` (count and log) or `"fail"`.
    /// Default `"skip"`.
    pub empty_lines: EmptyLinePolicy,
    /// Training pairs whose source has more subwords than this are dropped (counted and
    /// logged). Default 100.
    pub max_src_len: usize,
    /// Training pairs whose target has more subwords than this are dropped. Default 100.
    pub max_tgt_len: usize,
    /// Training pairs with a line longer than this many characters (either side) are
    /// skipped before subword training, as are pairs with control characters other than TAB
    /// (counted, logged with the first lines); 0 = no character limit. Default 2000.
    pub max_line_chars: usize,
    /// Joined-pair augmentation: for every k in 2..=this, the training set also gets each
    /// non-overlapping run of k consecutive pairs joined into one pair
    /// ([`crate::data::concat::with_joined_pairs`]; subword models are learned from the
    /// unjoined text). Default 1 (off).
    pub concat_pairs: usize,
    /// Source language code (ISO 639-1, e.g. `"de"`), as `tolk serve` reports it; default:
    /// the extension of `train_src` before `.gz` (`train.de.gz` → `de`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_lang: Option<String>,
    /// Target language code; default: the extension of `train_tgt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tgt_lang: Option<String>,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            train_src: "data/multi30k/train.de.gz".into(),
            train_tgt: "data/multi30k/train.en.gz".into(),
            valid_src: "data/multi30k/val.de.gz".into(),
            valid_tgt: "data/multi30k/val.en.gz".into(),
            empty_lines: EmptyLinePolicy::Skip,
            max_src_len: 100,
            max_tgt_len: 100,
            max_line_chars: 2000,
            concat_pairs: 1,
            src_lang: None,
            tgt_lang: None,
        }
    }
}

impl DataConfig {
    /// The (source, target) language codes: `src_lang`/`tgt_lang` when set, else the
    /// extensions of the training files (`train.de.gz` → `de`), else `"src"`/`"tgt"`.
    pub fn language_pair(&self) -> (String, String) {
        let from_file = |path: &Path, fallback: &str| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let name = name.strip_suffix(".gz").unwrap_or(name);
            match name.rsplit_once('.') {
                Some((_, ext)) if !ext.is_empty() => ext.to_string(),
                _ => fallback.to_string(),
            }
        };
        (
            self.src_lang
                .clone()
                .unwrap_or_else(|| from_file(&self.train_src, "src")),
            self.tgt_lang
                .clone()
                .unwrap_or_else(|| from_file(&self.train_tgt, "tgt")),
        )
    }
}

/// `[subword]`: BPE learned on the training data with the `tokenizers` crate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SubwordConfig {
    /// One BPE model for both languages (`tokenizer.json`) or one per side
    /// (`tokenizer.src.json`, `tokenizer.tgt.json`). Default `true`.
    pub joint: bool,
    /// Vocabulary size per model, special tokens included. Default 8000.
    pub vocab_size: usize,
    /// Minimum pair frequency for a BPE merge. Default 2.
    pub min_frequency: u64,
    /// BPE is learned on at most this many training pairs, a seeded uniform sample
    /// (reservoir sampling, `training.seed`) of a larger corpus; a corpus of at most this
    /// many pairs is used whole. 0: always the whole corpus. Default 2,000,000 (the sample's
    /// text is held in memory while BPE is learned: about 0.4 GB for pairs of 12 words).
    pub sample_pairs: usize,
}

/// Default of [`DecodingConfig::shortlist_pairs`].
fn default_shortlist_pairs() -> usize {
    2_000_000
}

/// Default of [`SubwordConfig::sample_pairs`].
fn default_sample_pairs() -> usize {
    2_000_000
}

impl Default for SubwordConfig {
    fn default() -> Self {
        Self {
            joint: true,
            vocab_size: 8000,
            min_frequency: 2,
            sample_pairs: default_sample_pairs(),
        }
    }
}

/// Recurrent cell used by encoder and decoder.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RnnType {
    /// Gated recurrent unit (Cho et al. 2014).
    Gru,
    /// Long short-term memory (Hochreiter & Schmidhuber 1997).
    Lstm,
}

/// Deep output layer before the vocabulary projection (Bahdanau et al. 2015, appendix A.2.2).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OutputLayerType {
    /// Maxout over pairs of units (Goodfellow et al. 2013), as in Bahdanau et al.
    Maxout,
    /// tanh.
    Tanh,
}

/// The c10d backend a data-parallel run asks for (`training.distributed_backend`); which one
/// runs is decided with the device by `distributed::Backend::resolve`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BackendSetting {
    /// NCCL on CUDA where tolk is built with it, else Gloo (PyTorch's default pairing).
    Auto,
    /// Gloo on any device.
    Gloo,
    /// NCCL; needs CUDA and an NCCL build.
    Nccl,
}

/// Decoder architecture.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DecoderType {
    /// Bahdanau et al. 2015: attention from s_{i-1}, context fed into the RNN.
    Bahdanau,
    /// Luong et al. 2015: attention from h_t after the RNN, attentional state
    /// h~_t = tanh(W_c [c_t; h_t]), optional input feeding.
    Luong,
}

/// Attention score function (see `model::attention`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AttentionType {
    /// v^T tanh(W s + U h_j) (Bahdanau eq. 6; Luong's "concat").
    #[serde(alias = "concat")]
    Additive,
    /// h_t^T h_j (Luong eq. 8); needs decoder_hidden == 2 * encoder_hidden.
    Dot,
    /// h_t^T h_j / sqrt(d).
    ScaledDot,
    /// h_t^T W_a h_j (Luong eq. 8).
    General,
    /// h_t^T W_a h_j / sqrt(d): the general score with the scaling of scaled dot.
    ScaledGeneral,
    /// softmax(W_a h_t) over positions (Luong eq. 9).
    Location,
    /// No attention: every step gets the same fixed-length context, the encoder's final states
    /// (the RNN encoder-decoder of Cho et al. 2014); the alignment weights are all 0.
    None,
}

/// Attention scope (Luong et al. 2015, §3.2).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ScopeType {
    /// All source positions.
    Global,
    /// Window around p_t = t.
    LocalM,
    /// Window around a predicted p_t, Gaussian-weighted.
    LocalP,
}

/// How the context is formed (Xu et al. 2015).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SelectionType {
    /// Expected context Σ α_j h_j.
    Soft,
    /// One sampled position, REINFORCE with baseline and entropy bonus; arg-max at inference.
    Hard,
    /// Straight-through Gumbel-softmax; arg-max at inference.
    Gumbel,
}

/// `[model]`: sizes of the encoder-decoder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// `"gru"` or `"lstm"`, for encoder and decoder. Default `"gru"`.
    pub rnn: RnnType,
    /// Source embedding size. Default 256.
    pub src_embed_dim: usize,
    /// Target embedding size. Default 256.
    pub tgt_embed_dim: usize,
    /// Hidden size of each encoder direction; annotations have `2 * encoder_hidden`. Default 256.
    pub encoder_hidden: usize,
    /// Stacked bidirectional encoder layers. Default 1.
    pub encoder_layers: usize,
    /// Decoder state size. Default 512.
    pub decoder_hidden: usize,
    /// Hidden size of the additive attention MLP. Default 512.
    pub attention_dim: usize,
    /// Size of the deep output layer (before maxout halves it). Default 512.
    pub output_dim: usize,
    /// `"maxout"` or `"tanh"`. Default `"maxout"`.
    pub output_layer: OutputLayerType,
    /// Dropout probability on embeddings, between encoder layers and before the output
    /// projection. Default 0.3.
    pub dropout: f64,
    /// `"bahdanau"` or `"luong"`. Default `"bahdanau"`.
    pub decoder: DecoderType,
    /// Score function: `"additive"` (alias `"concat"`), `"dot"`, `"scaled_dot"`, `"general"`,
    /// `"scaled_general"`, `"location"`. Default `"additive"`.
    pub attention: AttentionType,
    /// `"global"`, `"local_m"` or `"local_p"`. Default `"global"`.
    pub attention_scope: ScopeType,
    /// Half-width W of the local attention window, in source positions (Luong et al.
    /// 2015 call it D). Default 10.
    pub local_window: usize,
    /// `"soft"`, `"hard"` or `"gumbel"`. Default `"soft"`.
    pub attention_selection: SelectionType,
    /// Temperature of the Gumbel-softmax relaxation. Default 1.0.
    pub gumbel_temperature: f64,
    /// Coverage (Tu et al. 2016): the sum of earlier attention weights enters the score.
    /// Default `false`.
    pub coverage: bool,
    /// Luong decoder: feed the previous attentional state h~_{t-1} into the RNN. Default `true`.
    pub input_feeding: bool,
    /// Location attention: the most source positions (longer sources are cut off). Default 128.
    pub location_max_len: usize,
    /// Share the target embedding matrix with the output projection (Press & Wolf 2017);
    /// requires `output_dim` (halved for maxout) to equal `tgt_embed_dim`. Default `false`.
    pub tie_target_embeddings: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            rnn: RnnType::Gru,
            src_embed_dim: 256,
            tgt_embed_dim: 256,
            encoder_hidden: 256,
            encoder_layers: 1,
            decoder_hidden: 512,
            attention_dim: 512,
            output_dim: 512,
            output_layer: OutputLayerType::Maxout,
            dropout: 0.3,
            tie_target_embeddings: false,
            decoder: DecoderType::Bahdanau,
            attention: AttentionType::Additive,
            attention_scope: ScopeType::Global,
            local_window: 10,
            attention_selection: SelectionType::Soft,
            gumbel_temperature: 1.0,
            coverage: false,
            input_feeding: true,
            location_max_len: 128,
        }
    }
}

/// `[training]`: optimisation and bookkeeping.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingConfig {
    /// Directory for checkpoints, tokenizer, metrics. Relative to the config file. Default
    /// `runs/model`.
    pub model_dir: PathBuf,
    /// Seed for data order, initialisation and dropout. Default 42.
    pub seed: u64,
    /// Batch budget in padded tokens: sentences × longest side. Default 2000.
    pub batch_tokens: usize,
    /// Stop after this many epochs. Default 30.
    pub max_epochs: usize,
    /// Stop after this many updates (0 = no limit). Default 0.
    pub max_steps: usize,
    /// Stop after this many minutes of wall time (0 = no limit); checked after each update.
    /// Default 0.
    pub max_minutes: f64,
    /// Adam learning rate. Default 0.001.
    pub learning_rate: f64,
    /// Adam (beta1, beta2). Default (0.9, 0.999).
    pub adam_betas: (f64, f64),
    /// Adam epsilon. Default 1e-8.
    pub adam_eps: f64,
    /// Global gradient-norm clipping threshold (0 = off). Default 1.0.
    pub clip_grad_norm: f64,
    /// Label smoothing epsilon (Szegedy et al. 2016). Default 0.1.
    pub label_smoothing: f64,
    /// Train through the fused CPU kernels ([`crate::kernels`]): the label-smoothed cross
    /// entropy and its gradient in one pass ([`crate::kernels::cross_entropy`]) and the
    /// decoder's GRU gates with their backward ([`crate::kernels::gru_gates_train`]). Same
    /// loss and gradients up to float rounding; false runs libtorch's ops. Default true.
    pub fused_kernels: bool,
    /// Precision of the forward pass's matrix products: `"fp32"` (default), `"bf16"`
    /// (autocast on the model's device, fp32 master weights and Adam state), `"fp16"` (the
    /// same with dynamic loss scaling) or `"auto"` (bf16 on CUDA, and on CPUs with
    /// AVX-512-BF16 / AMX). See [`TrainingPrecision`].
    pub precision: TrainingPrecision,
    /// fp16: the loss scale S the first update starts from (PyTorch `GradScaler`'s
    /// `init_scale`). Default 65536 (2^16).
    pub loss_scale_init: f64,
    /// fp16: S doubles after this many updates in a row without an overflowed gradient
    /// (`GradScaler`'s `growth_interval`). Default 2000.
    pub loss_scale_window: usize,
    /// Hard attention: weight λ_e of the entropy bonus (Xu et al. 2015, eq. 12). Default 0.01.
    pub hard_attention_entropy: f64,
    /// Hard attention: decay of the moving-average reward baseline. Default 0.9.
    pub hard_attention_baseline_decay: f64,
    /// Coverage: weight of the coverage loss Σ_i Σ_j min(α_ij, cov_ij) (See et al. 2017,
    /// eq. 12). Default 1.0.
    pub coverage_loss_weight: f64,
    /// Coverage: the coverage loss is added only from this update on (0 = from the start).
    /// See et al. 2017 (§3, §7) train without it and switch it on for a final phase: from
    /// step 0 it drives attention to one-hot positions before any alignment is learned.
    /// Default 0.
    pub coverage_loss_start_step: usize,
    /// Validate (perplexity and greedy BLEU on the validation set) every this many updates;
    /// also at the end of each epoch when 0. Default 1000.
    pub validate_every: usize,
    /// Also write `last/` (weights, optimizer moments, training state) every this many
    /// updates between validations, so a killed run loses at most that much work; 0 = only at
    /// validations. Default 200: about 3.5 minutes of the full Multi30k recipe on a 2-core AMD
    /// EPYC, which did 6,081 updates in 105 minutes (docs/attention.md, 2026-11-21).
    pub checkpoint_every: usize,
    /// Checkpoints kept for averaging: with K > 1 every save of `last/` is also kept as
    /// `step-N/` (weights and state), and only the newest K of those are kept. Default 1
    /// (`last/` only).
    pub keep_checkpoints: usize,
    /// Plateau patience: the validation that makes more than this many in a row without a new
    /// best BLEU multiplies the learning rate by `lr_decay_factor` (the 3rd with 2, as
    /// PyTorch's `ReduceLROnPlateau`); the count then starts again. Default 2.
    pub lr_patience: usize,
    /// Factor for reduce-on-plateau. Default 0.5.
    pub lr_decay_factor: f64,
    /// Learning rate floor; training stops when the rate would fall below it. Default 1e-5.
    pub min_learning_rate: f64,
    /// Stop at the `early_stopping_patience`-th validation in a row without a new best BLEU
    /// (0 = never). Default 8.
    pub early_stopping_patience: usize,
    /// Intra-op threads for libtorch (0 = number of cores). Default 0.
    pub threads: usize,
    /// Log a progress line every this many updates. Default 100.
    pub log_every: usize,
    /// Device: `"cpu"`, `"cuda"` (an error where libtorch sees no CUDA device) or `"auto"`
    /// (CUDA where available, else the CPU). In a data-parallel run on GPUs each rank takes
    /// `cuda:LOCAL_RANK`. Default `"cpu"`.
    pub device: String,
    /// Batches per update (gradient accumulation, OpenNMT-py's `accum_count`): the update's
    /// gradient is that of the loss per target token over all of them, as of one batch of
    /// their union. In a data-parallel run each rank takes this many per update. Default 1.
    pub accumulate_batches: usize,
    /// Data-parallel runs: seconds a rank waits for the others at the rendezvous and at each
    /// collective before it fails with an error (a peer that exits is noticed at once).
    /// Rank 0's validations run while the others wait, so this must exceed a validation.
    /// Default 600.
    pub distributed_timeout_s: f64,
    /// Data-parallel runs: gradient bucket size in MiB, one all-reduce per bucket (PyTorch
    /// DDP's `bucket_cap_mb`). Default 25.
    pub gradient_bucket_mb: f64,
    /// Data-parallel runs: the c10d backend, `"auto"` (NCCL on CUDA where tolk is built with
    /// it, else Gloo), `"gloo"` or `"nccl"` (CUDA only). Default `"auto"`. Another name is
    /// a config error in every run; whether NCCL can run is checked when a run has ranks.
    pub distributed_backend: BackendSetting,
}

impl TrainingConfig {
    /// Weight of the coverage loss in update number `step` (0-based): `coverage_loss_weight`
    /// from `coverage_loss_start_step` on, 0 before.
    pub fn coverage_weight_at(&self, step: usize) -> f64 {
        if step >= self.coverage_loss_start_step {
            self.coverage_loss_weight
        } else {
            0.0
        }
    }
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            model_dir: "runs/model".into(),
            seed: 42,
            batch_tokens: 2000,
            max_epochs: 30,
            max_steps: 0,
            max_minutes: 0.0,
            learning_rate: 1e-3,
            adam_betas: (0.9, 0.999),
            adam_eps: 1e-8,
            clip_grad_norm: 1.0,
            label_smoothing: 0.1,
            fused_kernels: true,
            precision: TrainingPrecision::Fp32,
            loss_scale_init: 65536.0,
            loss_scale_window: 2000,
            hard_attention_entropy: 0.01,
            hard_attention_baseline_decay: 0.9,
            coverage_loss_weight: 1.0,
            coverage_loss_start_step: 0,
            validate_every: 1000,
            checkpoint_every: 200,
            keep_checkpoints: 1,
            lr_patience: 2,
            lr_decay_factor: 0.5,
            min_learning_rate: 1e-5,
            early_stopping_patience: 8,
            threads: 0,
            log_every: 100,
            device: "cpu".into(),
            accumulate_batches: 1,
            distributed_timeout_s: 600.0,
            gradient_bucket_mb: 25.0,
            distributed_backend: BackendSetting::Auto,
        }
    }
}

/// `[decoding]`: beam search settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DecodingConfig {
    /// Beam size for `tolk translate` (1 = greedy). Default 5.
    pub beam_size: usize,
    /// GNMT length-penalty exponent alpha (Wu et al. 2016, eq. 14); 0 = none. Default 1.0.
    pub length_penalty: f64,
    /// Maximum output length as a multiple of the source length (plus 5 tokens). Default 1.5.
    pub max_len_ratio: f64,
    /// Sentence budget per translation batch, in source tokens × sentences. Default 4000.
    pub batch_tokens: usize,
    /// Longest source translated, in subwords: a longer input is cut to this many subwords
    /// (with a warning naming its line). Default 250; 0 = no limit.
    pub max_input_subwords: usize,
    /// Decode each batch over its lexical shortlist (`shortlist.json` in the model directory,
    /// see [`crate::decode::LexicalShortlist`]) instead of the full target vocabulary; also
    /// `tolk translate --shortlist`. Default false.
    pub shortlist: bool,
    /// Shortlist: most frequent target tokens always included. Default 100.
    pub shortlist_frequent: usize,
    /// Shortlist: target candidates per source token (by Dice coefficient). Default 50.
    pub shortlist_translations: usize,
    /// The shortlist is learned from at most this many training pairs of the prepared corpus,
    /// evenly spaced over it (all of a smaller corpus; 0: all), counted in parallel. Default
    /// 2,000,000.
    pub shortlist_pairs: usize,
    /// Precision of the vocabulary projection in search: `"fp32"` (default), `"bf16"`,
    /// `"int8"` (dynamic quantisation, [`crate::model::quantized`]) or `"auto"` (bf16 where the
    /// CPU has AVX-512-BF16 / AMX). See [`crate::precision`].
    pub precision: PrecisionChoice,
    /// Search through the fused CPU kernels ([`crate::kernels`]): additive attention's
    /// energies ([`crate::kernels::additive_energy`]) instead of libtorch's add, tanh and
    /// product, and a GRU decoder's gates ([`crate::kernels::gru_gates`]) instead of ~10
    /// element-wise ops: faster search, same outputs up to float rounding (bench/NOTES.md).
    /// Default true; false runs the reference ops. Validation during training always runs the
    /// reference ops. Also read under its earlier name `fused_attention`.
    #[serde(alias = "fused_attention")]
    pub fused_kernels: bool,
}

impl Default for DecodingConfig {
    fn default() -> Self {
        Self {
            beam_size: 5,
            length_penalty: 1.0,
            max_len_ratio: 1.5,
            batch_tokens: 4000,
            max_input_subwords: 250,
            shortlist: false,
            shortlist_frequent: 100,
            shortlist_translations: 50,
            shortlist_pairs: default_shortlist_pairs(),
            precision: PrecisionChoice::Fp32,
            fused_kernels: true,
        }
    }
}

impl Config {
    /// Reads a TOML config; relative data and model paths are made relative to the file's
    /// directory.
    ///
    /// Errors: unreadable file, TOML syntax errors and unknown keys (with line and column).
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        Self::from_file_with_overrides(path, &[])
    }

    /// Like [`Config::from_file`], then applies `section.key=value` overrides (the value in
    /// TOML syntax, bare words taken as strings), e.g. `model.attention=dot`,
    /// `training.max_minutes=15`, `training.model_dir="runs/dot"`. Overridden relative paths
    /// are relative to the current directory.
    ///
    /// Errors: as `from_file`, plus malformed overrides and unknown keys.
    pub fn from_file_with_overrides(path: &Path, overrides: &[String]) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e))?;
        // Resolve the file's own relative paths before overrides replace any of them.
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        if overrides.is_empty() {
            return Ok(config);
        }
        let mut table = toml::Table::try_from(&config)?;
        for o in overrides {
            let (key, value) = o
                .split_once('=')
                .with_context(|| format!("--set {o}: expected section.key=value"))?;
            let (section, name) = key
                .trim()
                .split_once('.')
                .with_context(|| format!("--set {o}: expected section.key=value"))?;
            let value = value.trim();
            let parsed: toml::Value = toml::from_str::<toml::Table>(&format!("v = {value}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or_else(|| toml::Value::String(value.to_string()));
            table
                .entry(section.to_string())
                .or_insert_with(|| toml::Value::Table(Default::default()))
                .as_table_mut()
                .with_context(|| format!("--set {o}: {section} is not a section"))?
                .insert(name.to_string(), parsed);
        }
        table.try_into().map_err(|e| {
            anyhow::anyhow!(
                "{} with --set {}: {}",
                path.display(),
                overrides.join(" "),
                e
            )
        })
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.data.train_src);
        fix(&mut self.data.train_tgt);
        fix(&mut self.data.valid_src);
        fix(&mut self.data.valid_tgt);
        fix(&mut self.training.model_dir);
    }

    /// Serialises to TOML (written into the model directory as `config.toml`).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }
}
