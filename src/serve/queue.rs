//! The bounded, fair work queue between request handlers and one model's batcher.
//!
//! Handlers [`WorkQueue::submit`] whole requests; the batcher takes batches with
//! [`WorkQueue::next_batch`], which waits until a batch is full or its oldest sentence has
//! waited `batch_delay`. Batches are filled round-robin over the waiting requests, at most
//! `chunk_sentences` of a request per turn, so a long request does not starve a short one
//! (modernmt #572); the queue holds at most `max_queued_sentences`, so a burst is refused with
//! 429 instead of growing an unbounded backlog (LibreTranslate #1008).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use super::job::Job;
use super::settings::BatchPolicy;

/// Why a request was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// Admitting the request would exceed `max_queued_sentences`.
    #[error("the translation queue is full ({queued} of {limit} sentences waiting); retry later")]
    Full {
        /// Sentences waiting now.
        queued: usize,
        /// The limit.
        limit: usize,
    },
    /// The server is shutting down.
    #[error("the server is shutting down")]
    Closed,
}

/// One sentence of a batch: its job and its index there.
pub type BatchItem = (Arc<Job>, usize);

/// A request still waiting for some of its sentences to be batched.
#[derive(Debug)]
struct Pending {
    job: Arc<Job>,
    /// Index of its next sentence not yet in a batch.
    next: usize,
}

impl Pending {
    fn remaining(&self) -> usize {
        self.job.len() - self.next
    }

    fn remaining_tokens(&self) -> usize {
        self.job.lengths[self.next..].iter().sum()
    }
}

#[derive(Debug, Default)]
struct State {
    pending: VecDeque<Pending>,
    /// Sentences admitted and not yet in a batch.
    queued: usize,
    /// Their source subwords (+1 each).
    queued_tokens: usize,
    closed: bool,
}

/// The queue of one model.
#[derive(Debug)]
pub struct WorkQueue {
    policy: BatchPolicy,
    state: Mutex<State>,
    wake: Condvar,
}

impl WorkQueue {
    /// An empty queue batching by `policy`.
    pub fn new(policy: BatchPolicy) -> Self {
        Self {
            policy,
            state: Mutex::default(),
            wake: Condvar::new(),
        }
    }

    /// Admits `job` whole, or not at all.
    ///
    /// Errors: [`QueueError::Full`] if its sentences do not fit under `max_queued_sentences`,
    /// [`QueueError::Closed`] after [`WorkQueue::close`].
    pub fn submit(&self, job: Arc<Job>) -> Result<(), QueueError> {
        let mut st = self.lock();
        if st.closed {
            return Err(QueueError::Closed);
        }
        let limit = self.policy.max_queued_sentences;
        if st.queued + job.len() > limit {
            return Err(QueueError::Full {
                queued: st.queued,
                limit,
            });
        }
        if job.len() == 0 {
            return Ok(()); // answered when it was made
        }
        st.queued += job.len();
        st.queued_tokens += job.lengths.iter().sum::<usize>();
        st.pending.push_back(Pending { job, next: 0 });
        drop(st);
        self.wake.notify_one();
        Ok(())
    }

    /// Removes what is still queued of the job `id` (its client went away, or timed out);
    /// sentences already in a running batch are finished and dropped.
    pub fn cancel(&self, id: u64) {
        let mut st = self.lock();
        if let Some(pos) = st.pending.iter().position(|p| p.job.id == id) {
            let p = st.pending.remove(pos).expect("position is in range");
            st.queued -= p.remaining();
            st.queued_tokens -= p.remaining_tokens();
        }
    }

    /// Sentences admitted and not yet in a batch.
    pub fn depth(&self) -> usize {
        self.lock().queued
    }

    /// Refuses new requests; [`WorkQueue::next_batch`] drains what is queued without waiting
    /// for the delay, then returns `None`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_all();
    }

    /// Blocks until a batch is due and returns it: sentences of jobs with equal options,
    /// taken round-robin, within `max_batch_sentences` and `max_batch_tokens`. `None` once the
    /// queue is closed and empty.
    pub fn next_batch(&self) -> Option<Vec<BatchItem>> {
        let mut st = self.lock();
        loop {
            let Some(oldest) = st.pending.iter().map(|p| p.job.admitted).min() else {
                if st.closed {
                    return None;
                }
                st = self.wake.wait(st).unwrap_or_else(|p| p.into_inner());
                continue;
            };
            let full = st.queued >= self.policy.max_batch_sentences
                || st.queued_tokens >= self.policy.max_batch_tokens;
            let due = oldest + self.policy.batch_delay;
            let now = Instant::now();
            if full || st.closed || now >= due {
                return Some(self.take_batch(&mut st));
            }
            st = self
                .wake
                .wait_timeout(st, due - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Fills one batch round-robin from the pending jobs whose options equal the first one's.
    /// A job that gave sentences moves behind the others; a job that gave none (other
    /// options, or the batch was already full) keeps its place.
    fn take_batch(&self, st: &mut State) -> Vec<BatchItem> {
        let options = st.pending[0].job.options;
        let mut batch: Vec<BatchItem> = Vec::new();
        let mut widest = 0;
        let mut full = false;
        loop {
            let before = batch.len();
            let (mut skipped, mut served) = (VecDeque::new(), VecDeque::new());
            while let Some(mut p) = st.pending.pop_front() {
                let mut taken = 0;
                if p.job.options == options {
                    (taken, full) = self.take_from(&mut p, &mut batch, &mut widest, st);
                }
                if taken == 0 {
                    skipped.push_back(p);
                } else if p.remaining() > 0 {
                    served.push_back(p);
                }
                if full {
                    break;
                }
            }
            let rest = std::mem::take(&mut st.pending);
            st.pending = skipped.into_iter().chain(rest).chain(served).collect();
            if full || batch.len() == before {
                break;
            }
        }
        batch
    }

    /// Moves up to `chunk_sentences` sentences of `p` into `batch` within the batch limits;
    /// returns how many, and whether the batch is full.
    fn take_from(
        &self,
        p: &mut Pending,
        batch: &mut Vec<BatchItem>,
        widest: &mut usize,
        st: &mut State,
    ) -> (usize, bool) {
        let policy = &self.policy;
        let mut taken = 0;
        while taken < policy.chunk_sentences.max(1) {
            let Some(&len) = p.job.lengths.get(p.next) else {
                return (taken, false);
            };
            let wider = (*widest).max(len);
            if !batch.is_empty()
                && (batch.len() == policy.max_batch_sentences
                    || (batch.len() + 1) * wider > policy.max_batch_tokens)
            {
                return (taken, true);
            }
            batch.push((p.job.clone(), p.next));
            p.next += 1;
            st.queued -= 1;
            st.queued_tokens -= len;
            *widest = wider;
            taken += 1;
        }
        (taken, false)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::TranslateOptions;
    use std::time::Duration;

    fn job(id: u64, n: usize, beam: usize) -> Arc<Job> {
        let mut opts = TranslateOptions::greedy(1.5, 4000);
        opts.beam_size = beam;
        let sources = (0..n)
            .map(|i| crate::decode::PreparedSource {
                text: format!("{id}.{i}"),
                ids: vec![4, 5],
                truncation: None,
            })
            .collect();
        Arc::new(Job::new(id, sources, opts).0)
    }

    fn policy() -> BatchPolicy {
        BatchPolicy {
            max_batch_tokens: 1000,
            max_batch_sentences: 6,
            batch_delay: Duration::ZERO,
            max_queued_sentences: 20,
            chunk_sentences: 2,
        }
    }

    fn ids(batch: &[BatchItem]) -> Vec<(u64, usize)> {
        batch.iter().map(|(j, i)| (j.id, *i)).collect()
    }

    #[test]
    fn batches_are_filled_round_robin_so_a_short_request_is_not_starved() {
        let q = WorkQueue::new(policy());
        q.submit(job(1, 10, 1)).unwrap();
        q.submit(job(2, 1, 1)).unwrap();
        let b = q.next_batch().unwrap();
        assert_eq!(ids(&b), [(1, 0), (1, 1), (2, 0), (1, 2), (1, 3), (1, 4)]);
        assert_eq!(q.depth(), 5);
        assert_eq!(
            ids(&q.next_batch().unwrap()),
            [(1, 5), (1, 6), (1, 7), (1, 8), (1, 9)]
        );
        assert_eq!(q.depth(), 0);
    }

    #[test]
    fn one_sentence_batches_serve_requests_in_arrival_order() {
        // Found by the load test: a request passed over because the batch was full must keep
        // its place, not go behind the requests that arrived after it.
        let q = WorkQueue::new(BatchPolicy {
            max_batch_sentences: 1,
            ..policy()
        });
        for id in 1..=4 {
            q.submit(job(id, 1, 1)).unwrap();
        }
        let order: Vec<u64> = (0..4).map(|_| q.next_batch().unwrap()[0].0.id).collect();
        assert_eq!(order, [1, 2, 3, 4]);
    }

    #[test]
    fn only_jobs_with_equal_options_share_a_batch() {
        let q = WorkQueue::new(policy());
        q.submit(job(1, 1, 1)).unwrap();
        q.submit(job(2, 1, 5)).unwrap();
        q.submit(job(3, 1, 1)).unwrap();
        assert_eq!(ids(&q.next_batch().unwrap()), [(1, 0), (3, 0)]);
        assert_eq!(ids(&q.next_batch().unwrap()), [(2, 0)]);
    }

    #[test]
    fn the_token_budget_counts_padding_like_tolk_translate() {
        let q = WorkQueue::new(BatchPolicy {
            max_batch_tokens: 10,
            ..policy()
        });
        q.submit(job(1, 6, 1)).unwrap(); // 3 tokens each: 3 fit in 10
        assert_eq!(q.next_batch().unwrap().len(), 3);
    }

    #[test]
    fn a_full_queue_refuses_whole_requests_and_cancel_frees_their_places() {
        let q = WorkQueue::new(policy());
        q.submit(job(1, 15, 1)).unwrap();
        assert_eq!(
            q.submit(job(2, 6, 1)),
            Err(QueueError::Full {
                queued: 15,
                limit: 20
            })
        );
        q.cancel(1);
        assert_eq!(q.depth(), 0);
        q.submit(job(2, 6, 1)).unwrap();
        q.close();
        assert_eq!(q.submit(job(3, 1, 1)), Err(QueueError::Closed));
        assert_eq!(q.next_batch().unwrap().len(), 6);
        assert!(q.next_batch().is_none());
    }

    #[test]
    fn a_full_batch_runs_at_once_and_a_partial_one_waits_for_the_delay() {
        let q = WorkQueue::new(BatchPolicy {
            batch_delay: Duration::from_secs(60),
            ..policy()
        });
        q.submit(job(1, 6, 1)).unwrap();
        let t = Instant::now();
        assert_eq!(q.next_batch().unwrap().len(), 6);
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "waited for the delay"
        );
        let q = WorkQueue::new(BatchPolicy {
            batch_delay: Duration::from_millis(200),
            ..policy()
        });
        let j = job(2, 1, 1);
        q.submit(j.clone()).unwrap();
        assert_eq!(q.next_batch().unwrap().len(), 1);
        assert!(j.admitted.elapsed() >= Duration::from_millis(200));
    }
}
