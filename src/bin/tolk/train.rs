//! `tolk train`.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tolk::config::Config;
use tolk::train::Start;

/// Train a model from a TOML config.
#[derive(clap::Args)]
pub struct Args {
    /// The experiment config.
    config: PathBuf,
    /// Continue the run saved in the config's model_dir/last.
    #[arg(long, conflicts_with = "overwrite")]
    resume: bool,
    /// Delete the checkpoints, tokenizers, shortlist and metrics of an earlier run in the
    /// config's model_dir and train from scratch (without it, a model_dir that holds a
    /// checkpoint is refused).
    #[arg(long)]
    overwrite: bool,
    /// Override a config key, e.g. `--set model.attention=dot --set training.max_minutes=15`.
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    overrides: Vec<String>,
    /// Data-parallel training on this machine: start N ranks of this command on loopback (as
    /// `torchrun --nproc-per-node N` would), each with `training.threads / N` libtorch threads
    /// when the config leaves threads at 0 (all cores).
    #[arg(long, value_name = "N", default_value_t = 1)]
    nproc: usize,
}

impl Args {
    /// How the run treats what is already in its model directory.
    fn start(&self) -> Start {
        match (self.resume, self.overwrite) {
            (true, _) => Start::Resume,
            (false, true) => Start::Overwrite,
            (false, false) => Start::Fresh,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = Config::from_file_with_overrides(&args.config, &args.overrides)?;
    if args.nproc > 1 {
        return launch_ranks(&args, &cfg);
    }
    let summary = tolk::train::train_from(&cfg, args.start())?;
    tracing::info!(
        steps = summary.steps,
        best_valid_bleu = ?summary.best_valid_bleu,
        minutes = format!("{:.1}", summary.elapsed_seconds / 60.0),
        target_tokens = summary.target_tokens,
        model_dir = %cfg.training.model_dir.display(),
        "training finished"
    );
    Ok(())
}

/// Starts `args.nproc` copies of this `tolk train` with torchrun's variables (rendezvous on a
/// free loopback port) and waits for all; when one fails, the others are stopped.
fn launch_ranks(args: &Args, cfg: &Config) -> anyhow::Result<()> {
    let n = args.nproc;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("finding a free loopback port for the rendezvous")?
        .port();
    let mut threads = Vec::new();
    if cfg.training.threads == 0 {
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        threads = vec![
            "--set".to_owned(),
            format!("training.threads={}", (cores / n).max(1)),
        ];
    }
    let exe = std::env::current_exe().context("locating the tolk binary")?;
    let mut children: Vec<Child> = Vec::new();
    for rank in 0..n {
        let mut cmd = Command::new(&exe);
        cmd.arg("train").arg(&args.config);
        if args.resume {
            cmd.arg("--resume");
        }
        if args.overwrite {
            cmd.arg("--overwrite");
        }
        for o in &args.overrides {
            cmd.arg("--set").arg(o);
        }
        cmd.args(&threads)
            .env("WORLD_SIZE", n.to_string())
            .env("RANK", rank.to_string())
            .env("LOCAL_RANK", rank.to_string())
            .env("MASTER_ADDR", "127.0.0.1")
            .env("MASTER_PORT", port.to_string());
        children.push(
            cmd.spawn()
                .with_context(|| format!("starting rank {rank}"))?,
        );
    }
    wait_all(children)
}

/// Waits for every rank; on the first failure, gives the others 30 s to fail on their own (a
/// closed connection) and then kills them.
fn wait_all(mut children: Vec<Child>) -> anyhow::Result<()> {
    let mut failed: Option<(usize, std::process::ExitStatus)> = None;
    let mut deadline: Option<Instant> = None;
    let mut done = vec![false; children.len()];
    while done.iter().any(|d| !d) {
        for (rank, child) in children.iter_mut().enumerate() {
            if done[rank] {
                continue;
            }
            if let Some(status) = child.try_wait()? {
                done[rank] = true;
                if !status.success() && failed.is_none() {
                    failed = Some((rank, status));
                    deadline = Some(Instant::now() + Duration::from_secs(30));
                }
            } else if deadline.is_some_and(|d| Instant::now() > d) {
                let _ = child.kill();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if let Some((rank, status)) = failed {
        bail!("rank {rank} of {} failed ({status})", children.len());
    }
    Ok(())
}
