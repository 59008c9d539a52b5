//! `tolk.score`: corpus BLEU and chrF exactly as sacreBLEU 2.x's `corpus_bleu` / `corpus_chrf`
//! with default settings, and sacreBLEU's paired bootstrap, from [`tolk::metrics`].

use pyo3::prelude::*;
use tolk::metrics::significance::{paired_bleu_chrf, PairedResult};
use tolk::metrics::{corpus_bleu, corpus_chrf, corpus_shape, BleuScore, ChrfScore};

use crate::errors::{from_error, input};

/// A corpus BLEU score (sacreBLEU's `BLEUScore`): `score` in 0..100, n-gram `counts` and
/// `totals` (n = 1..4), `precisions` in percent, brevity penalty `bp`, `sys_len` / `ref_len`
/// in 13a tokens; `str()` is sacreBLEU's `format()`.
#[pyclass(module = "tolk._native", name = "BLEUScore", frozen)]
pub struct PyBleu(BleuScore);

#[pymethods]
impl PyBleu {
    #[getter]
    fn score(&self) -> f64 {
        self.0.score
    }
    #[getter]
    fn counts(&self) -> Vec<u64> {
        self.0.counts.to_vec()
    }
    #[getter]
    fn totals(&self) -> Vec<u64> {
        self.0.totals.to_vec()
    }
    #[getter]
    fn precisions(&self) -> Vec<f64> {
        self.0.precisions.to_vec()
    }
    #[getter]
    fn bp(&self) -> f64 {
        self.0.bp
    }
    #[getter]
    fn sys_len(&self) -> u64 {
        self.0.sys_len
    }
    #[getter]
    fn ref_len(&self) -> u64 {
        self.0.ref_len
    }
    #[getter]
    fn ratio(&self) -> f64 {
        self.0.ratio()
    }
    #[getter]
    fn signature(&self) -> String {
        self.0.signature()
    }
    /// sacreBLEU's `format()`, with `signature=True` the line its command prints.
    #[pyo3(signature = (signature=false))]
    fn format(&self, signature: bool) -> String {
        if signature {
            self.0.format_with_signature()
        } else {
            self.0.format()
        }
    }
    fn __str__(&self) -> String {
        self.0.format()
    }
    fn __repr__(&self) -> String {
        self.0.format()
    }
    fn __float__(&self) -> f64 {
        self.0.score
    }
}

/// A corpus chrF score (sacreBLEU's `CHRFScore`, chrF2: character 6-grams, beta 2): `score`
/// in 0..100; `str()` is sacreBLEU's `format()`.
#[pyclass(module = "tolk._native", name = "CHRFScore", frozen)]
pub struct PyChrf(ChrfScore);

#[pymethods]
impl PyChrf {
    #[getter]
    fn score(&self) -> f64 {
        self.0.score
    }
    #[getter]
    fn name(&self) -> String {
        self.0.name()
    }
    #[getter]
    fn signature(&self) -> String {
        self.0.signature()
    }
    /// sacreBLEU's `format()`, with `signature=True` the line its command prints.
    #[pyo3(signature = (signature=false))]
    fn format(&self, signature: bool) -> String {
        if signature {
            self.0.format_with_signature()
        } else {
            self.0.format()
        }
    }
    fn __str__(&self) -> String {
        self.0.format()
    }
    fn __repr__(&self) -> String {
        self.0.format()
    }
    fn __float__(&self) -> f64 {
        self.0.score
    }
}

/// Checks `refs` (reference streams) against `hyps`.
fn check(hyps: &[String], refs: &[Vec<String>]) -> PyResult<()> {
    let lens: Vec<usize> = refs.iter().map(Vec::len).collect();
    corpus_shape(hyps.len(), &lens).map_err(from_error)?;
    Ok(())
}

/// Corpus BLEU of `hyps` against the reference streams `refs` (`refs[k][i]`: the k-th
/// reference of line i), as `sacrebleu.corpus_bleu(hyps, refs)`.
#[pyfunction]
pub fn bleu(py: Python<'_>, hyps: Vec<String>, refs: Vec<Vec<String>>) -> PyResult<PyBleu> {
    check(&hyps, &refs)?;
    Ok(PyBleu(py.detach(|| corpus_bleu(&hyps, &refs))))
}

/// Corpus chrF of `hyps` against the reference streams `refs`, as
/// `sacrebleu.corpus_chrf(hyps, refs)`.
#[pyfunction]
pub fn chrf(py: Python<'_>, hyps: Vec<String>, refs: Vec<Vec<String>>) -> PyResult<PyChrf> {
    check(&hyps, &refs)?;
    Ok(PyChrf(py.detach(|| corpus_chrf(&hyps, &refs))))
}

/// One system's paired-bootstrap result: (score, p-value or None for the baseline, mean of
/// the resamples, half-width of the 95 % confidence interval).
type Paired = (f64, Option<f64>, f64, f64);

fn paired(r: &PairedResult) -> Paired {
    (r.score, r.p_value, r.mean, r.ci)
}

/// sacreBLEU's `--paired-bs` (1,000 resamples, seed 12345) over BLEU and chrF: `outputs[0]`
/// is the baseline; one reference stream. Returns (BLEU results, chrF results), one per
/// output.
#[pyfunction]
pub fn paired_bootstrap(
    py: Python<'_>,
    outputs: Vec<Vec<String>>,
    refs: Vec<String>,
) -> PyResult<(Vec<Paired>, Vec<Paired>)> {
    if outputs.len() < 2 {
        return Err(input(
            "paired bootstrap needs a baseline and at least one system",
        ));
    }
    if refs.is_empty() {
        return Err(input("paired bootstrap needs at least one reference line"));
    }
    for (k, o) in outputs.iter().enumerate() {
        if o.len() != refs.len() {
            return Err(input(format!(
                "system {k} has {} lines but the references have {}",
                o.len(),
                refs.len()
            )));
        }
    }
    let (b, c) = py.detach(|| {
        let views: Vec<&[String]> = outputs.iter().map(Vec::as_slice).collect();
        paired_bleu_chrf(&views, &refs)
    });
    Ok((
        b.iter().map(paired).collect(),
        c.iter().map(paired).collect(),
    ))
}
