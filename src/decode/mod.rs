//! Search for the most probable translation: greedy and batched beam search, and the
//! [`Translator`] that runs them over lists of sentences.

pub mod alignment;
pub mod beam;
pub mod greedy;
pub mod hypothesis;
pub mod shortlist;
pub mod translator;

pub use alignment::AlignmentMatrix;
pub use beam::{beam_search, BeamConfig};
pub use greedy::greedy_search;
pub use hypothesis::Hypothesis;
pub use shortlist::LexicalShortlist;
pub use translator::{TranslateOptions, Translator};
