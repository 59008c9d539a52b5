//! Benchmark harness of tolk (issue 4): the tolk side of `bench/run`.
//!
//! ```text
//! cargo run --release --example bench -- export --model DIR [--batches N] [--sentences N]
//! cargo run --release --example bench -- run    --model DIR --threads N --steps N [--warmup N]
//! cargo run --release --example bench -- report --model DIR --tolk bench/out/tolk.json --torch bench/out/torch.json
//! ```
//!
//! * `export` writes `bench/out/batches.json` (the first N training batches of epoch 0, built
//!   exactly as the trainer builds them, with the FLOPs of a training step on each) and
//!   `bench/out/test.json` (test2016 source subword ids, the inference batches and length
//!   limits), so that the PyTorch twin (`bench/torch_twin.py`) sees identical inputs.
//! * `run` times fp32 GEMM, training steps, greedy and beam search, and writes
//!   `bench/out/tolk.json`.
//! * `report` detokenises the twin's outputs, scores BLEU for both, counts identical outputs
//!   and writes `bench/results.md` and `bench/results.csv`.
//!
//! FLOP formula and the meaning of every number: `bench/NOTES.md`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

use tolk::artifacts::{LoadedModel, ModelDir};
use tolk::batch::{source_tensors, Batch};
use tolk::config::{Config, ModelConfig, OutputLayerType, RnnType};
use tolk::data::batching::{padding_fraction, plan_epoch, plan_inference, BatchPlan};
use tolk::data::corpus::{read_lines, read_parallel};
use tolk::decode::{beam_search, greedy_search, BeamConfig, Hypothesis, LexicalShortlist};
use tolk::metrics::corpus_bleu;
use tolk::subword::SubwordModel;
use tolk::train::objective::objective;
use tolk::train::optimizer::Adam;
use tolk::train::prepare::segment_and_filter;
use tolk::train::update::train_step;

#[derive(Parser)]
#[command(about = "tolk benchmark harness (see bench/NOTES.md)")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Export training batches (epoch 0) and test2016 source ids for both implementations.
    Export {
        /// Model directory (config.toml, tokenizer.json).
        #[arg(long, default_value = "runs/multi30k_de_en")]
        model: PathBuf,
        /// Number of training batches to export (first N of epoch 0).
        #[arg(long, default_value_t = 30)]
        batches: usize,
        /// test2016 sentences to translate (0 = all).
        #[arg(long, default_value_t = 0)]
        sentences: usize,
        /// Directory with train.{de,en}.gz and test2016.{de,en}.gz, used when the paths in the
        /// model's config.toml do not resolve.
        #[arg(long, default_value = "data/multi30k")]
        data: PathBuf,
        /// Output directory.
        #[arg(long, default_value = "bench/out")]
        out: PathBuf,
    },
    /// Time tolk: GEMM, training steps, greedy and beam search; writes JSON.
    Run {
        #[arg(long, default_value = "runs/multi30k_de_en")]
        model: PathBuf,
        /// libtorch intra-op threads (0 = all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Timed training steps (cycling over the exported batches), warm-up included.
        #[arg(long, default_value_t = 30)]
        steps: usize,
        /// Warm-up steps excluded from the median.
        #[arg(long, default_value_t = 5)]
        warmup: usize,
        /// Beam size of the beam-search row.
        #[arg(long, default_value_t = 5)]
        beam: usize,
        /// Repetitions of each GEMM.
        #[arg(long, default_value_t = 10)]
        gemm_reps: usize,
        #[arg(long, default_value = "bench/out/batches.json")]
        batches: PathBuf,
        #[arg(long, default_value = "bench/out/test.json")]
        test: PathBuf,
        #[arg(long, default_value = "bench/out/tolk.json")]
        out: PathBuf,
        /// Phases to run, comma-separated: gemm, train, greedy, beam. Results are merged
        /// into `--out`.
        #[arg(long, default_value = "gemm,train,greedy,beam")]
        phases: String,
        /// Greedy and beam search over the model's lexical shortlist (`shortlist.json`).
        #[arg(long)]
        shortlist: bool,
    },
    /// Scores both outputs and writes the Markdown and CSV tables.
    Report {
        #[arg(long, default_value = "runs/multi30k_de_en")]
        model: PathBuf,
        #[arg(long, default_value = "bench/out/tolk.json")]
        tolk: PathBuf,
        #[arg(long, default_value = "bench/out/torch.json")]
        torch: PathBuf,
        #[arg(long, default_value = "bench/out/test.json")]
        test: PathBuf,
        #[arg(long, default_value = "bench/out/batches.json")]
        batches: PathBuf,
        #[arg(long, default_value = "data/multi30k")]
        data: PathBuf,
        #[arg(long, default_value = "bench/results.md")]
        md: PathBuf,
        #[arg(long, default_value = "bench/results.csv")]
        csv: PathBuf,
        /// Header lines: machine description and the exact command.
        #[arg(long, default_value = "")]
        machine: String,
        #[arg(long, default_value = "")]
        command: String,
        /// Model name for the header (default: --model).
        #[arg(long, default_value = "")]
        model_name: String,
    },
}

fn main() -> Result<()> {
    #[cfg(unix)]
    tolk::runtime::ensure_passive_omp_wait();
    match Cli::parse().command {
        Cmd::Export {
            model,
            batches,
            sentences,
            data,
            out,
        } => export(&model, batches, sentences, &data, &out),
        Cmd::Run {
            model,
            threads,
            steps,
            warmup,
            beam,
            gemm_reps,
            batches,
            test,
            out,
            phases,
            shortlist,
        } => run(RunArgs {
            model,
            threads,
            steps,
            warmup,
            beam,
            gemm_reps,
            batches,
            test,
            out,
            phases,
            shortlist,
        }),
        Cmd::Report {
            model,
            tolk,
            torch,
            test,
            batches,
            data,
            md,
            csv,
            machine,
            command,
            model_name,
        } => report(ReportArgs {
            model,
            tolk,
            torch,
            test,
            batches,
            data,
            md,
            csv,
            machine,
            command,
            model_name,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// `path` if it exists, else `fallback_dir/<file name of path>`.
fn resolve_data(path: &Path, fallback_dir: &Path) -> Result<PathBuf> {
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    let alt = fallback_dir.join(name);
    anyhow::ensure!(
        alt.exists(),
        "neither {} nor {} exists",
        path.display(),
        alt.display()
    );
    Ok(alt)
}

/// The test set next to the training source: `test2016.<src ext>` / `test2016.<tgt ext>`.
fn test_paths(config: &Config, data: &Path) -> Result<(PathBuf, PathBuf)> {
    let lang = |p: &Path| -> String {
        // train.de.gz -> "de"
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        name.trim_end_matches(".gz")
            .rsplit('.')
            .next()
            .unwrap_or("")
            .to_string()
    };
    let src = data.join(format!("test2016.{}.gz", lang(&config.data.train_src)));
    let tgt = data.join(format!("test2016.{}.gz", lang(&config.data.train_tgt)));
    anyhow::ensure!(
        src.exists() && tgt.exists(),
        "{} / {} missing",
        src.display(),
        tgt.display()
    );
    Ok((src, tgt))
}

fn load_subwords(model: &Path, config: &Config) -> Result<(SubwordModel, SubwordModel)> {
    let (s, t) = ModelDir::new(model).tokenizers(config.subword.joint);
    Ok((SubwordModel::load(&s)?, SubwordModel::load(&t)?))
}

fn write_json(path: &Path, v: &Value) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string(v)?)
        .with_context(|| format!("writing {}", path.display()))
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

fn rows_of(t: &Tensor) -> Vec<Vec<i64>> {
    let (r, c) = t.size2().expect("2-D");
    let flat = Vec::<i64>::try_from(t.flatten(0, -1)).expect("int64");
    (0..r as usize)
        .map(|i| flat[i * c as usize..(i + 1) * c as usize].to_vec())
        .collect()
}

fn ids_of(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_i64().expect("int"))
        .collect()
}

fn matrix_of(v: &Value) -> Tensor {
    let rows: Vec<Vec<i64>> = v.as_array().expect("rows").iter().map(ids_of).collect();
    let (r, c) = (rows.len() as i64, rows.first().map_or(0, Vec::len) as i64);
    let flat: Vec<i64> = rows.into_iter().flatten().collect();
    Tensor::from_slice(&flat).view([r, c])
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// Resets the peak-RSS counter of this process (Linux: "5" to /proc/self/clear_refs).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak resident set size (VmHWM) in MiB.
fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

/// Current resident set size (VmRSS) in MiB.
fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

fn status_mib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// FLOPs of one forward pass over a padded batch (multiply-add = 2 FLOPs, matrix products
/// only; elementwise ops, softmax and the loss are left out). `b` sentences, `s` padded
/// source length (EOS included), `t` padded target length. See bench/NOTES.md.
pub fn forward_flops(m: &ModelConfig, tgt_vocab: i64, b: i64, s: i64, t: i64) -> f64 {
    let g = match m.rnn {
        RnnType::Gru => 3.0,
        RnnType::Lstm => 4.0,
    };
    let (b, s, t) = (b as f64, s as f64, t as f64);
    let es = m.src_embed_dim as f64;
    let et = m.tgt_embed_dim as f64;
    let h = m.encoder_hidden as f64;
    let d = m.decoder_hidden as f64;
    let a = m.attention_dim as f64;
    let o = m.output_dim as f64;
    let k = match m.output_layer {
        OutputLayerType::Maxout => o / 2.0,
        OutputLayerType::Tanh => o,
    };
    let v = tgt_vocab as f64;
    // Encoder: per layer and direction, input transform + recurrence over all S positions.
    let mut enc = 0.0;
    let mut input = es;
    for _ in 0..m.encoder_layers {
        enc += 2.0 * (2.0 * b * s * g * h * input + 2.0 * b * s * g * h * h);
        input = 2.0 * h;
    }
    let bridge = 2.0 * b * h * d;
    let keys = 2.0 * b * s * 2.0 * h * a; // U_a h_j, once per batch
    let emb_transform = 2.0 * b * t * et * g * d; // W_x E y for all steps at once
    let per_step = 2.0 * b * d * a       // W_a s_{i-1}
        + 2.0 * b * s * a                // v_a^T tanh(.)
        + 2.0 * b * s * 2.0 * h          // c_i = sum_j alpha_ij h_j
        + 2.0 * b * 2.0 * h * g * d      // W_u c_i
        + 2.0 * b * d * g * d; // W_h s_{i-1}
    let deep_out = 2.0 * b * t * (d + 2.0 * h + et) * o;
    let vocab = 2.0 * b * t * k * v;
    enc + bridge + keys + emb_transform + t * per_step + deep_out + vocab
}

// ---------------------------------------------------------------------------------------------
// export

fn export(model: &Path, n_batches: usize, sentences: usize, data: &Path, out: &Path) -> Result<()> {
    let md = ModelDir::new(model);
    let config = Config::from_file(&md.config())?;
    let (src_sw, tgt_sw) = load_subwords(model, &config)?;
    let dc = &config.data;
    let tc = &config.training;
    let train_src = resolve_data(&dc.train_src, data)?;
    let train_tgt = resolve_data(&dc.train_tgt, data)?;
    let started = Instant::now();

    // Exactly the trainer's data path (src/train/prepare.rs).
    let corpus = read_parallel(&train_src, &train_tgt, dc.empty_lines)?;
    let (pairs, _) = segment_and_filter(&config, &src_sw, &tgt_sw, &corpus);
    let examples: Vec<(&[i64], &[i64])> = pairs
        .iter()
        .map(|(s, t)| (s.as_slice(), t.as_slice()))
        .collect();
    let lengths: Vec<(usize, usize)> = examples
        .iter()
        .map(|(s, t)| (s.len() + 1, t.len() + 1))
        .collect();
    let plan = plan_epoch(&lengths, tc.batch_tokens, tc.seed, 0);
    let take = n_batches.min(plan.len());
    let tgt_vocab = tgt_sw.vocab_size() as i64;
    let mut batches = Vec::new();
    for idx in &plan[..take] {
        let pairs: Vec<(&[i64], &[i64])> = idx.iter().map(|&i| examples[i]).collect();
        let batch = Batch::new(&pairs, Device::Cpu);
        let (b, s) = batch.src.size2()?;
        let t = batch.tgt_in.size()[1];
        batches.push(json!({
            "src": rows_of(&batch.src),
            "src_lengths": Vec::<i64>::try_from(&batch.src_lengths)?,
            "tgt_in": rows_of(&batch.tgt_in),
            "tgt_out": rows_of(&batch.tgt_out),
            "target_tokens": batch.target_tokens,
            "shape": [b, s, t],
            "train_flops": 3.0 * forward_flops(&config.model, tgt_vocab, b, s, t),
        }));
    }
    let batches_json = json!({
        "model": model.display().to_string(),
        "batch_tokens": tc.batch_tokens,
        "seed": tc.seed,
        "epoch": 0,
        "examples": examples.len(),
        "epoch_batches": plan.len(),
        "padding_fraction_epoch": padding_fraction(&lengths, &plan),
        "padding_fraction_exported": padding_fraction(&lengths, &plan[..take]),
        // The bucketing lever: pools of one expected batch (almost no sorting) and the
        // whole corpus sorted as one pool.
        "padding_fraction_pool1": padding_fraction(
            &lengths,
            &BatchPlan::new(tc.batch_tokens, tc.seed).with_pool_factor(1).epoch(&lengths, 0)
        ),
        "padding_fraction_sorted": padding_fraction(
            &lengths,
            &BatchPlan::new(tc.batch_tokens, tc.seed)
                .with_pool_factor(usize::MAX)
                .epoch(&lengths, 0)
        ),
        "src_vocab": src_sw.vocab_size(),
        "tgt_vocab": tgt_vocab,
        "batches": batches,
    });
    write_json(&out.join("batches.json"), &batches_json)?;

    // Test set: subword ids, inference batches and length limits exactly as Translator.
    let (test_src, _) = test_paths(&config, data)?;
    let mut lines = read_lines(&test_src)?;
    if sentences > 0 {
        lines.truncate(sentences);
    }
    let ids = src_sw.encode_batch(&lines);
    let lens: Vec<usize> = ids.iter().map(|s| s.len() + 1).collect();
    let inf_batches = plan_inference(&lens, config.decoding.batch_tokens);
    let max_len: Vec<usize> = ids
        .iter()
        .map(|s| (config.decoding.max_len_ratio * s.len() as f64) as usize + 5)
        .collect();
    write_json(
        &out.join("test.json"),
        &json!({
            "file": test_src.display().to_string(),
            "n": ids.len(),
            "ids": ids,
            "batches": inf_batches,
            "max_len": max_len,
            "length_penalty": config.decoding.length_penalty,
            "batch_tokens": config.decoding.batch_tokens,
        }),
    )?;
    eprintln!(
        "exported {take} of {} training batches (padding {:.1}% over epoch 0) and {} test \
         sentences in {:.1}s",
        plan.len(),
        100.0 * padding_fraction(&lengths, &plan),
        ids.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// run

struct RunArgs {
    model: PathBuf,
    threads: usize,
    steps: usize,
    warmup: usize,
    beam: usize,
    gemm_reps: usize,
    batches: PathBuf,
    test: PathBuf,
    out: PathBuf,
    phases: String,
    shortlist: bool,
}

/// GFLOP/s of `reps` fp32 products [m,k]x[k,n] (median time; one untimed warm-up).
fn gemm_rate(m: i64, k: i64, n: i64, reps: usize) -> Value {
    tch::manual_seed(0);
    let a = Tensor::randn([m, k], (Kind::Float, Device::Cpu));
    let b = Tensor::randn([k, n], (Kind::Float, Device::Cpu));
    let _ = a.matmul(&b);
    let mut times = Vec::new();
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        let c = a.matmul(&b);
        let _ = c.size();
        times.push(t0.elapsed().as_secs_f64());
    }
    let flops = 2.0 * (m * k * n) as f64;
    let med = median(&times);
    json!({"m": m, "k": k, "n": n, "reps": times.len(), "median_s": med,
           "gflops": flops / med / 1e9})
}

fn run(a: RunArgs) -> Result<()> {
    let threads = if a.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        a.threads
    };
    tch::set_num_threads(threads as i32);
    // Results accumulate in one file, so that bench/run can run each phase in its own
    // process (a clean peak RSS per phase).
    let mut result = match read_json(&a.out) {
        Ok(v) if v["impl"] == "tolk" => v,
        _ => json!({"impl": "tolk"}),
    };
    result["threads"] = json!(threads);
    result["tch_threads"] = json!(tch::get_num_threads());
    result["omp_wait_policy"] = json!(std::env::var("OMP_WAIT_POLICY").unwrap_or_default());
    for phase in a.phases.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match phase {
            "gemm" => {
                // (d) fp32 GEMM rate.
                let gemm = vec![
                    gemm_rate(1024, 1024, 1024, a.gemm_reps),
                    gemm_rate(2000, 512, 8000, a.gemm_reps),
                ];
                let peak = gemm
                    .iter()
                    .map(|g| g["gflops"].as_f64().unwrap_or(0.0))
                    .fold(0.0, f64::max);
                eprintln!("tolk gemm: {peak:.1} GFLOP/s");
                result["gemm"] = json!(gemm);
                result["gemm_peak_gflops"] = json!(peak);
            }
            "train" => {
                // (a) Training steps.
                let train = time_training(&a, &read_json(&a.batches)?)?;
                eprintln!(
                    "tolk train: {:.0} tgt tok/s (median)",
                    train["tokens_per_s_median"].as_f64().unwrap_or(f64::NAN)
                );
                result["train"] = train;
            }
            "greedy" | "beam" => {
                // (b) Translation.
                let k = if phase == "greedy" { 1 } else { a.beam };
                let r = time_translation(&a.model, &read_json(&a.test)?, k, a.shortlist)?;
                eprintln!(
                    "tolk {phase}: {:.1} sent/s",
                    r["sentences_per_s"].as_f64().unwrap_or(f64::NAN)
                );
                result[phase] = r;
            }
            other => bail!("unknown phase {other:?} (gemm, train, greedy, beam)"),
        }
        write_json(&a.out, &result)?;
    }
    eprintln!("wrote {}", a.out.display());
    Ok(())
}

fn time_training(a: &RunArgs, batches_json: &Value) -> Result<Value> {
    let batches = batches_json["batches"].as_array().context("batches")?;
    anyhow::ensure!(!batches.is_empty(), "no exported batches");
    let loaded = LoadedModel::load(&a.model, None, Device::Cpu)?;
    let tc = loaded.config.training.clone();
    let model = &loaded.model;

    // Equivalence check: label-smoothed loss of batch 0 without dropout.
    let check_loss = tch::no_grad(|| {
        let b = &batches[0];
        let out = model.forward(
            &matrix_of(&b["src"]),
            &Tensor::from_slice(&ids_of(&b["src_lengths"])),
            &matrix_of(&b["tgt_in"]),
            false,
        );
        objective(&out, &matrix_of(&b["tgt_out"]), &tc, 0, &mut None).cross_entropy
    });

    // Host-side ids, parsed before timing (the trainer holds its examples as Vec<i64> too).
    struct HostBatch {
        src: (Vec<i64>, [i64; 2]),
        src_len: Vec<i64>,
        tgt_in: (Vec<i64>, [i64; 2]),
        tgt_out: (Vec<i64>, [i64; 2]),
        tokens: f64,
        flops: f64,
    }
    let flat = |v: &Value| -> (Vec<i64>, [i64; 2]) {
        let rows: Vec<Vec<i64>> = v
            .as_array()
            .map_or(vec![], |r| r.iter().map(ids_of).collect());
        let shape = [rows.len() as i64, rows.first().map_or(0, Vec::len) as i64];
        (rows.into_iter().flatten().collect(), shape)
    };
    let host: Vec<HostBatch> = batches
        .iter()
        .map(|b| HostBatch {
            src: flat(&b["src"]),
            src_len: ids_of(&b["src_lengths"]),
            tgt_in: flat(&b["tgt_in"]),
            tgt_out: flat(&b["tgt_out"]),
            tokens: b["target_tokens"].as_f64().unwrap_or(0.0),
            flops: b["train_flops"].as_f64().unwrap_or(0.0),
        })
        .collect();
    let tensor = |(ids, shape): &(Vec<i64>, [i64; 2])| Tensor::from_slice(ids).view(*shape);

    reset_peak_rss();
    let rss_start = rss_mib();
    let mut opt = Adam::new(
        loaded.vs.variables(),
        tc.learning_rate,
        tc.adam_betas,
        tc.adam_eps,
    );
    opt.lr = tc.learning_rate;
    let mut baseline = None;
    let (mut secs, mut toks, mut flops, mut losses) = (vec![], vec![], vec![], vec![]);
    for step in 0..a.steps {
        let b = &host[step % host.len()];
        let t0 = Instant::now();
        // Tensors built from host ids inside the timed region, as the trainer does per batch.
        let batch = Batch {
            src: tensor(&b.src),
            src_lengths: Tensor::from_slice(&b.src_len),
            tgt_in: tensor(&b.tgt_in),
            tgt_out: tensor(&b.tgt_out),
            target_tokens: b.tokens as usize,
        };
        let report = train_step(
            model,
            &mut opt,
            &batch,
            &tc,
            step,
            tc.learning_rate,
            &mut baseline,
        )
        .with_context(|| format!("benchmark step {step}"))?;
        secs.push(t0.elapsed().as_secs_f64());
        toks.push(b.tokens);
        flops.push(b.flops);
        losses.push(report.loss);
    }
    let rss = peak_rss_mib();
    let timed = a.warmup.min(a.steps.saturating_sub(1));
    let tps: Vec<f64> = (timed..a.steps).map(|i| toks[i] / secs[i]).collect();
    let gfs: Vec<f64> = (timed..a.steps).map(|i| flops[i] / secs[i] / 1e9).collect();
    let sum_t: f64 = secs[timed..].iter().sum();
    Ok(json!({
        "steps": a.steps,
        "warmup": timed,
        "step_seconds": secs,
        "target_tokens": toks,
        "losses": losses,
        "tokens_per_s_median": median(&tps),
        "tokens_per_s_overall": toks[timed..].iter().sum::<f64>() / sum_t,
        "gflops_median": median(&gfs),
        "gflops_overall": flops[timed..].iter().sum::<f64>() / sum_t / 1e9,
        "flops_per_step_mean": flops[timed..].iter().sum::<f64>() / (a.steps - timed) as f64,
        "check_loss_eval_batch0": check_loss,
        "rss_start_mib": rss_start,
        "peak_rss_mib": rss,
    }))
}

fn time_translation(model_dir: &Path, test: &Value, beam: usize, shortlist: bool) -> Result<Value> {
    let loaded = LoadedModel::load(model_dir, None, Device::Cpu)?;
    let shortlist = shortlist
        .then(|| LexicalShortlist::load(&ModelDir::new(model_dir).shortlist()))
        .transpose()?;
    let ids: Vec<Vec<i64>> = test["ids"]
        .as_array()
        .context("ids")?
        .iter()
        .map(ids_of)
        .collect();
    let max_len: Vec<usize> = ids_of(&test["max_len"])
        .into_iter()
        .map(|x| x as usize)
        .collect();
    let plan: Vec<Vec<usize>> = test["batches"]
        .as_array()
        .context("batches")?
        .iter()
        .map(|b| ids_of(b).into_iter().map(|x| x as usize).collect())
        .collect();
    let alpha = loaded.config.decoding.length_penalty;
    let search = |batch: &[usize]| -> Vec<Hypothesis> {
        let srcs: Vec<&[i64]> = batch.iter().map(|&i| ids[i].as_slice()).collect();
        let (src, src_len) = source_tensors(&srcs, Device::Cpu);
        let ml: Vec<usize> = batch.iter().map(|&i| max_len[i]).collect();
        // Candidate lookup is part of the timed work, as in `Translator::translate`.
        let candidates = shortlist.as_ref().map(|s| s.candidates(&srcs));
        let candidates = candidates.as_deref();
        if beam <= 1 {
            greedy_search(&loaded.model, &src, &src_len, &ml, false, candidates)
        } else {
            let cfg = BeamConfig {
                beam_size: beam,
                length_penalty: alpha,
                nbest: 1,
            };
            beam_search(&loaded.model, &src, &src_len, &ml, cfg, false, candidates)
                .expect("valid beam settings")
                .into_iter()
                .map(|mut h| h.swap_remove(0))
                .collect()
        }
    };
    // Untimed warm-up on a few sentences (first-call allocations and kernel setup).
    if let Some(first) = plan.first() {
        let _ = search(&first[..first.len().min(8)]);
    }
    reset_peak_rss();
    let rss_start = rss_mib();
    let mut out: Vec<Vec<i64>> = vec![Vec::new(); ids.len()];
    let t0 = Instant::now();
    // The loop of Translator::translate on pre-encoded ids (BPE excluded in both
    // implementations).
    for batch in &plan {
        let hyps = search(batch);
        for (&i, h) in batch.iter().zip(hyps) {
            out[i] = h.tokens;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let rss = peak_rss_mib();
    let tokens: usize = out.iter().map(|t| t.len() + 1).sum();
    // Mean shortlist size per batch (0 = full vocabulary), outside the timed loop.
    let shortlist_mean = shortlist.as_ref().map_or(0.0, |s| {
        let sizes: Vec<f64> = plan
            .iter()
            .map(|b| {
                let srcs: Vec<&[i64]> = b.iter().map(|&i| ids[i].as_slice()).collect();
                s.candidates(&srcs).len() as f64
            })
            .collect();
        sizes.iter().sum::<f64>() / sizes.len().max(1) as f64
    });
    Ok(json!({
        "beam": beam,
        "shortlist_mean_size": shortlist_mean,
        "sentences": ids.len(),
        "seconds": secs,
        "output_tokens": tokens,
        "sentences_per_s": ids.len() as f64 / secs,
        "tokens_per_s": tokens as f64 / secs,
        "rss_start_mib": rss_start,
        "peak_rss_mib": rss,
        "ids": out,
    }))
}

// ---------------------------------------------------------------------------------------------
// report

struct ReportArgs {
    model: PathBuf,
    tolk: PathBuf,
    torch: PathBuf,
    test: PathBuf,
    batches: PathBuf,
    data: PathBuf,
    md: PathBuf,
    csv: PathBuf,
    machine: String,
    command: String,
    model_name: String,
}

fn outputs(v: &Value) -> Vec<Vec<i64>> {
    v["ids"]
        .as_array()
        .map(|a| a.iter().map(ids_of).collect())
        .unwrap_or_default()
}

fn report(a: ReportArgs) -> Result<()> {
    let tolk = read_json(&a.tolk)?;
    let torch = read_json(&a.torch)?;
    let test = read_json(&a.test)?;
    let batches = read_json(&a.batches)?;
    let config = Config::from_file(&ModelDir::new(&a.model).config())?;
    let (_, tgt_sw) = load_subwords(&a.model, &config)?;
    let (_, test_ref) = test_paths(&config, &a.data)?;
    let n = test["n"].as_u64().context("n")? as usize;
    let mut refs = read_lines(&test_ref)?;
    refs.truncate(n);

    let bleu = |ids: &[Vec<i64>]| -> f64 {
        if ids.len() != refs.len() {
            return f64::NAN;
        }
        let hyps: Vec<String> = ids.iter().map(|t| tgt_sw.decode(t)).collect();
        corpus_bleu(&hyps, &[&refs]).score
    };
    let same = |x: &[Vec<i64>], y: &[Vec<i64>]| x.iter().zip(y).filter(|(a, b)| a == b).count();

    let f = |v: &Value, path: &[&str]| -> f64 {
        let mut cur = v;
        for p in path {
            cur = &cur[*p];
        }
        cur.as_f64().unwrap_or(f64::NAN)
    };
    let peak = f(&tolk, &["gemm_peak_gflops"]).max(f(&torch, &["gemm_peak_gflops"]));
    let (tg, pg) = (outputs(&tolk["greedy"]), outputs(&torch["greedy"]));
    let (tb, pb) = (outputs(&tolk["beam"]), outputs(&torch["beam"]));
    let beam_k = tolk["beam"]["beam"].as_u64().unwrap_or(5);

    // (label, unit, tolk, torch, decimals)
    let mut rows: Vec<(String, f64, f64, usize)> = Vec::new();
    let mut row =
        |label: &str, (t, p): (f64, f64), dec: usize| rows.push((label.into(), t, p, dec));
    // The same JSON path in both results.
    let both = |path: &[&str]| (f(&tolk, path), f(&torch, path));
    row(
        "training: target tokens/s (median after warm-up)",
        both(&["train", "tokens_per_s_median"]),
        0,
    );
    row(
        "training: achieved GFLOP/s (median)",
        both(&["train", "gflops_median"]),
        1,
    );
    let (tolk_gflops, torch_gflops) = both(&["train", "gflops_median"]);
    row(
        "training: fraction of measured GEMM peak",
        (tolk_gflops / peak, torch_gflops / peak),
        3,
    );
    row(
        "greedy: sentences/s",
        both(&["greedy", "sentences_per_s"]),
        1,
    );
    row(
        "greedy: output tokens/s",
        both(&["greedy", "tokens_per_s"]),
        0,
    );
    row(
        &format!("beam {beam_k}: sentences/s"),
        both(&["beam", "sentences_per_s"]),
        1,
    );
    row(
        &format!("beam {beam_k}: output tokens/s"),
        both(&["beam", "tokens_per_s"]),
        0,
    );
    row("BLEU greedy", (bleu(&tg), bleu(&pg)), 2);
    row(&format!("BLEU beam {beam_k}"), (bleu(&tb), bleu(&pb)), 2);
    row(
        "peak RSS training (MiB)",
        both(&["train", "peak_rss_mib"]),
        0,
    );
    row(
        "RSS at start of greedy phase: runtime + model (MiB)",
        both(&["greedy", "rss_start_mib"]),
        0,
    );
    row(
        "peak RSS greedy (MiB)",
        both(&["greedy", "peak_rss_mib"]),
        0,
    );
    row(
        &format!("peak RSS beam {beam_k} (MiB)"),
        both(&["beam", "peak_rss_mib"]),
        0,
    );
    for (i, g) in tolk["gemm"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let label = format!(
            "GEMM fp32 [{}x{}]x[{}x{}] GFLOP/s",
            g["m"], g["k"], g["k"], g["n"]
        );
        let rate = |g: &Value| g["gflops"].as_f64().unwrap_or(f64::NAN);
        row(&label, (rate(g), rate(&torch["gemm"][i])), 1);
    }
    row(
        "check: eval loss of batch 0 (no dropout)",
        both(&["train", "check_loss_eval_batch0"]),
        5,
    );
    let loss_at = |v: &Value, i: usize| {
        v["train"]["losses"]
            .as_array()
            .and_then(|l| l.get(i).or(l.last()))
            .and_then(Value::as_f64)
            .unwrap_or(f64::NAN)
    };
    row(
        "check: training loss of step 1 (same weights, dropout seed)",
        (loss_at(&tolk, 0), loss_at(&torch, 0)),
        5,
    );
    row(
        "check: training loss of the last step",
        (loss_at(&tolk, usize::MAX), loss_at(&torch, usize::MAX)),
        5,
    );

    let fmt = |x: f64, dec: usize| {
        if x.is_finite() {
            format!("{x:.dec$}")
        } else {
            "n/a".into()
        }
    };
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let threads = tolk["threads"].as_u64().unwrap_or(0);
    let torch_threads = torch["threads"].as_u64().unwrap_or(0);
    let steps = tolk["train"]["steps"].as_u64().unwrap_or(0);
    let warm = tolk["train"]["warmup"].as_u64().unwrap_or(0);
    let mut md = String::new();
    md.push_str("# tolk vs. PyTorch (eager) benchmark\n\n");
    md.push_str(&format!("- date: {date}\n"));
    md.push_str(&format!("- machine: {}\n", a.machine));
    md.push_str(&format!(
        "- threads: {threads} (tolk), {torch_threads} (PyTorch); OMP_WAIT_POLICY={}\n",
        tolk["omp_wait_policy"].as_str().unwrap_or("")
    ));
    md.push_str(&format!("- command: `{}`\n", a.command));
    md.push_str(&format!(
        "- model: `{}` ({} training batches of epoch 0, {} steps of which {} warm-up; \
         {} test2016 sentences; padding fraction of epoch 0: {:.1}%)\n",
        if a.model_name.is_empty() {
            a.model.display().to_string()
        } else {
            a.model_name.clone()
        },
        batches["batches"].as_array().map_or(0, Vec::len),
        steps,
        warm,
        n,
        100.0
            * batches["padding_fraction_epoch"]
                .as_f64()
                .unwrap_or(f64::NAN)
    ));
    md.push_str(&format!(
        "- identical outputs (token ids) tolk vs. PyTorch: greedy {}/{}, beam {}/{}\n",
        same(&tg, &pg),
        tg.len(),
        same(&tb, &pb),
        tb.len()
    ));
    md.push_str(&format!(
        "- FLOPs per training step (mean over timed steps, padded shapes, bench/NOTES.md): \
         {:.1} GFLOP; padding fraction with pools of 1 batch: {:.1}%, whole corpus sorted: \
         {:.1}%\n",
        f(&tolk, &["train", "flops_per_step_mean"]) / 1e9,
        100.0
            * batches["padding_fraction_pool1"]
                .as_f64()
                .unwrap_or(f64::NAN),
        100.0
            * batches["padding_fraction_sorted"]
                .as_f64()
                .unwrap_or(f64::NAN)
    ));
    md.push_str(&format!(
        "- GEMM peak used for the fractions: {peak:.1} GFLOP/s; torch {} / libtorch via tch\n\n",
        torch["torch_version"].as_str().unwrap_or("?")
    ));
    md.push_str("| metric | tolk | PyTorch | tolk / PyTorch |\n|---|---:|---:|---:|\n");
    let mut csv = String::from("metric,tolk,pytorch,ratio\n");
    for (label, t, p, dec) in &rows {
        let ratio = t / p;
        md.push_str(&format!(
            "| {label} | {} | {} | {} |\n",
            fmt(*t, *dec),
            fmt(*p, *dec),
            fmt(ratio, 3)
        ));
        csv.push_str(&format!(
            "\"{label}\",{},{},{}\n",
            fmt(*t, 6),
            fmt(*p, 6),
            fmt(ratio, 6)
        ));
    }
    md.push_str(
        "\nRatios above 1 mean tolk is faster (throughput rows) or uses more memory (RSS \
         rows). Definitions: bench/NOTES.md.\n",
    );
    std::fs::write(&a.md, &md).with_context(|| format!("writing {}", a.md.display()))?;
    std::fs::write(&a.csv, &csv).with_context(|| format!("writing {}", a.csv.display()))?;
    print!("{md}");
    Ok(())
}
