//! `bench report`: both sides scored and compared; results.md and results.csv.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::common::*;
use tolk::artifacts::ModelDir;
use tolk::config::Config;
use tolk::data::corpus::read_lines;
use tolk::metrics::corpus_bleu;

pub struct ReportArgs {
    pub model: PathBuf,
    pub tolk: PathBuf,
    pub torch: PathBuf,
    pub test: PathBuf,
    pub batches: PathBuf,
    pub data: PathBuf,
    pub md: PathBuf,
    pub csv: PathBuf,
    pub machine: String,
    pub command: String,
    pub model_name: String,
}

pub fn outputs(v: &Value) -> Vec<Vec<i64>> {
    v["ids"]
        .as_array()
        .map(|a| a.iter().map(ids_of).collect())
        .unwrap_or_default()
}

pub fn report(a: ReportArgs) -> Result<()> {
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

    let bleu = |ids: &[Vec<i64>]| -> Result<f64> {
        if ids.len() != refs.len() {
            return Ok(f64::NAN);
        }
        let hyps: Vec<String> = ids
            .iter()
            .map(|t| tgt_sw.decode(t))
            .collect::<Result<_, _>>()?;
        Ok(corpus_bleu(&hyps, &[&refs]).score)
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
    row("BLEU greedy", (bleu(&tg)?, bleu(&pg)?), 2);
    row(&format!("BLEU beam {beam_k}"), (bleu(&tb)?, bleu(&pb)?), 2);
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
        "- threads: {threads} (tolk), {torch_threads} (PyTorch); OMP_WAIT_POLICY={}; tolk: \
         precision {}, fused kernels {}, search workers {}\n",
        tolk["omp_wait_policy"].as_str().unwrap_or(""),
        tolk["precision"].as_str().unwrap_or("fp32"),
        tolk["fused_kernels"].as_bool().unwrap_or(true),
        tolk["workers"].as_u64().unwrap_or(1),
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
