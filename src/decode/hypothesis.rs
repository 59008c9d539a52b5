//! A finished translation hypothesis.

/// One output sequence with its score and (optionally) its attention matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// Target token ids, without BOS and EOS.
    pub tokens: Vec<i64>,
    /// Sum of log-probabilities (nats), EOS included when it was produced.
    pub log_prob: f64,
    /// Score used for ranking: `log_prob / lp(len)` (GNMT length penalty), or `log_prob`.
    pub score: f64,
    /// Attention weights α, one row `[src_len]` per produced target token (EOS included),
    /// when requested.
    pub attention: Option<Vec<Vec<f32>>>,
}

impl Hypothesis {
    /// The empty output (no tokens, log-probability 0), with an empty attention matrix when
    /// `keep_attention`.
    pub fn empty(keep_attention: bool) -> Self {
        Self {
            tokens: Vec::new(),
            log_prob: 0.0,
            score: 0.0,
            attention: keep_attention.then(Vec::new),
        }
    }
}

/// GNMT length penalty lp(Y) = ((5 + |Y|) / 6)^α (Wu et al. 2016, arXiv 1609.08144, eq. 14).
/// `length` counts output tokens including EOS; α = 0 gives 1.
pub fn length_penalty(length: usize, alpha: f64) -> f64 {
    if alpha == 0.0 {
        1.0
    } else {
        ((5.0 + length as f64) / 6.0).powf(alpha)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn length_penalty_matches_gnmt() {
        assert_eq!(super::length_penalty(1, 1.0), 1.0);
        assert!((super::length_penalty(7, 0.6) - 2f64.powf(0.6)).abs() < 1e-12);
        assert_eq!(super::length_penalty(30, 0.0), 1.0);
    }
}
