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

mod common;
mod decode_timing;
mod export;
mod gemm;
mod report;
mod run;
mod train_timing;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use decode_timing::SearchLevers;
use tolk::precision::PrecisionChoice;

use export::export;
use report::{report, ReportArgs};
use run::{run, RunArgs};

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
        /// Precision of the vocabulary projection in search: fp32, bf16, int8 or auto.
        #[arg(long, default_value = "fp32")]
        precision: PrecisionChoice,
        /// Search through the fused kernels (`decoding.fused_kernels`, tolk's default).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        fused_kernels: bool,
        /// Search workers (`tolk translate --workers`), each with threads / workers threads.
        #[arg(long, default_value_t = 1)]
        workers: usize,
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
            precision,
            fused_kernels,
            workers,
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
            levers: SearchLevers {
                shortlist,
                precision,
                fused_kernels,
                workers,
            },
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
