//! `tolk.SubwordModel`: a model's BPE segmentation ([`tolk::subword::SubwordModel`], Hugging
//! Face `tokenizers`), to look at what the model sees.

use std::path::PathBuf;

use pyo3::prelude::*;
use tolk::artifacts::ModelDir;
use tolk::config::Config;
use tolk::train::prepare::subwords::load_subwords;

use crate::errors::{from_anyhow, from_error, input};

/// A subword (BPE) model: text to ids and pieces and back.
#[pyclass(module = "tolk._native", name = "SubwordModel", frozen)]
pub struct PySubwordModel(tolk::subword::SubwordModel);

#[pymethods]
impl PySubwordModel {
    /// Loads a tokenizer file (`tokenizer.json`, `tokenizer.src.json`, ...).
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        tolk::subword::SubwordModel::load(&path)
            .map(Self)
            .map_err(from_anyhow)
    }

    /// The source (`side="source"`) or target subword model of a model directory, checked
    /// against the directory's checksums.
    #[staticmethod]
    #[pyo3(signature = (model_dir, side="source"))]
    fn from_model_dir(model_dir: PathBuf, side: &str) -> PyResult<Self> {
        let md = ModelDir::new(&model_dir);
        let config = Config::from_file(&md.config()).map_err(from_anyhow)?;
        let (src, tgt) = load_subwords(&config, &md).map_err(from_anyhow)?;
        match side {
            "source" | "src" => Ok(Self(src)),
            "target" | "tgt" => Ok(Self(tgt)),
            other => Err(input(format!(
                "side must be \"source\" or \"target\", not {other:?}"
            ))),
        }
    }

    /// Subword ids of `text` (`</s>` not appended).
    fn encode(&self, text: &str) -> PyResult<Vec<i64>> {
        self.0.encode(text).map_err(from_error)
    }

    /// Subword ids of each text.
    fn encode_batch(&self, py: Python<'_>, texts: Vec<String>) -> PyResult<Vec<Vec<i64>>> {
        py.detach(|| self.0.encode_batch(&texts))
            .map_err(from_error)
    }

    /// Subword pieces of `text` (`▁` marks the start of a word).
    fn pieces(&self, text: &str) -> PyResult<Vec<String>> {
        self.0.pieces(text).map_err(from_error)
    }

    /// Text of subword ids.
    fn decode(&self, ids: Vec<i64>) -> PyResult<String> {
        self.0.decode(&ids).map_err(from_error)
    }

    /// The piece of an id (`None` outside the vocabulary).
    fn id_to_piece(&self, id: i64) -> Option<String> {
        self.0.id_to_piece(id)
    }

    /// The id of a piece (`None` if it is not in the vocabulary).
    fn piece_to_id(&self, piece: &str) -> Option<i64> {
        self.0.piece_to_id(piece)
    }

    /// Number of pieces, special tokens included.
    #[getter]
    fn vocab_size(&self) -> usize {
        self.0.vocab_size()
    }

    fn __len__(&self) -> usize {
        self.0.vocab_size()
    }
}
