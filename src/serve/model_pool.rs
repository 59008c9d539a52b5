//! The models a server answers with: each loaded on its own batcher thread, with its language
//! pair, default options and queue.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use tch::Device;

use super::batcher;
use super::job::Job;
use super::metrics::ServerMetrics;
use super::queue::{QueueError, WorkQueue};
use super::settings::BatchPolicy;
use crate::artifacts::ModelDir;
use crate::config::Config;
use crate::decode::{
    prepare_sources, PreparedSource, TranslateOptions, TranslateOverrides, Translator,
};
use crate::error::Error;
use crate::subword::SubwordModel;

/// Where a model comes from and how it translates by default.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    /// Model directory written by `tolk train`.
    pub dir: PathBuf,
    /// Checkpoint name (default `best`, else `last`).
    pub checkpoint: Option<String>,
    /// Device the model runs on.
    pub device: Device,
    /// Overrides of the model's `[decoding]` config (beam size, length penalty, ...).
    pub overrides: TranslateOverrides,
}

/// One loaded model as request handlers see it.
#[derive(Debug)]
pub struct ServedModel {
    /// Name: the model directory's file name.
    pub name: String,
    /// Source language code.
    pub source: String,
    /// Target language code.
    pub target: String,
    /// The model directory.
    pub dir: PathBuf,
    /// Options a request gets unless it says otherwise.
    pub defaults: TranslateOptions,
    src_subwords: SubwordModel,
    queue: Arc<WorkQueue>,
}

/// A request admitted to a model's queue; dropping it (answered, timed out, or its client gone)
/// takes whatever is still queued of it out of the queue.
#[derive(Debug)]
pub struct Ticket {
    job: Arc<Job>,
    queue: Arc<WorkQueue>,
    /// Receives the answer.
    pub answer: tokio::sync::oneshot::Receiver<super::job::JobResult>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.queue.cancel(self.job.id);
    }
}

impl ServedModel {
    /// `texts` encoded and cut to `max_input_subwords` for this model's queue, by the rule
    /// the translator owns ([`prepare_sources`]).
    ///
    /// Errors: [`Error::Input`] for text the subword model rejects.
    pub fn prepare(
        &self,
        texts: &[String],
        max_input_subwords: usize,
    ) -> Result<Vec<PreparedSource>, Error> {
        prepare_sources(&self.src_subwords, texts, max_input_subwords)
    }

    /// Queues `sources` ([`ServedModel::prepare`]) to be translated with `options`.
    ///
    /// Errors: see [`WorkQueue::submit`].
    pub fn submit(
        &self,
        sources: Vec<PreparedSource>,
        options: TranslateOptions,
    ) -> Result<Ticket, QueueError> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let (job, answer) = Job::new(id, sources, options);
        let job = Arc::new(job);
        self.queue.submit(job.clone())?;
        Ok(Ticket {
            job,
            queue: self.queue.clone(),
            answer,
        })
    }

    /// Sentences waiting for a batch.
    pub fn queue_depth(&self) -> usize {
        self.queue.depth()
    }
}

/// All models of a server and their batcher threads.
#[derive(Debug)]
pub struct ModelPool {
    models: Vec<Arc<ServedModel>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl ModelPool {
    /// Loads every model on its own batcher thread and waits until all are ready.
    ///
    /// Errors: [`Error::Model`] naming the directory that failed to load, [`Error::Input`] for
    /// two models with the same name or no model at all.
    pub fn start(
        specs: &[ModelSpec],
        policy: BatchPolicy,
        metrics: Arc<ServerMetrics>,
    ) -> Result<Self, Error> {
        if specs.is_empty() {
            return Err(Error::Input("tolk serve needs at least one --model".into()));
        }
        // On an error the partly built pool is dropped, which stops the threads started.
        let mut pool = Self {
            models: Vec::new(),
            threads: Mutex::new(Vec::new()),
        };
        for spec in specs {
            let (model, thread) = start_one(spec, policy, metrics.clone())?;
            pool.threads.lock().unwrap().push(thread);
            let duplicate = pool.by_name(&model.name).is_some();
            let name = model.name.clone();
            pool.models.push(model);
            if duplicate {
                return Err(Error::Input(format!(
                    "two models are named {name:?} (the directory name); serve them from \
                     directories with different names"
                )));
            }
        }
        Ok(pool)
    }

    /// The models, in `--model` order.
    pub fn models(&self) -> &[Arc<ServedModel>] {
        &self.models
    }

    /// The model named `name`.
    pub fn by_name(&self, name: &str) -> Option<&Arc<ServedModel>> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The first model translating `source` into `target`.
    pub fn by_pair(&self, source: &str, target: &str) -> Option<&Arc<ServedModel>> {
        self.models
            .iter()
            .find(|m| m.source == source && m.target == target)
    }

    /// Closes every queue, lets the batchers finish what is queued, and joins them.
    pub fn shutdown(&self) {
        for m in &self.models {
            m.queue.close();
        }
        for t in self.threads.lock().unwrap().drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for ModelPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Loads one model on a new batcher thread (libtorch state stays on that thread).
fn start_one(
    spec: &ModelSpec,
    policy: BatchPolicy,
    metrics: Arc<ServerMetrics>,
) -> Result<(Arc<ServedModel>, JoinHandle<()>), Error> {
    let queue = Arc::new(WorkQueue::new(policy));
    let (ready_tx, ready_rx) = mpsc::channel();
    let thread_spec = spec.clone();
    let thread_queue = queue.clone();
    let thread = std::thread::Builder::new()
        .name(format!("batcher-{}", name_of(&spec.dir)))
        .spawn(move || {
            let s = thread_spec;
            let loaded = Translator::load(&s.dir, s.checkpoint.as_deref(), s.device, &s.overrides);
            match loaded {
                Ok(translator) => {
                    let info = (translator.source_subwords().clone(), *translator.options());
                    let _ = ready_tx.send(Ok(info));
                    batcher::run(translator, thread_queue, metrics);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        })
        .map_err(|e| Error::Internal(format!("cannot start a batcher thread: {e}")))?;
    let loaded = ready_rx
        .recv()
        .map_err(|_| Error::Internal("the batcher thread died while loading".into()));
    let (src_subwords, defaults) = match loaded.and_then(|r| r) {
        Ok(v) => v,
        Err(e) => {
            let _ = thread.join();
            return Err(Error::Model(format!("model {}: {e}", spec.dir.display())));
        }
    };
    let config = Config::from_file(&ModelDir::new(&spec.dir).config()).map_err(Error::model)?;
    let (source, target) = config.data.language_pair();
    let model = ServedModel {
        name: name_of(&spec.dir),
        source,
        target,
        dir: spec.dir.clone(),
        defaults,
        src_subwords,
        queue,
    };
    Ok((Arc::new(model), thread))
}

fn name_of(dir: &Path) -> String {
    dir.canonicalize()
        .unwrap_or_else(|_| dir.to_path_buf())
        .file_name()
        .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned())
}
