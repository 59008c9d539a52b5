//! Figures with [`plotters`]: attention heatmaps in the style of Bahdanau et al. (2015),
//! Figure 3 ([`heatmap`]), learning curves from a model directory's `metrics.csv`
//! ([`curves`]), and BLEU by source length for several systems, as their Figure 2
//! ([`by_length`]).
//!
//! Both write PNG or SVG, chosen by the output file's extension ([`OutputFormat`]). Text is
//! drawn with DejaVu Sans, bundled in the binary (`assets/fonts/`, licence in
//! `assets/fonts/LICENSE-DejaVu.txt`) and registered with plotters' `ab_glyph` font
//! backend, so labels in any script DejaVu covers (umlauts, ß, „“) render the same on every
//! machine without system fonts or fontconfig. SVG files name the generic `sans-serif`
//! family and leave the glyphs to the viewer.

pub mod by_length;
pub mod curves;
pub mod heatmap;

use std::path::Path;
use std::sync::OnceLock;

use anyhow::Context;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::{
    BitMapBackend, Cartesian2d, ChartContext, Color, DrawingArea, DrawingBackend, FontFamily,
    IntoDrawingArea, LineSeries, PathElement, RGBColor, SVGBackend, SeriesLabelPosition, WHITE,
};
use plotters::style::FontStyle;

/// DejaVu Sans 2.37 (Bitstream Vera licence with DejaVu/Arev additions).
const DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The image format of an output file, from its extension (case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// `.png`: raster image (RGB).
    Png,
    /// `.svg`: vector image; text stays text.
    Svg,
}

impl OutputFormat {
    /// The format for `path`, or an error naming the path unless it ends in `.png` or `.svg`.
    pub fn from_path(path: &Path) -> anyhow::Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("png") => Ok(Self::Png),
            Some("svg") => Ok(Self::Svg),
            _ => anyhow::bail!(
                "cannot plot to {}: the output file must end in .png or .svg",
                path.display()
            ),
        }
    }
}

/// Registers the bundled DejaVu Sans as plotters' `sans-serif` family (once per process).
/// Every figure uses [`plotters::style::FontFamily::SansSerif`].
pub(crate) fn ensure_font() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, DEJAVU_SANS).is_ok()
    });
    anyhow::ensure!(ok, "the bundled DejaVu Sans font could not be parsed");
    Ok(())
}

/// Converts a plotters error (generic over the backend) into an [`anyhow::Error`].
pub(crate) fn plot_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("plotting failed: {e}")
}

/// A figure that can draw itself on any plotters backend.
pub(crate) trait Figure {
    /// Image size in pixels, `(width, height)`.
    fn size(&self) -> (u32, u32);
    /// Draws the whole figure on `root` (already `size()` pixels large).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>;
}

/// Renders `figure` to `out` as PNG or SVG according to the extension.
pub(crate) fn render_figure(figure: &impl Figure, out: &Path) -> anyhow::Result<()> {
    let format = OutputFormat::from_path(out)?;
    ensure_font()?;
    let size = figure.size();
    match format {
        OutputFormat::Png => {
            let root = BitMapBackend::new(out, size).into_drawing_area();
            figure.draw(&root)?;
            root.present().map_err(plot_err)
        }
        OutputFormat::Svg => {
            let root = SVGBackend::new(out, size).into_drawing_area();
            figure.draw(&root)?;
            root.present().map_err(plot_err)
        }
    }
    .with_context(|| format!("writing {}", out.display()))
}

/// The chart of every line figure: f64 axes on both sides.
pub(crate) type LineChart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws one curve of `points` (2-px line, dots of `point_size` px) with its legend entry.
pub(crate) fn draw_curve<DB: DrawingBackend>(
    chart: &mut LineChart<'_, DB>,
    points: impl IntoIterator<Item = (f64, f64)>,
    color: RGBColor,
    label: &str,
    point_size: u32,
) -> anyhow::Result<()> {
    chart
        .draw_series(LineSeries::new(points, color.stroke_width(2)).point_size(point_size))
        .map_err(plot_err)?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2)));
    Ok(())
}

/// Draws the legend of the curves drawn with [`draw_curve`], boxed, at `position`.
pub(crate) fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut LineChart<'a, DB>,
    position: SeriesLabelPosition,
) -> anyhow::Result<()> {
    chart
        .configure_series_labels()
        .label_font((FontFamily::SansSerif, 16))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .position(position)
        .draw()
        .map_err(plot_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extension() {
        assert_eq!(
            OutputFormat::from_path(Path::new("a/b.png")).unwrap(),
            OutputFormat::Png
        );
        assert_eq!(
            OutputFormat::from_path(Path::new("b.SVG")).unwrap(),
            OutputFormat::Svg
        );
        for bad in ["heat.jpg", "heat", "png", "dir.png/heat.pdf"] {
            let err = OutputFormat::from_path(Path::new(bad)).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn bundled_font_registers() {
        ensure_font().unwrap();
        let font =
            plotters::style::IntoFont::into_font((plotters::style::FontFamily::SansSerif, 20.0));
        let (w, h) = font.box_size("Mädchen „ß“").unwrap();
        assert!(w > 50 && h > 5, "{w}x{h}");
    }
}
