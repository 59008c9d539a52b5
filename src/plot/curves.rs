//! Learning curves from the `metrics.csv` that training writes into the model directory
//! (one row per validation, see [`crate::artifacts::metrics_log`]): training and validation loss
//! against the update step in one panel, validation BLEU and chrF in another.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{draw_curve, draw_legend, plot_err, render_figure, Figure};
use crate::artifacts::metrics_log::{self, MetricsRow};

/// Image size of the learning-curve figure.
pub const SIZE: (u32, u32) = (960, 760);

/// The columns of `metrics.csv` that are plotted, one entry per validation, sorted by step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curves {
    /// Update step of each validation.
    pub step: Vec<f64>,
    /// Mean (label-smoothed) training loss per target token, nats.
    pub train_loss: Vec<f64>,
    /// Validation NLL per target token, nats.
    pub valid_loss: Vec<f64>,
    /// Validation perplexity (`exp(valid_loss)` when the column is missing).
    pub valid_ppl: Vec<f64>,
    /// Validation BLEU.
    pub valid_bleu: Vec<f64>,
    /// Validation chrF.
    pub valid_chrf: Vec<f64>,
}

/// Reads `metrics.csv` ([`metrics_log::read`]: at least [`metrics_log::REQUIRED_COLUMNS`])
/// and sorts the rows by step. Errors name the file and the 1-based line.
pub fn read_metrics(path: &Path) -> anyhow::Result<Curves> {
    let mut rows = metrics_log::read(path)?;
    anyhow::ensure!(
        !rows.is_empty(),
        "{}: no data rows after the header",
        path.display()
    );
    rows.sort_by_key(|r| r.step);
    let col = |f: fn(&MetricsRow) -> f64| rows.iter().map(f).collect::<Vec<_>>();
    Ok(Curves {
        step: col(|r| r.step as f64),
        train_loss: col(|r| r.train_loss),
        valid_loss: col(|r| r.valid_loss),
        valid_ppl: col(|r| r.valid_ppl),
        valid_bleu: col(|r| r.valid_bleu),
        valid_chrf: col(|r| r.valid_chrf),
    })
}

/// `(step, value)` pairs with finite values (a diverged run may log NaN).
fn points(steps: &[f64], values: &[f64]) -> Vec<(f64, f64)> {
    steps
        .iter()
        .zip(values)
        .filter(|(s, v)| s.is_finite() && v.is_finite())
        .map(|(&s, &v)| (s, v))
        .collect()
}

/// `[lo, hi]` covering every value with 5% headroom; never empty.
fn padded_range<'a>(series: impl IntoIterator<Item = &'a [(f64, f64)]>) -> (f64, f64) {
    let (lo, hi) = series
        .into_iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, v)| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(0.05 * hi.abs().max(1.0));
    (lo - pad, hi + pad)
}

/// Fraction of the plot's width and height that a legend box may cover in its corner.
const LEGEND_EXTENT: (f64, f64) = (0.42, 0.28);

/// The first of `preference` whose corner (a [`LEGEND_EXTENT`] box) no curve passes through,
/// or the first one if every corner is taken. Curves are checked at their points and at
/// points interpolated along each segment; `x` and `y` are the axis ranges.
fn legend_corner(
    curves: &[&[(f64, f64)]],
    x: (f64, f64),
    y: (f64, f64),
    preference: &[SeriesLabelPosition],
) -> SeriesLabelPosition {
    use SeriesLabelPosition::{LowerLeft, LowerRight, UpperLeft, UpperRight};
    let normalised = |(px, py): (f64, f64)| ((px - x.0) / (x.1 - x.0), (py - y.0) / (y.1 - y.0));
    let mut samples = Vec::new();
    for curve in curves {
        samples.extend(curve.iter().map(|&p| normalised(p)));
        for w in curve.windows(2) {
            let (a, b) = (normalised(w[0]), normalised(w[1]));
            samples.extend((1..20).map(|k| {
                let t = f64::from(k) / 20.0;
                (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
            }));
        }
    }
    let (w, h) = LEGEND_EXTENT;
    let free = |pos: &SeriesLabelPosition| {
        let (right, upper) = match pos {
            UpperRight => (true, true),
            LowerRight => (true, false),
            UpperLeft => (false, true),
            LowerLeft => (false, false),
            _ => return false,
        };
        !samples.iter().any(|&(sx, sy)| {
            let in_x = if right { sx >= 1.0 - w } else { sx <= w };
            let in_y = if upper { sy >= 1.0 - h } else { sy <= h };
            in_x && in_y
        })
    };
    preference
        .iter()
        .find(|p| free(p))
        .or(preference.first())
        .cloned()
        .unwrap_or(UpperRight)
}

/// Panel settings besides the data.
struct PanelStyle<'a> {
    caption: &'a str,
    y_desc: &'a str,
    /// Decimals of the y tick labels.
    y_decimals: usize,
    /// Legend corners in order of preference; the first one the curves leave empty wins.
    legend: [SeriesLabelPosition; 4],
}

struct Series<'a> {
    label: String,
    points: &'a [(f64, f64)],
    color: RGBColor,
}

struct CurvesFigure {
    loss: [Vec<(f64, f64)>; 2],
    scores: [Vec<(f64, f64)>; 2],
    max_step: f64,
    last_ppl: Option<f64>,
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    style: PanelStyle,
    (x_max, y_range): (f64, (f64, f64)),
    series: &[Series],
) -> anyhow::Result<()> {
    let mut chart = ChartBuilder::on(area)
        .caption(style.caption, (FontFamily::SansSerif, 24))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..x_max, y_range.0..y_range.1)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("update step")
        .y_desc(style.y_desc)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.*}", style.y_decimals))
        .label_style((FontFamily::SansSerif, 16))
        .axis_desc_style((FontFamily::SansSerif, 18))
        .light_line_style(RGBColor(246, 246, 246))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(plot_err)?;
    for s in series {
        draw_curve(&mut chart, s.points.iter().copied(), s.color, &s.label, 3)?;
    }
    let corner = legend_corner(
        &series.iter().map(|s| s.points).collect::<Vec<_>>(),
        (0.0, x_max),
        y_range,
        &style.legend,
    );
    draw_legend(&mut chart, corner)?;
    Ok(())
}

impl Figure for CurvesFigure {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        use SeriesLabelPosition::{LowerLeft, LowerRight, UpperLeft, UpperRight};
        root.fill(&WHITE).map_err(plot_err)?;
        let (upper, lower) = root.split_vertically(SIZE.1 / 2);
        let blue = RGBColor(31, 119, 180);
        let red = RGBColor(214, 39, 40);
        let caption = match self.last_ppl {
            Some(p) => format!("Loss (last validation perplexity {p:.2})"),
            None => "Loss".to_string(),
        };
        panel(
            &upper,
            PanelStyle {
                caption: &caption,
                y_desc: "nats per target token",
                y_decimals: 1,
                legend: [UpperRight, LowerLeft, LowerRight, UpperLeft],
            },
            (
                self.max_step,
                padded_range(self.loss.iter().map(Vec::as_slice)),
            ),
            &[
                Series {
                    label: "train loss (label-smoothed)".into(),
                    points: &self.loss[0],
                    color: blue,
                },
                Series {
                    label: "validation loss".into(),
                    points: &self.loss[1],
                    color: red,
                },
            ],
        )?;
        let (_, hi) = padded_range(self.scores.iter().map(Vec::as_slice));
        panel(
            &lower,
            PanelStyle {
                caption: "Validation BLEU and chrF",
                y_desc: "score",
                y_decimals: 0,
                legend: [LowerRight, UpperLeft, UpperRight, LowerLeft],
            },
            (self.max_step, (0.0, hi.clamp(1.0, 105.0))),
            &[
                Series {
                    label: "BLEU".into(),
                    points: &self.scores[0],
                    color: blue,
                },
                Series {
                    label: "chrF".into(),
                    points: &self.scores[1],
                    color: red,
                },
            ],
        )
    }
}

/// Draws learning curves from `metrics_csv` to `out` (`.png` or `.svg`; any other
/// extension is an error naming the path). Malformed CSV is an error naming the file and
/// line.
pub fn render(metrics_csv: &Path, out: &Path) -> anyhow::Result<()> {
    super::OutputFormat::from_path(out)?;
    let c = read_metrics(metrics_csv)?;
    let max_step = c
        .step
        .iter()
        .copied()
        .filter(|s| s.is_finite())
        .fold(0.0f64, f64::max);
    let figure = CurvesFigure {
        loss: [
            points(&c.step, &c.train_loss),
            points(&c.step, &c.valid_loss),
        ],
        scores: [
            points(&c.step, &c.valid_bleu),
            points(&c.step, &c.valid_chrf),
        ],
        // Headroom so that the last point is not drawn on the frame.
        max_step: (max_step * 1.04).max(1.0),
        last_ppl: c.valid_ppl.last().copied().filter(|p| p.is_finite()),
    };
    render_figure(&figure, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_and_sorts_rows() {
        let (_d, p) = csv(
            "step,epoch,train_loss,valid_loss,valid_ppl,valid_bleu,valid_chrf\n\
             200,0,4.0,3.0,20.0,10.0,30.0\n\
             100,0,5.0,4.0,54.6,5.0,20.0\n",
        );
        let c = read_metrics(&p).unwrap();
        assert_eq!(c.step, vec![100.0, 200.0]);
        assert_eq!(c.train_loss, vec![5.0, 4.0]);
        assert_eq!(c.valid_ppl, vec![54.6, 20.0]);
        assert_eq!(c.valid_chrf, vec![20.0, 30.0]);
    }

    #[test]
    fn perplexity_defaults_to_exp_loss() {
        let (_d, p) = csv("step,train_loss,valid_loss,valid_bleu,valid_chrf\n1,2,0,3,4\n");
        assert_eq!(read_metrics(&p).unwrap().valid_ppl, vec![1.0]);
    }

    #[test]
    fn errors_name_file_and_line() {
        let (_d, p) =
            csv("step,train_loss,valid_loss,valid_bleu,valid_chrf\n1,2,3,4,5\n1,2,x,4,5\n");
        let e = format!("{:#}", read_metrics(&p).unwrap_err());
        assert!(
            e.contains("metrics.csv:3") && e.contains("valid_loss"),
            "{e}"
        );
        let (_d, p) = csv("step,train_loss,valid_loss,valid_bleu,valid_chrf\n1,2,3\n");
        let e = format!("{:#}", read_metrics(&p).unwrap_err());
        assert!(e.contains("metrics.csv:2") && e.contains("found 3"), "{e}");
        let (_d, p) = csv("step,train_loss,valid_bleu,valid_chrf\n1,2,3,4\n");
        let e = format!("{:#}", read_metrics(&p).unwrap_err());
        assert!(
            e.contains("metrics.csv:1") && e.contains("valid_loss"),
            "{e}"
        );
        let (_d, p) = csv("step,train_loss,valid_loss,valid_bleu,valid_chrf\n");
        assert!(read_metrics(&p)
            .unwrap_err()
            .to_string()
            .contains("no data"));
    }

    #[test]
    fn legend_avoids_the_curves() {
        use SeriesLabelPosition::{LowerLeft, LowerRight, UpperLeft, UpperRight};
        let prefs = [UpperRight, LowerLeft, LowerRight, UpperLeft];
        let (x, y) = ((0.0, 10.0), (0.0, 10.0));
        // A falling curve leaves the upper right free.
        let falling = [(0.0, 9.0), (10.0, 1.0)];
        assert_eq!(legend_corner(&[&falling], x, y, &prefs), UpperRight);
        // A single point in the upper right pushes the legend to the next free corner.
        let point = [(9.5, 9.5)];
        assert_eq!(legend_corner(&[&point], x, y, &prefs), LowerLeft);
        // A segment crossing a corner counts, not only its end points.
        let hook = [(5.0, 9.9), (9.9, 5.0)];
        let diag = [(0.5, 0.5), (9.5, 0.5)];
        assert_eq!(legend_corner(&[&hook, &diag], x, y, &prefs), UpperLeft);
        // Nowhere free: the first preference.
        let all = [(0.1, 0.1), (9.9, 0.1), (0.1, 9.9), (9.9, 9.9)];
        assert_eq!(legend_corner(&[&all], x, y, &prefs), UpperRight);
    }

    #[test]
    fn ranges_are_padded_and_never_empty() {
        assert_eq!(padded_range([&[][..]]), (0.0, 1.0));
        let (lo, hi) = padded_range([&[(0.0, 2.0)][..], &[(1.0, 4.0)][..]]);
        assert!(lo < 2.0 && hi > 4.0);
        let (lo, hi) = padded_range([&[(0.0, 3.0)][..]]);
        assert!(lo < 3.0 && hi > 3.0);
    }
}
