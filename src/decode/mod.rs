//! Search for the most probable translation: greedy and batched beam search over any
//! [`StepModel`], and the [`Translator`] that runs them over lists of sentences.

pub mod alignment;
pub mod alignment_record;
pub mod beam;
pub mod ensemble;
pub mod greedy;
pub mod hypothesis;
pub mod options;
pub mod prepare;
pub mod shortlist;
pub mod step_model;
pub mod trace;
pub mod translator;
pub mod unk;
pub mod workers;

pub use alignment::AlignmentMatrix;
pub use alignment_record::AlignmentRecord;
pub use beam::{beam_search, BeamConfig};
pub use ensemble::Ensemble;
pub use greedy::greedy_search;
pub use hypothesis::Hypothesis;
pub use options::{SearchLimits, TranslateOptions, TranslateOverrides};
pub use prepare::{
    cut_chars, input_char_limit, prepare_sources, CharCut, PreparedSource, Truncation,
    CHARS_PER_SUBWORD,
};
pub use shortlist::{CooccurrenceCounts, LexicalShortlist, ShortlistError};
pub use step_model::{Step, StepModel};
pub use translator::{Translation, Translator};
pub use workers::translate_in_workers;
