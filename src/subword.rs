//! Subword segmentation (BPE) on top of the Hugging Face `tokenizers` crate.
//!
//! A [`SubwordModel`] is a byte-pair-encoding model with SentencePiece-style
//! whitespace handling: every space is replaced by the meta symbol `'▁'`
//! (U+2581), a `'▁'` is prepended to the text, and the text is split *before*
//! every `'▁'`, so each word becomes `▁word` and is segmented on its own.
//! No normalizer is used: no lowercasing, no Unicode normalization, no
//! stripping. The Metaspace decoder turns `'▁'` back into spaces.
//!
//! Four special tokens have fixed ids: `<pad>` = [`PAD_ID`], `<unk>` =
//! [`UNK_ID`], `<s>` = [`BOS_ID`] and `</s>` = [`EOS_ID`].
//!
//! # Whitespace and round trips
//!
//! `decode(&encode(x)) == x` holds for every text `x` whose characters were all
//! seen in training (otherwise they come back as the literal `<unk>`) and that
//! does not start with a space. In detail:
//!
//! * single spaces between words: preserved;
//! * runs of several spaces between words and trailing spaces: preserved (each
//!   extra space becomes a lone `▁` piece);
//! * leading spaces: the *first* leading space is lost (`" a"` decodes to
//!   `"a"`, `"  a"` to `" a"`), because the decoder removes the `'▁'` that
//!   encoding prepends;
//! * tabs, newlines and other non-space whitespace are not treated as word
//!   separators: they are ordinary characters inside a word and round-trip only
//!   if they occurred in the training text (else they become `<unk>`);
//! * a literal `'▁'` in the input is indistinguishable from a space and
//!   decodes to `' '`;
//! * the literal strings `<pad>`, `<unk>`, `<s>`, `</s>` in the input are
//!   ordinary text, encoded as the characters they are made of, never as the
//!   special ids (only tolk inserts those);
//! * no Unicode normalization: NFC and NFD spellings of the same text get
//!   different segmentations (and a character seen only in one form may be
//!   `<unk>` in the other).
//!
//! # Joint or per-side models
//!
//! ```no_run
//! use tolk::subword::{train_bpe, SubwordModel};
//! # fn main() -> anyhow::Result<()> {
//! let src = ["Ein Hund läuft.", "Zwei Männer."];
//! let tgt = ["A dog runs.", "Two men."];
//!
//! // Joint vocabulary: one model trained on both sides, shared by encoder and decoder.
//! let joint: SubwordModel = train_bpe(src.iter().chain(tgt.iter()), 8000, 2)?;
//! joint.save(std::path::Path::new("model/tokenizer.json"))?;
//!
//! // Separate vocabularies: one model per side.
//! let src_model = train_bpe(&src, 8000, 2)?;
//! let tgt_model = train_bpe(&tgt, 8000, 2)?;
//! let ids = src_model.encode("Ein Hund.")?;
//! assert_eq!(src_model.decode(&ids)?, "Ein Hund.");
//! # let _ = tgt_model;
//! # Ok(())
//! # }
//! ```

use std::fs;
use std::path::Path;

use crate::error::Error;
use anyhow::{anyhow, bail, Context};
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::{AddedToken, Tokenizer};

/// Id of the padding token `<pad>`.
pub const PAD_ID: i64 = 0;
/// Id of the unknown token `<unk>` (characters never seen in training).
pub const UNK_ID: i64 = 1;
/// Id of the beginning-of-sentence token `<s>`.
pub const BOS_ID: i64 = 2;
/// Id of the end-of-sentence token `</s>`.
pub const EOS_ID: i64 = 3;

/// String of the padding token (id [`PAD_ID`]).
pub const PAD_TOKEN: &str = "<pad>";
/// String of the unknown token (id [`UNK_ID`]).
pub const UNK_TOKEN: &str = "<unk>";
/// String of the beginning-of-sentence token (id [`BOS_ID`]).
pub const BOS_TOKEN: &str = "<s>";
/// String of the end-of-sentence token (id [`EOS_ID`]).
pub const EOS_TOKEN: &str = "</s>";

/// The word-boundary meta symbol (U+2581) that stands for a space in pieces.
pub const META_SPACE: char = '▁';

/// Special tokens in id order: `SPECIAL_TOKENS[i]` has id `i`.
pub const SPECIAL_TOKENS: [&str; 4] = [PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN];

/// A trained BPE subword model (a wrapped [`tokenizers::Tokenizer`]).
///
/// Ids are `i64` so they can go straight into tensors. The special tokens
/// always have the ids [`PAD_ID`], [`UNK_ID`], [`BOS_ID`], [`EOS_ID`]
/// (checked on [`load`](Self::load)). See the [module docs](self) for what
/// survives an encode/decode round trip.
#[derive(Debug, Clone)]
pub struct SubwordModel {
    tokenizer: Tokenizer,
    /// Cached: `Tokenizer::get_vocab_size(true)` builds a hash map per call.
    vocab_size: usize,
}

/// Trains a BPE [`SubwordModel`] from in-memory text; see
/// [`SubwordModel::train_bpe`].
///
/// `texts` can be `&[&str]`, `&[String]`, `Vec<String>`, or any iterator of
/// string-likes, e.g. `src.iter().chain(tgt.iter())` for a joint model.
pub fn train_bpe<I, S>(
    texts: I,
    vocab_size: usize,
    min_frequency: u64,
) -> anyhow::Result<SubwordModel>
where
    I: IntoIterator<Item = S>,
    I::IntoIter: Send,
    S: AsRef<str> + Send,
{
    SubwordModel::train_bpe(texts, vocab_size, min_frequency)
}

/// Parses a `tokenizer.json`. The JSON syntax is checked first: tokenizers 0.22 panics
/// (`expect("Helper")` in its decoder deserializer) on a syntax error inside some fields, which
/// fuzzing found; a panic that remains is turned into an error as well.
fn parse_tokenizer(text: &str) -> Result<Tokenizer, String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| e.to_string())?;
    match std::panic::catch_unwind(|| text.parse::<Tokenizer>()) {
        Ok(parsed) => parsed.map_err(|e| e.to_string()),
        Err(panic) => Err(panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the tokenizers crate panicked".into())),
    }
}

/// Groups subword positions into words.
///
/// A piece that starts with `'▁'` starts a new word; any other piece continues
/// the current word. The first piece always starts a word (even without
/// `'▁'`, e.g. a leading `<unk>` or `<s>`). Returns, for each word, the
/// positions of its pieces in `pieces` (ascending, every position exactly
/// once); an empty input gives no words.
///
/// Note that a lone `"▁"` piece (from a run of spaces, or before a character
/// that is `<unk>` / not merged) starts a word like any other `'▁'` piece; in
/// the single-space case it is grouped with the pieces that follow it.
///
/// ```
/// use tolk::subword::merge_to_words;
/// let pieces: Vec<String> = ["▁Ein", "▁Spiel", "haus", "."].iter().map(|s| s.to_string()).collect();
/// assert_eq!(merge_to_words(&pieces), vec![vec![0], vec![1, 2, 3]]);
/// ```
pub fn merge_to_words(pieces: &[String]) -> Vec<Vec<usize>> {
    let mut words: Vec<Vec<usize>> = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        match words.last_mut() {
            Some(word) if !piece.starts_with(META_SPACE) => word.push(i),
            _ => words.push(vec![i]),
        }
    }
    words
}

impl SubwordModel {
    /// Trains a BPE model on in-memory text (one sentence per item).
    ///
    /// * `vocab_size` is the size of the final vocabulary, *including* the
    ///   four special tokens. It is an upper bound for merges: the vocabulary
    ///   is smaller when the corpus runs out of pairs occurring at least
    ///   `min_frequency` times (typical for tiny corpora), and it is larger
    ///   than requested when the specials plus the character alphabet
    ///   (every distinct character of the training text is kept) already
    ///   exceed `vocab_size`. Check [`vocab_size`](Self::vocab_size) for the
    ///   real size.
    /// * `min_frequency`: a pair is merged only if it occurs at least this
    ///   often (0 and 1 behave the same).
    ///
    /// Training is deterministic in practice: the same text and parameters
    /// give a byte-identical `tokenizer.json` (merge ties are broken by
    /// token ids, and the alphabet is sorted).
    ///
    /// Errors if `vocab_size < 4` or if the text is empty (no characters at
    /// all).
    pub fn train_bpe<I, S>(texts: I, vocab_size: usize, min_frequency: u64) -> anyhow::Result<Self>
    where
        I: IntoIterator<Item = S>,
        I::IntoIter: Send,
        S: AsRef<str> + Send,
    {
        if vocab_size < SPECIAL_TOKENS.len() {
            bail!(
                "BPE vocab_size {vocab_size} is too small: it must be at least {} (the special tokens)",
                SPECIAL_TOKENS.len()
            );
        }
        let model = BPE::builder()
            .unk_token(UNK_TOKEN.to_string())
            .fuse_unk(true)
            .build()
            .map_err(|e| anyhow!("building BPE model: {e}"))?;
        let mut tokenizer = Tokenizer::new(model);
        tokenizer
            .with_normalizer(None::<tokenizers::NormalizerWrapper>)
            .with_pre_tokenizer(Some(Metaspace::new(
                META_SPACE,
                PrependScheme::Always,
                true,
            )))
            .with_decoder(Some(Metaspace::new(
                META_SPACE,
                PrependScheme::Always,
                true,
            )));
        let specials: Vec<AddedToken> = SPECIAL_TOKENS
            .iter()
            .map(|t| AddedToken::from(t.to_string(), true))
            .collect();
        let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
            .vocab_size(vocab_size)
            .min_frequency(min_frequency)
            .show_progress(false)
            .special_tokens(specials)
            .build()
            .into();
        tokenizer
            .train(&mut trainer, texts.into_iter())
            .map_err(|e| anyhow!("training BPE model: {e}"))?;
        let model = Self::from_tokenizer(tokenizer).context("checking trained BPE model")?;
        if model.vocab_size() <= SPECIAL_TOKENS.len() {
            bail!("BPE training text is empty");
        }
        Ok(model)
    }

    /// Wraps an existing tokenizer after checking that it knows the four
    /// special tokens with the fixed ids and that its ids are dense
    /// (`0..vocab_size`).
    ///
    /// The special tokens are never matched in input text: a user's literal `</s>` or
    /// `<unk>` is encoded as the characters it is made of, like any other text (the ids are
    /// for tolk to insert, not for text to smuggle in).
    pub fn from_tokenizer(mut tokenizer: Tokenizer) -> anyhow::Result<Self> {
        tokenizer.set_encode_special_tokens(true);
        for (id, token) in SPECIAL_TOKENS.iter().enumerate() {
            match tokenizer.token_to_id(token) {
                Some(got) if got as usize == id => {}
                Some(got) => bail!("special token {token} has id {got}, expected {id}"),
                None => bail!("special token {token} is missing from the vocabulary"),
            }
        }
        let vocab_size = tokenizer.get_vocab_size(true);
        if let Some(hole) = (0..vocab_size as u32).find(|&id| tokenizer.id_to_token(id).is_none()) {
            bail!("vocabulary of {vocab_size} tokens has no token with id {hole}");
        }
        Ok(Self {
            tokenizer,
            vocab_size,
        })
    }

    /// The wrapped Hugging Face tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Serializes the model as JSON (the Hugging Face `tokenizer.json` format).
    pub fn to_json(&self) -> anyhow::Result<String> {
        self.tokenizer
            .to_string(true)
            .map_err(|e| anyhow!("serializing tokenizer: {e}"))
    }

    /// Writes the model to `path` (a file path, conventionally
    /// `.../tokenizer.json`) in the Hugging Face `tokenizer.json` format.
    ///
    /// The write is atomic: the JSON goes to a temporary file in the same
    /// directory, which is fsynced and then renamed over `path`, so readers see
    /// either the old or the new file, never a partial one. Missing parent
    /// directories are created.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let json = self.to_json()?;
        crate::artifacts::write_file_atomic(path, json.as_bytes())
            .with_context(|| format!("saving subword model to {}", path.display()))
    }

    /// Loads a model saved by [`save`](Self::save) (or any `tokenizer.json`
    /// whose special tokens have the fixed ids). Errors name the file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("reading subword model {}", path.display()))?;
        let tokenizer = parse_tokenizer(&text).map_err(|e| {
            anyhow!(
                "parsing subword model {}: not a valid tokenizer.json: {e}",
                path.display()
            )
        })?;
        Self::from_tokenizer(tokenizer)
            .with_context(|| format!("invalid subword model {}", path.display()))
    }

    /// Encodes `text` into subword ids (no BOS/EOS added).
    ///
    /// Characters not seen in training map to [`UNK_ID`] (consecutive
    /// unknown characters are fused into one `<unk>`).
    ///
    /// Errors: [`Error::Input`] if the tokenizer rejects the text (not seen for models that
    /// passed [`from_tokenizer`](Self::from_tokenizer)).
    pub fn encode(&self, text: &str) -> Result<Vec<i64>, Error> {
        let enc = self
            .tokenizer
            .encode_fast(text, false)
            .map_err(|e| Error::Input(format!("subword encoding of {text:?} failed: {e}")))?;
        Ok(enc.get_ids().iter().map(|&id| i64::from(id)).collect())
    }

    /// Encodes several texts (in parallel); the result is in input order and
    /// identical to calling [`encode`](Self::encode) on each text.
    ///
    /// Errors: as [`encode`](Self::encode).
    pub fn encode_batch<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<i64>>, Error> {
        let inputs: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        let encs = self
            .tokenizer
            .encode_batch_fast(inputs, false)
            .map_err(|e| Error::Input(format!("subword encoding failed: {e}")))?;
        Ok(encs
            .iter()
            .map(|enc| enc.get_ids().iter().map(|&id| i64::from(id)).collect())
            .collect())
    }

    /// The subword strings of `text`, one per id of [`encode`](Self::encode)
    /// (word-initial pieces start with `'▁'`; unknown characters show as
    /// `<unk>`). Feed them to [`merge_to_words`] to group them into words.
    ///
    /// Errors: as [`encode`](Self::encode).
    pub fn pieces(&self, text: &str) -> Result<Vec<String>, Error> {
        // `encode_fast` leaves the token strings empty; `encode` fills them.
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| Error::Input(format!("subword encoding of {text:?} failed: {e}")))?;
        Ok(enc.get_tokens().to_vec())
    }

    /// Decodes ids back into text.
    ///
    /// `<pad>`, `<s>` and `</s>` are skipped wherever they occur (decoding does
    /// not stop at `</s>`; truncate first if needed), as are negative and
    /// out-of-vocabulary ids. `<unk>` is kept as the literal text `<unk>`.
    /// `'▁'` becomes a space, and the space before the first piece is dropped.
    ///
    /// Errors: [`Error::Internal`] if the tokenizer's decoder fails (ids are filtered to the
    /// vocabulary first, so this indicates a broken tokenizer).
    pub fn decode(&self, ids: &[i64]) -> Result<String, Error> {
        let n = self.vocab_size() as i64;
        let kept: Vec<u32> = ids
            .iter()
            .copied()
            .filter(|&id| (0..n).contains(&id) && id != PAD_ID && id != BOS_ID && id != EOS_ID)
            .map(|id| id as u32)
            .collect();
        self.tokenizer
            .decode(&kept, false)
            .map_err(|e| Error::Internal(format!("subword decoding failed: {e}")))
    }

    /// The subword string of `id` (e.g. `"▁Haus"`, `"<s>"`), or `None` if the
    /// id is negative or not in the vocabulary.
    pub fn id_to_piece(&self, id: i64) -> Option<String> {
        u32::try_from(id)
            .ok()
            .and_then(|id| self.tokenizer.id_to_token(id))
    }

    /// The id of a subword string, or `None` if it is not in the vocabulary.
    pub fn piece_to_id(&self, piece: &str) -> Option<i64> {
        self.tokenizer.token_to_id(piece).map(i64::from)
    }

    /// Number of ids, special tokens included; valid ids are `0..vocab_size()`.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/subword")
            .join(name);
        fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Training lines (first 450 of each side) and held-out lines (last 50).
    fn corpus() -> (Vec<String>, Vec<String>) {
        let mut train = Vec::new();
        let mut held = Vec::new();
        for name in ["sample.de", "sample.en"] {
            let lines = fixture(name);
            assert_eq!(lines.len(), 500, "{name}");
            train.extend_from_slice(&lines[..450]);
            held.extend_from_slice(&lines[450..]);
        }
        (train, held)
    }

    fn joint(vocab: usize) -> SubwordModel {
        let (train, _) = corpus();
        train_bpe(&train, vocab, 2).unwrap()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn special_token_ids_are_fixed() {
        let m = joint(1000);
        for (id, tok) in SPECIAL_TOKENS.iter().enumerate() {
            assert_eq!(m.id_to_piece(id as i64).as_deref(), Some(*tok));
            assert_eq!(m.piece_to_id(tok), Some(id as i64));
        }
        assert_eq!(m.piece_to_id("<pad>"), Some(PAD_ID));
        assert_eq!(m.piece_to_id("<unk>"), Some(UNK_ID));
        assert_eq!(m.piece_to_id("<s>"), Some(BOS_ID));
        assert_eq!(m.piece_to_id("</s>"), Some(EOS_ID));
        // No ordinary text maps to pad/bos/eos.
        let (train, _) = corpus();
        for line in &train {
            assert!(m
                .encode(line)
                .unwrap()
                .iter()
                .all(|&id| id > EOS_ID || id == UNK_ID));
        }
        assert_eq!(m.id_to_piece(-1), None);
        assert_eq!(m.id_to_piece(m.vocab_size() as i64), None);
    }

    #[test]
    fn special_token_strings_in_text_are_text() {
        // Train on text holding the characters `<`, `/`, `>` so they are in the alphabet.
        let (mut train, _) = corpus();
        train.push("a <b> c </d> e".into());
        let m = train_bpe(&train, 1000, 2).unwrap();
        for special in SPECIAL_TOKENS {
            let text = format!("Ein Hund {special} läuft");
            let ids = m.encode(&text).unwrap();
            assert!(ids.iter().all(|&id| id > EOS_ID), "{text}: {ids:?}");
            assert_eq!(m.decode(&ids).unwrap(), text);
            let parsed = parse_tokenizer(&m.to_json().unwrap()).unwrap();
            let loaded = SubwordModel::from_tokenizer(parsed).unwrap();
            assert_eq!(loaded.encode(&text).unwrap(), ids);
        }
    }

    #[test]
    fn vocab_size_is_requested_size() {
        for vocab in [300, 1000, 2000] {
            let m = joint(vocab);
            assert_eq!(m.vocab_size(), vocab);
            // ids are dense 0..vocab_size
            for id in 0..vocab as i64 {
                assert!(m.id_to_piece(id).is_some(), "id {id}");
            }
        }
        // A corpus too small for the request yields a smaller vocabulary.
        let m = train_bpe(["ab ab ab"], 1000, 1).unwrap();
        assert!(m.vocab_size() < 1000);
        assert!(m.vocab_size() > SPECIAL_TOKENS.len());
    }

    #[test]
    fn round_trip_held_out_lines() {
        let (train, held) = corpus();
        let m = train_bpe(&train, 1000, 2).unwrap();
        let alphabet: std::collections::HashSet<char> =
            train.iter().flat_map(|l| l.chars()).collect();
        let mut checked = 0;
        for line in &held {
            let ids = m.encode(line).unwrap();
            assert!(!ids.is_empty());
            let back = m.decode(&ids).unwrap();
            if line.chars().all(|c| alphabet.contains(&c)) {
                assert_eq!(&back, line);
                assert!(!ids.contains(&UNK_ID), "{line}");
                checked += 1;
            } else {
                assert!(ids.contains(&UNK_ID), "{line}");
            }
            assert_eq!(m.pieces(line).unwrap().len(), ids.len());
        }
        assert!(checked >= 90, "only {checked} held-out lines fully covered");
        // Training lines (with umlauts, ß, punctuation, double inner spaces).
        for line in &train {
            assert_eq!(&m.decode(&m.encode(line).unwrap()).unwrap(), line);
        }
        assert!(train.iter().any(|l| l.contains("  ")));
        for text in [
            "Ein Mädchen läuft über die Straße.",
            "Zwei Männer, drei Hunde - öde Küste.",
            "A man's \"big\" dog, „braun“ - ÜBER.",
            "a  b   c",
            "trailing ",
        ] {
            assert_eq!(m.decode(&m.encode(text).unwrap()).unwrap(), text);
        }
    }

    #[test]
    fn whitespace_and_unknowns() {
        let m = joint(1000);
        // The first leading space is lost.
        assert_eq!(
            m.decode(&m.encode(" Ein Hund").unwrap()).unwrap(),
            "Ein Hund"
        );
        assert_eq!(
            m.decode(&m.encode("  Ein Hund").unwrap()).unwrap(),
            " Ein Hund"
        );
        assert!(m.encode("").unwrap().is_empty());
        assert_eq!(m.decode(&[]).unwrap(), "");
        // Unseen characters become <unk> (consecutive ones fused).
        let ids = m.encode("Hund 漢字 Katze").unwrap();
        assert_eq!(ids.iter().filter(|&&i| i == UNK_ID).count(), 1);
        assert_eq!(m.decode(&ids).unwrap(), "Hund <unk> Katze");
        // pad/bos/eos and invalid ids are skipped in decoding.
        let mut ids = vec![BOS_ID];
        ids.extend(m.encode("Ein Hund.").unwrap());
        ids.extend([EOS_ID, PAD_ID, PAD_ID, -5, 1_000_000]);
        assert_eq!(m.decode(&ids).unwrap(), "Ein Hund.");
        // Pieces are word-initial with ▁.
        let pieces = m.pieces("Ein Hund.").unwrap();
        assert!(pieces[0].starts_with(META_SPACE));
        assert_eq!(
            pieces
                .iter()
                .map(|p| m.piece_to_id(p).unwrap())
                .collect::<Vec<_>>(),
            m.encode("Ein Hund.").unwrap()
        );
    }

    #[test]
    fn encode_batch_matches_encode() {
        let (train, held) = corpus();
        let m = train_bpe(&train, 800, 2).unwrap();
        let batch = m.encode_batch(&held).unwrap();
        assert_eq!(batch.len(), held.len());
        for (line, ids) in held.iter().zip(&batch) {
            assert_eq!(&m.encode(line).unwrap(), ids);
        }
        assert!(m.encode_batch::<&str>(&[]).unwrap().is_empty());
    }

    #[test]
    fn save_load_round_trip() {
        let (train, held) = corpus();
        let m = train_bpe(&train, 1000, 2).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/tokenizer.json");
        m.save(&path).unwrap();
        // Overwriting works and leaves no temporary files behind.
        m.save(&path).unwrap();
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("tokenizer.json")]);
        let l = SubwordModel::load(&path).unwrap();
        assert_eq!(l.vocab_size(), m.vocab_size());
        for line in train.iter().chain(&held) {
            assert_eq!(l.encode(line).unwrap(), m.encode(line).unwrap());
            assert_eq!(l.pieces(line).unwrap(), m.pieces(line).unwrap());
        }
        assert_eq!(l.to_json().unwrap(), m.to_json().unwrap());
        // The file is plain JSON.
        let v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["model"]["type"], "BPE");
    }

    #[test]
    fn training_is_deterministic() {
        let (train, _) = corpus();
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        let b = dir.path().join("b.json");
        train_bpe(&train, 1200, 2).unwrap().save(&a).unwrap();
        train_bpe(train.iter(), 1200, 2).unwrap().save(&b).unwrap();
        assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
    }

    #[test]
    fn joint_and_separate_models() {
        let de = fixture("sample.de");
        let en = fixture("sample.en");
        let j = train_bpe(de.iter().chain(en.iter()), 1500, 2).unwrap();
        let d = train_bpe(&de, 1000, 2).unwrap();
        let e = train_bpe(&en, 1000, 2).unwrap();
        assert_eq!(j.vocab_size(), 1500);
        for (m, line) in [(&j, &de[0]), (&j, &en[0]), (&d, &de[0]), (&e, &en[0])] {
            assert_eq!(&m.decode(&m.encode(line).unwrap()).unwrap(), line);
        }
    }

    #[test]
    fn bad_arguments() {
        assert!(train_bpe(["a b"], 3, 1).is_err());
        let empty: [&str; 0] = [];
        assert!(train_bpe(empty, 100, 1).is_err());
        assert!(train_bpe(["", ""], 100, 1).is_err());
    }

    #[test]
    fn merge_to_words_groups_pieces() {
        assert!(merge_to_words(&[]).is_empty());
        assert_eq!(
            merge_to_words(&s(&["▁Zwei", "▁jung", "e", "▁Männer", "."])),
            vec![vec![0], vec![1, 2], vec![3, 4]]
        );
        // A leading non-▁ piece starts a word; a lone ▁ starts one too.
        assert_eq!(
            merge_to_words(&s(&["<unk>", "ab", "▁", "<unk>", "▁x", "y", "z"])),
            vec![vec![0, 1], vec![2, 3], vec![4, 5, 6]]
        );
        assert_eq!(merge_to_words(&s(&["▁a"])), vec![vec![0]]);
        // Agrees with the model's pieces.
        let m = joint(500);
        let text = "Ein kleines Mädchen klettert in ein Spielhaus.";
        let words = merge_to_words(&m.pieces(text).unwrap());
        assert_eq!(words.len(), text.split(' ').count());
        let flat: Vec<usize> = words.concat();
        assert_eq!(flat, (0..m.pieces(text).unwrap().len()).collect::<Vec<_>>());
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing-tokenizer.json");
        let err = format!("{:#}", SubwordModel::load(&missing).unwrap_err());
        assert!(err.contains("missing-tokenizer.json"), "{err}");

        let corrupt = dir.path().join("corrupt-tokenizer.json");
        fs::write(&corrupt, "{ not json").unwrap();
        let err = format!("{:#}", SubwordModel::load(&corrupt).unwrap_err());
        assert!(err.contains("corrupt-tokenizer.json"), "{err}");

        // Valid JSON of a tokenizer without the fixed special ids.
        let wrong = dir.path().join("wrong-ids.json");
        let mut t = Tokenizer::new(BPE::default());
        t.add_special_tokens(&[AddedToken::from("</s>", true)]);
        fs::write(&wrong, t.to_string(false).unwrap()).unwrap();
        let err = format!("{:#}", SubwordModel::load(&wrong).unwrap_err());
        assert!(err.contains("wrong-ids.json"), "{err}");
    }
}
