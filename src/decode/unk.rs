//! UNK replacement (Luong et al. 2015, "Addressing the rare word problem", and §5 of arXiv
//! 1508.04025): every `<unk>` of a translation is replaced by the source word that the
//! attention weighted most when the `<unk>` was produced.

use crate::subword::{merge_to_words, UNK_ID, UNK_TOKEN};

/// `text` (the detokenised `tokens`, in which each [`UNK_ID`] shows as [`UNK_TOKEN`]) with each
/// `<unk>` replaced by a source word: for target position i, the source subword j with the
/// largest `attention[i][j]` (`</s>` excluded) picks the word of `source_pieces` that holds
/// it, written as in `source_text` when its whitespace-separated words line up with the
/// pieces' words (keeping characters the subword model does not know), else as the pieces.
///
/// Returns `text` unchanged when it has no `<unk>`, when the attention is missing or too
/// short, or when the `<unk>`s of the text and of `tokens` do not pair up.
pub fn replace_unk(
    text: &str,
    tokens: &[i64],
    attention: Option<&[Vec<f32>]>,
    source_pieces: &[String],
    source_text: &str,
) -> String {
    let unk_positions: Vec<usize> = (0..tokens.len()).filter(|&i| tokens[i] == UNK_ID).collect();
    let parts: Vec<&str> = text.split(UNK_TOKEN).collect();
    let Some(attention) = attention else {
        return text.to_string();
    };
    if unk_positions.is_empty()
        || parts.len() != unk_positions.len() + 1
        || source_pieces.is_empty()
    {
        return text.to_string();
    }
    let words = merge_to_words(source_pieces);
    let text_words: Vec<&str> = source_text.split_whitespace().collect();
    let word_text = |w: usize| -> String {
        if text_words.len() == words.len() {
            text_words[w].to_string()
        } else {
            words[w]
                .iter()
                .map(|&p| source_pieces[p].trim_start_matches('\u{2581}'))
                .collect()
        }
    };
    let mut out = String::from(parts[0]);
    for (&i, rest) in unk_positions.iter().zip(&parts[1..]) {
        let Some(row) = attention.get(i) else {
            return text.to_string();
        };
        let n = row.len().min(source_pieces.len());
        let best = (0..n).fold(0, |b, j| if row[j] > row[b] { j } else { b });
        let w = words.iter().position(|w| w.contains(&best)).unwrap_or(0);
        out.push_str(&word_text(w));
        out.push_str(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn copies_the_most_attended_source_word_for_each_unk() {
        // Source "Herr Müller läuft" as pieces ▁Herr ▁M ü ller ▁läuft (+ </s> column).
        let src = pieces(&["▁Herr", "▁M", "ü", "ller", "▁läuft"]);
        let tokens = [10, UNK_ID, 11, UNK_ID];
        let text = "Mr <unk> runs <unk>";
        let attention = vec![
            vec![0.9, 0.05, 0.0, 0.0, 0.05, 0.0],
            vec![0.1, 0.2, 0.6, 0.1, 0.0, 0.0], // ü: the word "Müller"
            vec![0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            vec![0.0, 0.0, 0.0, 0.1, 0.2, 0.7], // </s> is not a word: the next best, läuft
        ];
        let got = replace_unk(text, &tokens, Some(&attention), &src, "Herr Müller läuft");
        assert_eq!(got, "Mr Müller runs läuft");
        // The source text's own spelling wins (a character the subwords lack stays).
        let src_unk = pieces(&["▁Herr", "▁M", "<unk>", "ller", "▁läuft"]);
        let got = replace_unk(
            text,
            &tokens,
            Some(&attention),
            &src_unk,
            "Herr M€ller läuft",
        );
        assert_eq!(got, "Mr M€ller runs läuft");
    }

    #[test]
    fn leaves_text_alone_without_unk_attention_or_pairing() {
        let src = pieces(&["▁a", "▁b"]);
        let att = vec![vec![1.0, 0.0, 0.0]];
        assert_eq!(replace_unk("x y", &[5, 6], Some(&att), &src, "a b"), "x y");
        assert_eq!(replace_unk("<unk>", &[UNK_ID], None, &src, "a b"), "<unk>");
        // A literal "<unk>" in the text without an UNK token does not pair up.
        assert_eq!(
            replace_unk("<unk> <unk>", &[UNK_ID], Some(&att), &src, "a b"),
            "<unk> <unk>"
        );
    }
}
