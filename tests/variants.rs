//! Every attention variant of the comparison trains through `tolk::train::train` without
//! error or divergence, is saved, reloaded and translates with beam search.

mod common;

use tch::Device;
use tolk::artifacts::{LoadedModel, ModelDir};
use tolk::config::{AttentionType, DecoderType, ModelConfig, ScopeType, SelectionType};
use tolk::decode::{LexicalShortlist, TranslateOverrides, Translator};
use tolk::precision::PrecisionChoice;

fn variants() -> Vec<(&'static str, ModelConfig)> {
    let base = ModelConfig {
        src_embed_dim: 16,
        tgt_embed_dim: 16,
        encoder_hidden: 12,
        decoder_hidden: 24, // = 2 * encoder_hidden, as dot attention needs
        attention_dim: 16,
        output_dim: 16,
        dropout: 0.1,
        local_window: 2,
        location_max_len: 32,
        ..Default::default()
    };
    let luong = |attention, scope| ModelConfig {
        decoder: DecoderType::Luong,
        attention,
        attention_scope: scope,
        ..base.clone()
    };
    vec![
        ("bahdanau_additive", base.clone()),
        (
            "encdec_no_attention",
            ModelConfig {
                attention: AttentionType::None,
                ..base.clone()
            },
        ),
        ("luong_dot", luong(AttentionType::Dot, ScopeType::Global)),
        (
            "luong_scaled_dot",
            luong(AttentionType::ScaledDot, ScopeType::Global),
        ),
        (
            "luong_general",
            luong(AttentionType::General, ScopeType::Global),
        ),
        (
            "luong_scaled_general",
            luong(AttentionType::ScaledGeneral, ScopeType::Global),
        ),
        (
            "luong_concat",
            luong(AttentionType::Additive, ScopeType::Global),
        ),
        (
            "luong_location",
            luong(AttentionType::Location, ScopeType::Global),
        ),
        (
            "luong_local_m_general",
            luong(AttentionType::General, ScopeType::LocalM),
        ),
        (
            "luong_local_p_general",
            luong(AttentionType::General, ScopeType::LocalP),
        ),
        (
            "bahdanau_hard",
            ModelConfig {
                attention_selection: SelectionType::Hard,
                ..base.clone()
            },
        ),
        (
            "bahdanau_gumbel",
            ModelConfig {
                attention_selection: SelectionType::Gumbel,
                ..base.clone()
            },
        ),
        (
            "bahdanau_coverage",
            ModelConfig {
                coverage: true,
                ..base.clone()
            },
        ),
        (
            "luong_general_coverage_no_feeding",
            ModelConfig {
                coverage: true,
                input_feeding: false,
                ..luong(AttentionType::General, ScopeType::Global)
            },
        ),
    ]
}

#[test]
fn every_attention_variant_trains_saves_and_translates() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, model) in variants() {
        let mut cfg = common::tiny_config(tmp.path(), name, 30);
        cfg.model = model;
        cfg.training.validate_every = 15;
        cfg.training.learning_rate = 5e-3;
        let summary = tolk::train::train(&cfg, false).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert!(
            summary.last_loss.is_finite(),
            "{name}: loss {}",
            summary.last_loss
        );
        // Loss fell from its start (uniform over the vocabulary is ln(60) ≈ 4.1).
        assert!(
            summary.last_loss < 3.9,
            "{name}: loss {} did not fall",
            summary.last_loss
        );
        let overrides = TranslateOverrides {
            beam_size: Some(3),
            length_penalty: Some(1.0),
            nbest: Some(2),
            max_len_ratio: Some(2.0),
            batch_tokens: Some(100),
            max_input_subwords: None,
            keep_attention: true,
            // Training wrote a lexical shortlist; decode over it (every decoder must support it).
            shortlist: Some(true),
            // Every variant also decodes through the fused kernels and in bf16.
            fused_kernels: Some(true),
            precision: Some(PrecisionChoice::Bf16),
            replace_unk: false,
            max_beam_size: None,
        };
        let translator = Translator::load(&cfg.training.model_dir, None, Device::Cpu, &overrides)
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let loaded = LoadedModel::load(&cfg.training.model_dir, None, Device::Cpu)
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let shortlist = LexicalShortlist::load(
            &ModelDir::new(&cfg.training.model_dir).shortlist(),
            loaded.tgt_subwords.vocab_size(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let src = vec!["ein mann läuft im park".to_string(), "der hund".to_string()];
        let out = translator.translate(&src).unwrap();
        assert_eq!(out.len(), 2, "{name}");
        for (s, hyps) in src.iter().zip(&out) {
            assert_eq!(hyps.len(), 2, "{name}");
            let ids = loaded
                .src_subwords
                .encode_batch(std::slice::from_ref(s))
                .unwrap();
            let allowed = shortlist.candidates(&[ids[0].as_slice()]);
            for h in hyps {
                assert!(
                    h.hypothesis
                        .tokens
                        .iter()
                        .all(|t| allowed.binary_search(t).is_ok()),
                    "{name}: token outside the shortlist"
                );
            }
            let m = translator
                .alignment(s, &hyps[0])
                .unwrap()
                .expect("attention kept");
            assert_eq!(m.weights.len(), m.tgt_tokens.len(), "{name}");
            for row in &m.weights {
                assert_eq!(row.len(), m.src_tokens.len(), "{name}");
                let sum: f32 = row.iter().sum();
                if name == "encdec_no_attention" {
                    assert_eq!(sum, 0.0, "{name}: a fixed context aligns nothing");
                } else {
                    assert!(sum <= 1.0 + 1e-4 && sum > 0.0, "{name}: row sums to {sum}");
                }
            }
        }
    }
}
