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
    /// Largest beam (and n-best) the resolved options may ask for; default
    /// [`SearchLimits::cli`]'s 256 (`tolk translate --max-beam`).
    pub max_beam_size: Option<usize>,
}

/// Largest GNMT length-penalty α (common values are 0.6 to 1; above a few, the penalty
/// swamps the log-probabilities and scores overflow).
pub const MAX_LENGTH_PENALTY: f64 = 10.0;
/// Largest output-length ratio (outputs longer than 10× the source are degenerate).
pub const MAX_LEN_RATIO: f64 = 10.0;
/// Largest batch budget in padded source subwords.
pub const MAX_BATCH_TOKENS: usize = 1_000_000;

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

    /// Merges `overrides` over `config` and checks the result ([`TranslateOptions::validate`]
    /// with [`SearchLimits::cli`], or `overrides.max_beam_size` as beam and n-best bound; a
    /// server checks its own per request).
    ///
    /// Errors: [`Error::Input`] as [`TranslateOptions::validate`].
    pub fn resolve(config: &DecodingConfig, overrides: &TranslateOverrides) -> Result<Self, Error> {
        let opts = Self {
            beam_size: overrides.beam_size.unwrap_or(config.beam_size),
            length_penalty: overrides.length_penalty.unwrap_or(config.length_penalty),
            nbest: overrides.nbest.unwrap_or(1),
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
        let limit = overrides
            .max_beam_size
            .unwrap_or(SearchLimits::cli().max_beam_size);
        let limits = SearchLimits {
            max_beam_size: limit,
            max_nbest: limit,
        };
        opts.validate(&limits)?;
        Ok(opts)
    }

    /// Checks the search settings against `limits`: the one rule the CLI, the server and the
    /// library share (nothing is clamped silently).
    ///
    /// Errors: [`Error::Input`] naming the setting for a beam size outside
    /// `1..=limits.max_beam_size`, an n-best outside `1..=limits.max_nbest` or above the beam
    /// size, a length penalty outside `0..=`[`MAX_LENGTH_PENALTY`], a length ratio outside
    /// `(0, `[`MAX_LEN_RATIO`]`]`, or a batch budget outside `1..=`[`MAX_BATCH_TOKENS`].
    pub fn validate(&self, limits: &SearchLimits) -> Result<(), Error> {
        let fail = |m: String| Err(Error::Input(m));
        if !(1..=limits.max_beam_size).contains(&self.beam_size) {
            return fail(format!(
                "beam size {} must be between 1 and {}",
                self.beam_size, limits.max_beam_size
            ));
        }
        if !(1..=limits.max_nbest).contains(&self.nbest) {
            return fail(format!(
                "n-best {} must be between 1 and {}",
                self.nbest, limits.max_nbest
            ));
        }
        if self.nbest > self.beam_size {
            return fail(format!(
                "n-best {} must not exceed the beam size {}",
                self.nbest, self.beam_size
            ));
        }
        if !(0.0..=MAX_LENGTH_PENALTY).contains(&self.length_penalty) {
            return fail(format!(
                "length penalty {:?} must be between 0 and {MAX_LENGTH_PENALTY}",
                self.length_penalty
            ));
        }
        if !(self.max_len_ratio > 0.0 && self.max_len_ratio <= MAX_LEN_RATIO) {
            return fail(format!(
                "max length ratio {:?} must be > 0 and at most {MAX_LEN_RATIO}",
                self.max_len_ratio
            ));
        }
        if !(1..=MAX_BATCH_TOKENS).contains(&self.batch_tokens) {
            return fail(format!(
                "batch_tokens {} must be between 1 and {MAX_BATCH_TOKENS}",
                self.batch_tokens
            ));
        }
        Ok(())
    }
}

/// Bounds on what one call may ask of search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchLimits {
    /// Largest beam size. Default 16 for the server; the CLI allows more
    /// ([`SearchLimits::cli`]).
    pub max_beam_size: usize,
    /// Most hypotheses per sentence. Default 8.
    pub max_nbest: usize,
}

impl Default for SearchLimits {
    fn default() -> Self {
        Self {
            max_beam_size: 16,
            max_nbest: 8,
        }
    }
}

impl SearchLimits {
    /// The CLI's bounds: beams and n-best lists up to 256, for research on search itself.
    pub fn cli() -> Self {
        Self {
            max_beam_size: 256,
            max_nbest: 256,
        }
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
            nbest: Some(3),
            ..Default::default()
        };
        let opts = TranslateOptions::resolve(&config, &o).unwrap();
        assert_eq!(
            (opts.beam_size, opts.length_penalty, opts.nbest),
            (3, 0.2, 3)
        );
        for (beam, nbest, message) in [
            (3, 300, "n-best 300 must be between 1 and 256"),
            (3, 4, "n-best 4 must not exceed the beam size 3"),
            (0, 1, "beam size 0 must be between 1 and 256"),
            (2, 0, "n-best 0 must be between 1 and 256"),
        ] {
            let o = TranslateOverrides {
                beam_size: Some(beam),
                nbest: Some(nbest),
                ..Default::default()
            };
            assert!(matches!(
                TranslateOptions::resolve(&config, &o),
                Err(Error::Input(m)) if m == message
            ));
        }
        for (alpha, ratio, message) in [
            (-1.0, 1.5, "length penalty -1.0 must be between 0 and 10"),
            (1e308, 1.5, "length penalty 1e308 must be between 0 and 10"),
            (f64::NAN, 1.5, "length penalty NaN must be between 0 and 10"),
            (0.6, 0.0, "max length ratio 0.0 must be > 0 and at most 10"),
            (
                0.6,
                1e9,
                "max length ratio 1000000000.0 must be > 0 and at most 10",
            ),
        ] {
            let bad = TranslateOverrides {
                length_penalty: Some(alpha),
                max_len_ratio: Some(ratio),
                ..Default::default()
            };
            let got = TranslateOptions::resolve(&config, &bad);
            assert!(
                matches!(&got, Err(Error::Input(m)) if m == message),
                "{got:?}"
            );
        }
        let wide = TranslateOverrides {
            beam_size: Some(300),
            max_beam_size: Some(512),
            ..Default::default()
        };
        assert_eq!(
            TranslateOptions::resolve(&config, &wide).unwrap().beam_size,
            300
        );
        let narrow = TranslateOverrides {
            max_beam_size: Some(4),
            ..wide
        };
        let got = TranslateOptions::resolve(&config, &narrow);
        assert!(
            matches!(&got, Err(Error::Input(m)) if m == "beam size 300 must be between 1 and 4")
        );
    }
}
