//! The search history: back-pointers from each step's rows to the rows they continue, the
//! token each row appended, and (when asked for) each step's attention rows. Greedy and beam
//! search record into it and read finished hypotheses back from it, so no hypothesis copies
//! its tokens or attention at every step.

use tch::{Kind, Tensor};

/// One step of the history.
#[derive(Debug)]
struct StepRecord {
    /// Attention weights of the step's input rows, flattened `[R_t · S]`.
    attention: Option<Vec<f32>>,
    /// For each output row of the step: the input row it continues and the token it appended.
    survivors: Vec<(usize, i64)>,
}

/// Back-pointer history of one batch search.
#[derive(Debug)]
pub struct SearchTrace {
    steps: Vec<StepRecord>,
    keep_attention: bool,
    src_len: usize,
}

/// Maps columns of the step scores to target token ids.
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    shortlist: Option<&'a [i64]>,
}

impl<'a> Columns<'a> {
    /// Column c is token `shortlist[c]`, or token c when `shortlist` is `None`.
    pub fn new(shortlist: Option<&'a [i64]>) -> Self {
        Self { shortlist }
    }

    /// The token id of each column in `columns` (any shape, int64), flattened.
    pub fn token_ids(&self, columns: &Tensor) -> Vec<i64> {
        let columns = Vec::<i64>::try_from(columns.flatten(0, -1)).expect("int64 columns");
        match self.shortlist {
            Some(ids) => columns.iter().map(|&c| ids[c as usize]).collect(),
            None => columns,
        }
    }
}

impl SearchTrace {
    /// An empty history; `keep_attention` decides whether [`SearchTrace::record_step`] stores
    /// attention rows.
    pub fn new(keep_attention: bool) -> Self {
        Self {
            steps: Vec::new(),
            keep_attention,
            src_len: 0,
        }
    }

    /// Steps recorded so far.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether no step was recorded.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Starts step t with the attention α `[R_t, S]` its input rows computed (copied to the host
    /// only when attention is kept).
    pub fn record_step(&mut self, attention: &Tensor) {
        let attention = self.keep_attention.then(|| {
            self.src_len = attention.size()[1] as usize;
            Vec::<f32>::try_from(attention.to_kind(Kind::Float).flatten(0, -1))
                .expect("f32 attention")
        });
        self.steps.push(StepRecord {
            attention,
            survivors: Vec::new(),
        });
    }

    /// The rows that go on after the current step: `(input row, appended token)` each, in the
    /// order of the next step's input rows.
    pub fn set_survivors(&mut self, survivors: Vec<(usize, i64)>) {
        self.steps
            .last_mut()
            .expect("record_step before set_survivors")
            .survivors = survivors;
    }

    /// The hypothesis that ends at the current step: input row `row` of the current step
    /// followed by `last` (`None`: nothing appended, e.g. EOS). Returns its tokens and, when
    /// attention is kept, one attention row per step it took (the current step included).
    pub fn hypothesis(&self, row: usize, last: Option<i64>) -> (Vec<i64>, Option<Vec<Vec<f32>>>) {
        let t = self.steps.len() - 1;
        let mut tokens = Vec::with_capacity(t + 1);
        let mut attention = self.keep_attention.then(|| Vec::with_capacity(t + 1));
        tokens.extend(last);
        self.push_attention(&mut attention, t, row);
        let mut row = row;
        for step in (0..t).rev() {
            let (parent, token) = self.steps[step].survivors[row];
            tokens.push(token);
            self.push_attention(&mut attention, step, parent);
            row = parent;
        }
        tokens.reverse();
        if let Some(rows) = attention.as_mut() {
            rows.reverse();
        }
        (tokens, attention)
    }

    fn push_attention(&self, out: &mut Option<Vec<Vec<f32>>>, step: usize, row: usize) {
        if let (Some(rows), Some(flat)) = (out.as_mut(), &self.steps[step].attention) {
            let s = self.src_len;
            rows.push(flat[row * s..(row + 1) * s].to_vec());
        }
    }
}
