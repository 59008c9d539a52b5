//! Attention heatmaps like Figure 3 of Bahdanau et al. (2015): source tokens along the x
//! axis (labels on top, rotated to read upwards), target tokens down the y axis, one square
//! cell per weight α\[j\]\[i\] in grayscale (white = 0, black = 1).
//!
//! Input is one line of `tolk translate --alignments` output ([`read_alignment`]); the `▁`
//! word-start marker of subword pieces is removed from the labels ([`display_label`]).

use std::path::Path;

use anyhow::Context;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{plot_err, render_figure, Figure};
use crate::decode::alignment_record::AlignmentRecord;
use crate::decode::AlignmentMatrix;
use crate::subword::META_SPACE;

/// Side of one weight cell, in pixels.
pub const CELL_PX: u32 = 32;
/// Label font size (plotters units: DejaVu Sans at about 15 px per em).
const FONT_SIZE: f64 = 18.0;
/// Space between a label and the grid.
const LABEL_GAP: u32 = 6;
/// Empty border around the figure.
const MARGIN: u32 = 12;
/// Smallest width and height of the image.
pub const MIN_SIDE_PX: u32 = 300;
/// plotters' bitmap text puts the baseline about 2 px below the anchor when centring
/// vertically, so glyphs sit high; the SVG backend centres on the x-height (`dy="0.5ex"`).
/// Pixels to move bitmap labels down (across, for the rotated ones) to look centred.
const BITMAP_TEXT_NUDGE: i32 = 3;

/// A token as shown on an axis: without the leading `▁` word marker (a token that is only
/// markers is kept as it is, so that no label is empty).
pub fn display_label(token: &str) -> &str {
    let stripped = token.trim_start_matches(META_SPACE);
    if stripped.is_empty() {
        token
    } else {
        stripped
    }
}

/// Pixel geometry of a heatmap: image size and where the grid of cells lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// x of the grid's left edge (first source column).
    pub grid_left: u32,
    /// y of the grid's top edge (first target row).
    pub grid_top: u32,
    /// Side of one cell ([`CELL_PX`]).
    pub cell: u32,
    /// Number of columns (source tokens).
    pub cols: usize,
    /// Number of rows (target tokens).
    pub rows: usize,
}

impl Layout {
    /// Pixel at the centre of the cell for target token `row` and source token `col`.
    pub fn cell_center(&self, row: usize, col: usize) -> (u32, u32) {
        (
            self.grid_left + col as u32 * self.cell + self.cell / 2,
            self.grid_top + row as u32 * self.cell + self.cell / 2,
        )
    }
}

fn label_font() -> FontDesc<'static> {
    (FontFamily::SansSerif, FONT_SIZE).into_font()
}

/// Widest label in pixels (0 for none).
fn max_label_width(labels: &[String]) -> anyhow::Result<u32> {
    let font = label_font();
    labels.iter().try_fold(0u32, |acc, l| {
        let (w, _) = font.box_size(l).map_err(plot_err)?;
        Ok(acc.max(w))
    })
}

/// Checks that `matrix` is a non-empty `[tgt_len][src_len]` matrix.
fn validate(matrix: &AlignmentMatrix) -> anyhow::Result<()> {
    let (rows, cols) = (matrix.tgt_tokens.len(), matrix.src_tokens.len());
    anyhow::ensure!(
        rows > 0 && cols > 0,
        "empty alignment matrix ({rows} target x {cols} source tokens)"
    );
    anyhow::ensure!(
        matrix.weights.len() == rows,
        "alignment matrix has {} weight rows for {rows} target tokens",
        matrix.weights.len()
    );
    if let Some((j, row)) = matrix
        .weights
        .iter()
        .enumerate()
        .find(|(_, r)| r.len() != cols)
    {
        anyhow::bail!(
            "alignment matrix row {j} has {} weights for {cols} source tokens",
            row.len()
        );
    }
    Ok(())
}

/// The layout [`render`] uses for `matrix`: [`CELL_PX`] per cell, room for the longest
/// labels, at least [`MIN_SIDE_PX`] wide and high (extra space goes right and below).
pub fn layout(matrix: &AlignmentMatrix) -> anyhow::Result<Layout> {
    super::ensure_font()?;
    validate(matrix)?;
    let labels =
        |t: &[String]| -> Vec<String> { t.iter().map(|s| display_label(s).to_string()).collect() };
    let src_w = max_label_width(&labels(&matrix.src_tokens))?;
    let tgt_w = max_label_width(&labels(&matrix.tgt_tokens))?;
    let (rows, cols) = (matrix.tgt_tokens.len(), matrix.src_tokens.len());
    let grid_left = MARGIN + tgt_w + LABEL_GAP;
    let grid_top = MARGIN + src_w + LABEL_GAP;
    Ok(Layout {
        width: (grid_left + cols as u32 * CELL_PX + MARGIN).max(MIN_SIDE_PX),
        height: (grid_top + rows as u32 * CELL_PX + MARGIN).max(MIN_SIDE_PX),
        grid_left,
        grid_top,
        cell: CELL_PX,
        cols,
        rows,
    })
}

/// Gray level of a weight: 255 (white) at 0, 0 (black) at 1; clamped, non-finite = 0.
pub fn gray_level(weight: f32) -> u8 {
    let w = if weight.is_finite() {
        weight.clamp(0.0, 1.0)
    } else {
        0.0
    };
    (255.0 * (1.0 - w)).round() as u8
}

struct Heatmap<'a> {
    matrix: &'a AlignmentMatrix,
    layout: Layout,
    /// Offset of label anchors perpendicular to the text ([`BITMAP_TEXT_NUDGE`] or 0).
    text_nudge: i32,
}

impl Figure for Heatmap<'_> {
    fn size(&self) -> (u32, u32) {
        (self.layout.width, self.layout.height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let l = self.layout;
        let (left, top, cell) = (l.grid_left as i32, l.grid_top as i32, l.cell as i32);
        root.fill(&WHITE).map_err(plot_err)?;
        for (j, row) in self.matrix.weights.iter().enumerate() {
            for (i, &w) in row.iter().enumerate() {
                let g = gray_level(w);
                let (x0, y0) = (left + i as i32 * cell, top + j as i32 * cell);
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cell, y0 + cell)],
                    RGBColor(g, g, g).filled(),
                ))
                .map_err(plot_err)?;
            }
        }
        // A thin frame so that white cells at the edges stay visible.
        let (right, bottom) = (left + l.cols as i32 * cell, top + l.rows as i32 * cell);
        root.draw(&PathElement::new(
            vec![
                (left, top),
                (right, top),
                (right, bottom),
                (left, bottom),
                (left, top),
            ],
            RGBColor(128, 128, 128).stroke_width(1),
        ))
        .map_err(plot_err)?;

        let font = label_font();
        let tgt_style = TextStyle::from(font.clone())
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        for (j, token) in self.matrix.tgt_tokens.iter().enumerate() {
            let y = top + j as i32 * cell + cell / 2 + self.text_nudge;
            root.draw(&Text::new(
                display_label(token),
                (left - LABEL_GAP as i32, y),
                tgt_style.clone(),
            ))
            .map_err(plot_err)?;
        }
        // Source labels read bottom-to-top, starting just above their column.
        let src_style = TextStyle::from(font)
            .color(&BLACK)
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (i, token) in self.matrix.src_tokens.iter().enumerate() {
            let x = left + i as i32 * cell + cell / 2 + self.text_nudge;
            root.draw(&Text::new(
                display_label(token),
                (x, top - LABEL_GAP as i32),
                src_style.clone(),
            ))
            .map_err(plot_err)?;
        }
        Ok(())
    }
}

/// Draws the attention heatmap of `matrix` to `out` (`.png` or `.svg`; any other extension
/// is an error naming the path).
pub fn render(matrix: &AlignmentMatrix, out: &Path) -> anyhow::Result<()> {
    let text_nudge = match super::OutputFormat::from_path(out)? {
        super::OutputFormat::Png => BITMAP_TEXT_NUDGE,
        super::OutputFormat::Svg => 0,
    };
    let layout = layout(matrix)?;
    render_figure(
        &Heatmap {
            matrix,
            layout,
            text_nudge,
        },
        out,
    )
}

/// The attention matrix of the `index`-th (0-based) record of a `tolk translate
/// --alignments` file ([`AlignmentRecord::read_nth`]), checked for a consistent shape.
pub fn read_alignment(path: &Path, index: usize) -> anyhow::Result<AlignmentMatrix> {
    let record = AlignmentRecord::read_nth(path, index)?;
    let matrix = record.matrix();
    validate(&matrix).with_context(|| format!("{} (record {index})", path.display()))?;
    Ok(matrix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(src: &[&str], tgt: &[&str], weights: Vec<Vec<f32>>) -> AlignmentMatrix {
        AlignmentMatrix {
            src_tokens: src.iter().map(|s| s.to_string()).collect(),
            tgt_tokens: tgt.iter().map(|s| s.to_string()).collect(),
            weights,
        }
    }

    #[test]
    fn labels_lose_the_word_marker() {
        assert_eq!(display_label("▁Mädchen"), "Mädchen");
        assert_eq!(display_label("chen"), "chen");
        assert_eq!(display_label("</s>"), "</s>");
        assert_eq!(display_label("▁"), "▁");
    }

    #[test]
    fn gray_levels() {
        assert_eq!(gray_level(0.0), 255);
        assert_eq!(gray_level(1.0), 0);
        assert_eq!(gray_level(0.5), 128);
        assert_eq!(gray_level(2.0), 0);
        assert_eq!(gray_level(-1.0), 255);
        assert_eq!(gray_level(f32::NAN), 255);
    }

    #[test]
    fn layout_grows_with_tokens_and_labels() {
        let small = matrix(&["a"], &["b"], vec![vec![1.0]]);
        let l = layout(&small).unwrap();
        assert_eq!((l.width, l.height), (MIN_SIDE_PX, MIN_SIDE_PX));
        let n = 20;
        let long: Vec<&str> = vec!["▁Donaudampfschifffahrt"; n];
        let big = matrix(&long, &long, vec![vec![0.0; n]; n]);
        let l = layout(&big).unwrap();
        assert!(l.grid_left > 150 && l.grid_top > 150, "{l:?}");
        assert_eq!(l.width, l.grid_left + n as u32 * CELL_PX + MARGIN);
        assert_eq!(l.height, l.grid_top + n as u32 * CELL_PX + MARGIN);
        assert_eq!(l.cell_center(1, 2), (l.grid_left + 80, l.grid_top + 48));
    }

    #[test]
    fn ragged_matrices_are_rejected() {
        let m = matrix(&["a", "b"], &["c"], vec![vec![1.0]]);
        assert!(layout(&m).unwrap_err().to_string().contains("row 0"));
        let m = matrix(&["a"], &["c", "d"], vec![vec![1.0]]);
        assert!(layout(&m).is_err());
        let m = matrix(&[], &[], vec![]);
        assert!(layout(&m).is_err());
    }
}
