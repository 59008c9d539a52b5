//! Translation settings: the model's `[decoding]` config with the caller's overrides merged
//! over it, resolved once so that the CLI, validation and a server translate alike.

use crate::config::DecodingConfig;
use crate::error::Error;
use crate::precision::{Precision, PrecisionChoice};

/// How to translate, fully resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TranslateOptions {
    /// Beam size K; 1 runs greedy search.
    pub beam_size: usize,
    /// GNMT length-penalty α (beam search only).
    pub length_penalty: f64,
    /// Hypotheses per sentence (1 ≤ nbest ≤ beam size).
    pub nbest: usize,
    /// Output length limit: `max_len_ratio × source subwords + 5` tokens.
    pub max_len_ratio: f64,
    /// Batch budget in source tokens × sentences.
    pub batch_tokens: usize,
    /// Longest source translated, in subwords; longer sources are cut to it. 0 = no limit.
    pub max_input_subwords: usize,
    /// Keep attention matrices in the hypotheses.
    pub keep_attention: bool,
    /// Decode each batch over the model's lexical shortlist instead of the full vocabulary.
    pub shortlist: bool,
    /// Precision of the vocabulary projection; applied to the model when a
    /// [`crate::decode::Translator`] is loaded.
    pub precision: Precision,
    /// Search through the fused kernels ([`crate::kernels::with_fused`]).
    pub fused_kernels: bool,
    /// Replace each `<unk>` of the output by the most attended source word
    /// ([`crate::decode::unk::replace_unk`]).
    pub replace_unk: bool,
}

/// The caller's choices; `None` keeps the model's `[decoding]` value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TranslateOverrides {
    /// Beam size (1 = greedy).
    pub beam_size: Option<usize>,
    /// GNMT length-penalty α.
    pub length_penalty: Option<f64>,
    /// Hypotheses per sentence; default 1.
    pub nbest: Option<usize>,
    /// Output length limit ratio.
    pub max_len_ratio: Option<f64>,
    /// Batch budget in source tokens × sentences.
    pub batch_tokens: Option<usize>,
    /// Longest source translated, in subwords (0 = no limit).
    pub max_input_subwords: Option<usize>,
    /// Keep attention matrices.
    pub keep_attention: bool,
    /// Use the lexical shortlist; `Some(false)` does not turn off a config's `shortlist = true`
    /// (the CLI flag can only ask for it).
    pub shortlist: Option<bool>,
    /// `fp32`, `bf16` or `auto`; default from the config (`decoding.precision`).
    pub precision: Option<PrecisionChoice>,
    /// Fused kernels; default from the config (`decoding.fused_kernels`).
    pub fused_kernels: Option<bool>,
    /// UNK replacement (off unless asked for).
    pub replace_unk: bool,
}

impl TranslateOptions {
    /// Greedy search without attention over the full vocabulary, as validation runs it.
    pub fn greedy(max_len_ratio: f64, batch_tokens: usize) -> Self {
        Self {
            beam_size: 1,
            length_penalty: 0.0,
            nbest: 1,
            max_len_ratio,
            batch_tokens,
            max_input_subwords: 0,
            keep_attention: false,
            shortlist: false,
            precision: Precision::Fp32,
            fused_kernels: false,
            replace_unk: false,
        }
    }

    /// Merges `overrides` over `config`. A beam size of 0 counts as 1, and n-best is clamped
    /// to 1..=beam size.
    ///
    /// Errors: [`Error::Input`] for a negative or non-finite length penalty or length ratio,
    /// or a zero batch budget.
    pub fn resolve(config: &DecodingConfig, overrides: &TranslateOverrides) -> Result<Self, Error> {
        let beam_size = overrides.beam_size.unwrap_or(config.beam_size).max(1);
        let opts = Self {
            beam_size,
            length_penalty: overrides.length_penalty.unwrap_or(config.length_penalty),
            nbest: overrides.nbest.unwrap_or(1).clamp(1, beam_size),
            max_len_ratio: overrides.max_len_ratio.unwrap_or(config.max_len_ratio),
            batch_tokens: overrides.batch_tokens.unwrap_or(config.batch_tokens),
            max_input_subwords: overrides
                .max_input_subwords
                .unwrap_or(config.max_input_subwords),
            keep_attention: overrides.keep_attention,
            shortlist: overrides.shortlist.unwrap_or(false) || config.shortlist,
            precision: overrides.precision.unwrap_or(config.precision).resolve(),
            fused_kernels: overrides.fused_kernels.unwrap_or(config.fused_kernels),
            replace_unk: overrides.replace_unk,
        };
        let non_negative = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(Error::Input(format!(
                    "{name} {v} must be a finite number ≥ 0"
                )))
            }
        };
        non_negative("length penalty", opts.length_penalty)?;
        non_negative("max length ratio", opts.max_len_ratio)?;
        if opts.batch_tokens == 0 {
            return Err(Error::Input("batch_tokens must be at least 1".into()));
        }
        Ok(opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win_and_defaults_come_from_the_config() {
        let config = DecodingConfig::default();
        let none = TranslateOptions::resolve(&config, &TranslateOverrides::default()).unwrap();
        assert_eq!(none.beam_size, config.beam_size.max(1));
        assert_eq!(none.length_penalty, config.length_penalty);
        assert_eq!(none.nbest, 1);
        let o = TranslateOverrides {
            beam_size: Some(3),
            length_penalty: Some(0.2),
            nbest: Some(9),
            ..Default::default()
        };
        let opts = TranslateOptions::resolve(&config, &o).unwrap();
        assert_eq!(
            (opts.beam_size, opts.length_penalty, opts.nbest),
            (3, 0.2, 3)
        );
        let bad = TranslateOverrides {
            length_penalty: Some(-1.0),
            ..Default::default()
        };
        assert!(matches!(
            TranslateOptions::resolve(&config, &bad),
            Err(Error::Input(m)) if m.contains("length penalty")
        ));
    }
}
