//! `bench run`: GEMM rate, training steps, greedy and beam search timed on the exported inputs.

use std::path::PathBuf;

use anyhow::{bail, Result};
use serde_json::json;

use crate::common::*;
use crate::decode_timing::{time_translation, SearchLevers};
use crate::gemm::gemm_rate;
use crate::train_timing::time_training;

pub struct RunArgs {
    pub model: PathBuf,
    pub threads: usize,
    pub steps: usize,
    pub warmup: usize,
    pub beam: usize,
    pub gemm_reps: usize,
    pub batches: PathBuf,
    pub test: PathBuf,
    pub out: PathBuf,
    pub phases: String,
    pub levers: SearchLevers,
}

pub fn run(a: RunArgs) -> Result<()> {
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
    result["precision"] = json!(a.levers.precision);
    result["fused_kernels"] = json!(a.levers.fused_kernels);
    result["workers"] = json!(a.levers.workers);
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
                let r = time_translation(&a.model, &read_json(&a.test)?, k, a.levers)?;
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
