//! The sentences of several texts as one flat list, so that a whole request goes to search as
//! one batch, and the per-sentence answers regrouped per text afterwards.

use super::layout::Document;
use crate::error::Error;

/// Several segmented texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentBatch {
    documents: Vec<Document>,
}

impl DocumentBatch {
    /// Segments every text of `texts` in `language` ([`Document::segment`]).
    pub fn new<S: AsRef<str>>(texts: &[S], language: &str) -> Self {
        let documents = texts
            .iter()
            .map(|t| Document::segment(t.as_ref(), language))
            .collect();
        Self { documents }
    }

    /// The documents, in input order.
    pub fn documents(&self) -> &[Document] {
        &self.documents
    }

    /// What the model translates: every sentence of every text, texts in order, each as
    /// [`super::Sentence::model_input`].
    pub fn model_inputs(&self) -> Vec<String> {
        self.documents
            .iter()
            .flat_map(|d| d.sentences().iter().map(|s| s.model_input()))
            .collect()
    }

    /// Number of sentences over all texts.
    pub fn sentence_count(&self) -> usize {
        self.documents.iter().map(|d| d.sentences().len()).sum()
    }

    /// `flat` (one item per sentence, in [`DocumentBatch::model_inputs`] order) cut into one
    /// list per text. Extra items are dropped and missing ones leave the last lists short;
    /// callers pass exactly [`DocumentBatch::sentence_count`] items.
    pub fn regroup<T>(&self, flat: Vec<T>) -> Vec<Vec<T>> {
        let mut items = flat.into_iter();
        self.documents
            .iter()
            .map(|d| items.by_ref().take(d.sentences().len()).collect())
            .collect()
    }
}

impl DocumentBatch {
    /// Per text, its n-best list as (text, score) rows, best first, from `per_sentence`
    /// (each sentence's hypotheses as (translation, score), in [`DocumentBatch::model_inputs`]
    /// order): row k joins the sentences' k-th hypotheses ([`nbest_rows`]) in the text's
    /// layout ([`Document::assemble`]) with their scores summed. A text without sentences gets
    /// one row: its layout alone, score 0. The CLI's `--split-sentences` and the Python
    /// binding's `split_sentences` both answer with this.
    ///
    /// Errors: [`Error::Internal`] when the sentences do not fit a text's layout.
    pub fn joined_rows(
        &self,
        per_sentence: Vec<Vec<(String, f64)>>,
    ) -> Result<Vec<Vec<(String, f64)>>, Error> {
        let groups = self.regroup(per_sentence);
        let mut out = Vec::with_capacity(groups.len());
        for (doc, sentences) in self.documents.iter().zip(&groups) {
            let mut rows = Vec::new();
            for row in nbest_rows(sentences) {
                let texts: Vec<&str> = row.iter().map(|h| h.0.as_str()).collect();
                let score = row.iter().map(|h| h.1).sum();
                rows.push((doc.assemble(&texts)?, score));
            }
            if rows.is_empty() {
                rows.push((doc.assemble::<&str>(&[])?, 0.0));
            }
            out.push(rows);
        }
        Ok(out)
    }
}

/// The n-best list of a whole text from its sentences' n-best lists: row k takes each
/// sentence's k-th hypothesis, or its last when it has fewer (as Argos Translate combines
/// them). As many rows as the longest list; none for a text without sentences.
pub fn nbest_rows<T>(per_sentence: &[Vec<T>]) -> Vec<Vec<&T>> {
    let n = per_sentence.iter().map(Vec::len).max().unwrap_or(0);
    (0..n)
        .map(|k| {
            per_sentence
                .iter()
                .filter_map(|hyps| hyps.get(k).or_else(|| hyps.last()))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_sentences_regroup_per_text() {
        let texts = ["A dog runs. Cats sleep.", "", "E f.\nG h.\n\nI j."];
        let batch = DocumentBatch::new(&texts, "en");
        assert_eq!(
            batch.model_inputs(),
            ["A dog runs.", "Cats sleep.", "E f.", "G h.", "I j."]
        );
        let groups = batch.regroup((0..batch.sentence_count()).collect());
        assert_eq!(groups, vec![vec![0, 1], vec![], vec![2, 3, 4]]);
    }

    #[test]
    fn nbest_rows_take_the_last_hypothesis_of_shorter_lists() {
        let lists = vec![vec!["a1", "a2", "a3"], vec!["b1"], vec!["c1", "c2"]];
        let rows = nbest_rows(&lists);
        let joined: Vec<String> = rows
            .iter()
            .map(|r| r.iter().map(|s| **s).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(joined, ["a1 b1 c1", "a2 b1 c2", "a3 b1 c2"]);
        assert!(nbest_rows::<&str>(&[]).is_empty());
    }
}
