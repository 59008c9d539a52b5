//! Inline tag placement: where each inline element of a run goes in the
//! translation, from the word alignment (the approach of Bergamot).
//!
//! * An element covering source bytes `S` covers the smallest target range
//!   that holds every target range linked to a source range overlapping `S`.
//! * An element with no linked word, or no text at all (`<img>`, `<span></span>`,
//!   a comment, an untranslatable `<code>`), becomes a position: inside a
//!   copied token (same text in source and target), at the same offset; else
//!   right after the target of the closest linked source word before it (or
//!   around it), after the space there if it followed a space; else right
//!   before the target of the closest linked word after it; else the start.
//! * A child is clamped into its parent's range, so nesting is kept.
//! * A sibling crossing earlier siblings is shrunk to the largest part of it
//!   they leave free (the later part on a tie); a position inside an earlier
//!   sibling moves to its end; a range left no free part becomes such a position.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::align::Alignment;
use super::run::{is_space, Run};

/// The target range of each item of `run` (an empty range is a position).
pub(super) fn place(run: &Run, alignment: &Alignment<'_>) -> Vec<Range<usize>> {
    let mut placed: Vec<Range<usize>> = run
        .items
        .iter()
        .map(|item| wanted(run, alignment, &item.span, item.leaf))
        .collect();
    let lists = run.child_lists();
    let whole = 0..alignment.target().len();
    if let Some(top) = lists.last() {
        fit(&mut placed, top, &whole);
    }
    for (index, list) in lists.iter().enumerate().take(run.items.len()) {
        let parent = placed[index].clone();
        fit(&mut placed, list, &parent);
    }
    placed
}

/// Where an item would go on its own, from the alignment alone.
fn wanted(run: &Run, alignment: &Alignment<'_>, span: &Range<usize>, leaf: bool) -> Range<usize> {
    let covered = if leaf {
        None
    } else {
        alignment.target_of(span)
    };
    covered.unwrap_or_else(|| {
        let at = position(run, alignment, span);
        at..at
    })
}

/// The target position of an item with no linked word, from its neighbours.
fn position(run: &Run, alignment: &Alignment<'_>, span: &Range<usize>) -> usize {
    if let Some(at) = alignment.inside_copy(span.start) {
        return at;
    }
    let target = alignment.target();
    // A word the item stands inside counts as before it.
    let started = run.words.partition_point(|w| w.start < span.start);
    let before = (0..started).rev().find_map(|i| alignment.word_target(i));
    if let Some(linked) = before {
        let after_space = run.text.get(..span.start).is_some_and(|s| s.ends_with(' '));
        return if after_space {
            skip_spaces(target, linked.end)
        } else {
            linked.end
        };
    }
    let ended = run.words.partition_point(|w| w.start < span.end);
    let after = (ended..run.words.len()).find_map(|i| alignment.word_target(i));
    after.map_or(0, |linked| linked.start)
}

/// The first position at or after `at` that does not precede a space.
fn skip_spaces(text: &str, at: usize) -> usize {
    let rest = text.get(at..).unwrap_or("");
    let spaces = rest.len() - rest.trim_start_matches(is_space).len();
    at + spaces
}

/// Clamps the items of `group` (siblings, in source order) into `parent`
/// and keeps each out of the earlier ones.
fn fit(placed: &mut [Range<usize>], group: &[usize], parent: &Range<usize>) {
    let mut taken = Taken::default();
    for &item in group {
        let range = &placed[item];
        let clamped =
            range.start.clamp(parent.start, parent.end)..range.end.clamp(parent.start, parent.end);
        placed[item] = taken.free_part(clamped);
        taken.insert(&placed[item]);
    }
}

/// The places of earlier siblings: disjoint ranges (by start) and positions.
#[derive(Default)]
struct Taken {
    ranges: BTreeMap<usize, usize>,
    points: BTreeSet<usize>,
}

impl Taken {
    fn insert(&mut self, range: &Range<usize>) {
        if range.is_empty() {
            self.points.insert(range.start);
        } else {
            self.ranges.insert(range.start, range.end);
        }
    }

    /// The largest part of `range` that crosses no earlier sibling (the later
    /// one on a tie); a position is moved out of a range holding it. A range
    /// with no free part becomes the end of the range holding its start.
    fn free_part(&self, range: Range<usize>) -> Range<usize> {
        let holder = self.ranges.range(..=range.start).next_back();
        let holder_end = holder.map(|(_, &end)| end).filter(|&end| end > range.start);
        if range.is_empty() {
            let at = match holder {
                Some((&start, &end)) if start < range.start && range.start < end => end,
                _ => range.start,
            };
            return at..at;
        }
        let mut best = holder_end.unwrap_or(range.start)..holder_end.unwrap_or(range.start);
        let mut cursor = range.start;
        for blocked in self.blocked(&range) {
            if blocked.start.saturating_sub(cursor) >= best.len() && blocked.start > cursor {
                best = cursor..blocked.start;
            }
            cursor = cursor.max(blocked.end);
        }
        if range.end > cursor && range.end - cursor >= best.len() {
            best = cursor..range.end;
        }
        best
    }

    /// Earlier ranges overlapping `range` and positions strictly inside it, in order.
    fn blocked(&self, range: &Range<usize>) -> Vec<Range<usize>> {
        let ranges = self.ranges.range(..range.end).rev();
        let mut blocked: Vec<Range<usize>> = ranges
            .take_while(|(_, &end)| end > range.start)
            .map(|(&start, &end)| start..end)
            .collect();
        let inside = (range.start + 1)..range.end;
        blocked.extend(self.points.range(inside).map(|&at| at..at));
        blocked.sort_by_key(|r| (r.start, r.end));
        blocked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_siblings_shrink_the_later_one() {
        let separate = |range: Range<usize>, earlier: &[(usize, usize)]| {
            let mut taken = Taken::default();
            earlier
                .iter()
                .for_each(|&(start, end)| taken.insert(&(start..end)));
            taken.free_part(range)
        };
        assert_eq!(separate(2..8, &[(0, 4)]), 4..8);
        assert_eq!(separate(0..6, &[(4, 9)]), 0..4);
        assert_eq!(separate(3..4, &[(0, 9)]), 9..9);
        assert_eq!(separate(5..5, &[(0, 9)]), 9..9);
        assert_eq!(separate(0..5, &[(0, 0)]), 0..5);
        assert_eq!(separate(0..9, &[(2, 2)]), 2..9);
        assert_eq!(separate(0..9, &[(0, 4), (4, 6)]), 6..9);
        assert_eq!(separate(2..6, &[(0, 4), (4, 9)]), 4..4);
        assert_eq!(separate(0..9, &[(1, 2), (5, 5)]), 5..9);
    }

    #[test]
    fn positions_skip_spaces() {
        assert_eq!(skip_spaces("ab  c", 2), 4);
        assert_eq!(skip_spaces("ab", 7), 7);
    }
}
