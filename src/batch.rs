//! Padded tensors for a batch of examples (token ids → `[B, S]` / `[B, T]` int64).

use tch::{Device, Tensor};

use crate::subword::{BOS_ID, EOS_ID, PAD_ID};

/// A training or validation batch.
#[derive(Debug)]
pub struct Batch {
    /// Source ids followed by EOS, padded with PAD: `[B, S]`.
    pub src: Tensor,
    /// Source lengths including EOS: `[B]`.
    pub src_lengths: Tensor,
    /// Decoder input: BOS y_1 … y_n, padded: `[B, T]`.
    pub tgt_in: Tensor,
    /// Decoder output: y_1 … y_n EOS, padded: `[B, T]`.
    pub tgt_out: Tensor,
    /// Number of real target tokens (EOS included).
    pub target_tokens: usize,
}

fn pad_rows(rows: &[Vec<i64>], device: Device) -> Tensor {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut flat = Vec::with_capacity(rows.len() * width);
    for r in rows {
        flat.extend_from_slice(r);
        flat.extend(std::iter::repeat_n(PAD_ID, width - r.len()));
    }
    Tensor::from_slice(&flat)
        .view([rows.len() as i64, width as i64])
        .to_device(device)
}

/// Source tensors for translation: `(src [B, S], lengths [B])`, EOS appended to every row.
pub fn source_tensors(sources: &[&[i64]], device: Device) -> (Tensor, Tensor) {
    let rows: Vec<Vec<i64>> = sources
        .iter()
        .map(|s| {
            let mut r = s.to_vec();
            r.push(EOS_ID);
            r
        })
        .collect();
    let lengths: Vec<i64> = rows.iter().map(|r| r.len() as i64).collect();
    (
        pad_rows(&rows, device),
        Tensor::from_slice(&lengths).to_device(device),
    )
}

impl Batch {
    /// Builds a batch from `(source ids, target ids)` pairs (without BOS/EOS).
    pub fn new(pairs: &[(&[i64], &[i64])], device: Device) -> Self {
        let srcs: Vec<&[i64]> = pairs.iter().map(|p| p.0).collect();
        let (src, src_lengths) = source_tensors(&srcs, device);
        let tgt_in: Vec<Vec<i64>> = pairs
            .iter()
            .map(|p| std::iter::once(BOS_ID).chain(p.1.iter().copied()).collect())
            .collect();
        let tgt_out: Vec<Vec<i64>> = pairs
            .iter()
            .map(|p| p.1.iter().copied().chain(std::iter::once(EOS_ID)).collect())
            .collect();
        let target_tokens = tgt_out.iter().map(Vec::len).sum();
        Self {
            src,
            src_lengths,
            tgt_in: pad_rows(&tgt_in, device),
            tgt_out: pad_rows(&tgt_out, device),
            target_tokens,
        }
    }

    /// Batch size B.
    pub fn size(&self) -> i64 {
        self.src.size()[0]
    }
}
