//! The extension module `tolk._native`: Python bindings of tolk, a thin layer over the library
//! as `tokenizers`' bindings are over theirs. Every rule (limits, option checks, file
//! validation) stays in the library; this layer converts arguments and results, releases the
//! GIL around search, scoring and training, and raises the library's errors as the exception
//! classes of `tolk.errors`. The package `tolk` (python/tolk/) wraps it in dataclasses.

use std::path::PathBuf;

use pyo3::prelude::*;
use tolk::artifacts::average::{checkpoints_to_average, write_averaged_model};
use tolk::artifacts::ModelDir;

mod errors;
mod score;
mod subwords;
mod training;
mod translator;

/// Averages checkpoints of the run in `model_dir` into the new model directory `out`: the
/// newest `last` step checkpoints, or the named `checkpoints`. Returns the checkpoint
/// directories averaged.
#[pyfunction]
#[pyo3(signature = (model_dir, out, last=None, checkpoints=Vec::new()))]
fn average(
    py: Python<'_>,
    model_dir: PathBuf,
    out: PathBuf,
    last: Option<usize>,
    checkpoints: Vec<String>,
) -> PyResult<Vec<PathBuf>> {
    py.detach(|| {
        let md = ModelDir::new(&model_dir);
        let dirs = checkpoints_to_average(&md, last, &checkpoints)?;
        write_averaged_model(&model_dir, &dirs, &out)?;
        Ok(dirs)
    })
    .map_err(errors::from_anyhow)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Warnings of the library (a source cut to max_input_subwords, a stale corpus) go to
    // stderr as in the CLI; TOLK_LOG sets the level (default: warn).
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOLK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    m.add_class::<translator::Translator>()?;
    m.add_class::<subwords::PySubwordModel>()?;
    m.add_class::<score::PyBleu>()?;
    m.add_class::<score::PyChrf>()?;
    m.add_function(wrap_pyfunction!(score::bleu, m)?)?;
    m.add_function(wrap_pyfunction!(score::chrf, m)?)?;
    m.add_function(wrap_pyfunction!(score::paired_bootstrap, m)?)?;
    m.add_function(wrap_pyfunction!(training::train, m)?)?;
    m.add_function(wrap_pyfunction!(average, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
