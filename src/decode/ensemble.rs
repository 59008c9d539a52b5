//! Ensembles: several models searched as one (as Marian, OpenNMT-py and fairseq do). Each
//! member keeps its own encoder memory and decoder state; at every step the scores are the
//! mean of the members' log-probabilities, and the attention the mean of their attention.

use tch::{Kind, Tensor};

use super::step_model::{Step, StepModel};

/// The members of an ensemble, searched through [`StepModel`]. One member passes its scores
/// through unchanged, so an ensemble of one searches exactly as that model does.
#[derive(Debug)]
pub struct Ensemble<M> {
    members: Vec<M>,
}

impl<M> Ensemble<M> {
    /// An ensemble of `members` (at least one; all over the same target vocabulary, which the
    /// caller checks, see [`crate::decode::Translator::load_ensemble`]).
    ///
    /// # Panics
    /// With no member.
    pub fn new(members: Vec<M>) -> Self {
        assert!(!members.is_empty(), "an ensemble needs at least one model");
        Self { members }
    }

    /// The members.
    pub fn members(&self) -> &[M] {
        &self.members
    }
}

impl<M: StepModel> StepModel for Ensemble<M> {
    type State = Vec<M::State>;

    fn start(
        &self,
        src: &Tensor,
        lengths: &Tensor,
        copies: usize,
        shortlist: Option<&[i64]>,
    ) -> Self::State {
        self.members
            .iter()
            .map(|m| m.start(src, lengths, copies, shortlist))
            .collect()
    }

    /// Scores `[R, C]`: the mean over members of log_softmax(member scores), which search
    /// renormalises (a renormalised geometric mean of the members' distributions).
    fn step(&self, state: &Self::State, prev: &Tensor) -> Step<Self::State> {
        let steps: Vec<Step<M::State>> = self
            .members
            .iter()
            .zip(state)
            .map(|(m, s)| m.step(s, prev))
            .collect();
        if steps.len() == 1 {
            let step = steps.into_iter().next().expect("one member");
            return Step {
                scores: step.scores,
                attention: step.attention,
                state: vec![step.state],
            };
        }
        let n = steps.len() as f64;
        let mut scores = steps[0].scores.log_softmax(-1, Kind::Float);
        let mut attention = steps[0].attention.copy();
        for s in &steps[1..] {
            scores += s.scores.log_softmax(-1, Kind::Float);
            attention += &s.attention;
        }
        Step {
            scores: scores / n,
            attention: attention / n,
            state: steps.into_iter().map(|s| s.state).collect(),
        }
    }

    fn reorder(&self, state: &Self::State, rows: &Tensor) -> Self::State {
        self.members
            .iter()
            .zip(state)
            .map(|(m, s)| m.reorder(s, rows))
            .collect()
    }
}
