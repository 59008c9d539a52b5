//! Running text as users send it: paragraphs, lines and several sentences per text, split into
//! the single sentences the models are trained on and put back together in the original layout.
//!
//! - [`layout`]: a text → lines → sentences, with every newline, blank line and run of
//!   whitespace between them kept verbatim ([`Document`]); `assemble` puts translations back.
//! - [`sentences`]: sentence boundaries inside one line, by the `sentencex` segmenter
//!   (Wikimedia's, built for machine translation: per-language abbreviation lists, quotes,
//!   ellipses, numbers).
//! - [`batch`]: the sentences of many texts as one flat list (one search batch for a whole
//!   request) and the answers regrouped per text.
//!
//! The CLI (`tolk translate --split-sentences`) and the server both segment through here.

pub mod batch;
pub mod layout;
pub mod sentences;

pub use batch::{nbest_rows, DocumentBatch};
pub use layout::{Document, Sentence};
