//! BLEU against source sentence length for several systems on one plot, in the style of
//! Bahdanau et al. 2015, Figure 2, from the JSON of `tolk score --by-length --json`.

use std::path::Path;

use anyhow::{ensure, Context};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{draw_curve, draw_legend, plot_err, render_figure, Figure};
use crate::metrics::by_length::LengthBucket;

/// Image size of the figure.
pub const SIZE: (u32, u32) = (900, 560);

/// One system's curve: its name and buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct LengthCurve {
    /// Legend label.
    pub label: String,
    /// Buckets in order of length.
    pub buckets: Vec<LengthBucket>,
}

/// Reads the buckets of one `tolk score --by-length --json` output.
///
/// Errors: unreadable file, not JSON, no `buckets` list (naming the file).
pub fn read_curve(path: &Path, label: &str) -> anyhow::Result<LengthCurve> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not the JSON of `tolk score --by-length --json`",
            path.display()
        )
    })?;
    let buckets: Vec<LengthBucket> = serde_json::from_value(v["buckets"].clone())
        .with_context(|| format!("{}: no \"buckets\" list of --by-length", path.display()))?;
    Ok(LengthCurve {
        label: label.to_string(),
        buckets,
    })
}

struct LengthFigure<'a> {
    curves: &'a [LengthCurve],
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(127, 127, 127),
];

impl Figure for LengthFigure<'_> {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        // Bucket and its sentence count (of the first system: all score the same sources).
        let labels: Vec<String> = self.curves[0]
            .buckets
            .iter()
            .map(|b| format!("{} (n={})", b.label(), b.sentences))
            .collect();
        let n = labels.len() as f64;
        let top = self
            .curves
            .iter()
            .flat_map(|c| c.buckets.iter().filter_map(|b| b.bleu))
            .fold(10.0f64, f64::max);
        let mut chart = ChartBuilder::on(root)
            .caption(
                "BLEU by source sentence length",
                (FontFamily::SansSerif, 24),
            )
            .margin(14)
            .x_label_area_size(52)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5..n - 0.5, 0.0..(top * 1.1).min(105.0))
            .map_err(plot_err)?;
        let label_of = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                labels[i as usize].clone()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_desc("source words")
            .y_desc("BLEU")
            .x_labels(labels.len())
            .x_label_formatter(&label_of)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style((FontFamily::SansSerif, 16))
            .axis_desc_style((FontFamily::SansSerif, 18))
            .light_line_style(RGBColor(246, 246, 246))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(plot_err)?;
        for (k, curve) in self.curves.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let points: Vec<(f64, f64)> = curve
                .buckets
                .iter()
                .enumerate()
                .filter_map(|(i, b)| b.bleu.map(|y| (i as f64, y)))
                .collect();
            draw_curve(&mut chart, points, color, &curve.label, 4)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
        Ok(())
    }
}

/// Draws `curves` (at least one; all with the same buckets) to `out` (`.png` or `.svg`).
///
/// Errors: no curve, curves with different buckets, an output that is not .png/.svg.
pub fn render(curves: &[LengthCurve], out: &Path) -> anyhow::Result<()> {
    super::OutputFormat::from_path(out)?;
    let first = curves.first().context("no system to plot")?;
    for c in &curves[1..] {
        let same = c.buckets.len() == first.buckets.len()
            && c.buckets
                .iter()
                .zip(&first.buckets)
                .all(|(a, b)| a.label() == b.label());
        ensure!(
            same,
            "{} has other length buckets than {}",
            c.label,
            first.label
        );
    }
    render_figure(&LengthFigure { curves }, out)
}
