//! Translating one list of sentences with several translators at once: each takes a
//! contiguous share of the list on its own thread with its own libtorch threads. Fewer, larger
//! parallel regions than one translator with all threads: on a 2-core VM two 1-thread workers
//! measured 1.7-1.9× faster than one 2-thread worker (bench/NOTES.md). The CLI's `--workers`
//! and the Python binding's `workers` both run through [`translate_in_workers`].

use super::options::TranslateOptions;
use super::step_model::StepModel;
use super::translator::{Translation, Translator};
use crate::error::Error;

/// Translates `sources` with `opts` ([`Translator::translate_with`]) split into contiguous,
/// nearly equal shares, one per translator, each
/// on its own scoped thread with `threads` libtorch intra-op threads (OpenMP's thread count is
/// per calling thread, so the caller's own setting is untouched). The answers come back in
/// input order.
///
/// Errors: the first error of any share ([`Translator::translate_with`]); [`Error::Internal`] when
/// `translators` is empty or a worker panicked.
pub fn translate_in_workers<M, S>(
    translators: &mut [Translator<M>],
    sources: &[S],
    opts: &TranslateOptions,
    threads: usize,
) -> Result<Vec<Vec<Translation>>, Error>
where
    M: StepModel + Send,
    S: AsRef<str> + Sync,
{
    if translators.is_empty() {
        return Err(Error::Internal("no translator to translate with".into()));
    }
    let share = sources.len().div_ceil(translators.len()).max(1);
    std::thread::scope(|scope| {
        let work: Vec<_> = translators
            .iter_mut()
            .zip(sources.chunks(share))
            .map(|(t, part)| {
                scope.spawn(move || {
                    tch::set_num_threads(threads.max(1) as i32);
                    t.translate_with(part, opts)
                })
            })
            .collect();
        let mut out = Vec::with_capacity(sources.len());
        for w in work {
            let part = w
                .join()
                .map_err(|_| Error::Internal("a translation worker panicked".into()))?;
            out.extend(part?);
        }
        Ok(out)
    })
}
