//! `tolk plot`: attention heatmaps and learning curves rendered to PNG and SVG.

use std::path::{Path, PathBuf};
use std::process::Command;

use tolk::decode::AlignmentMatrix;
use tolk::plot::{curves, heatmap};

/// A 3-word German sentence and its translation with `</s>` on both sides; labels carry the
/// `▁` word marker as subword output does.
fn sample() -> AlignmentMatrix {
    let s = |v: &[&str]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    AlignmentMatrix {
        src_tokens: s(&["▁Das", "▁Mädchen", "▁läuft", "▁„", "süß", "“", "</s>"]),
        tgt_tokens: s(&["▁The", "▁girl", "▁runs", "▁“sweet”", "</s>"]),
        weights: vec![
            vec![0.70, 0.10, 0.05, 0.05, 0.04, 0.03, 0.03],
            vec![0.02, 0.95, 0.01, 0.00, 0.01, 0.00, 0.01],
            vec![0.05, 0.15, 0.60, 0.05, 0.05, 0.05, 0.05],
            vec![0.00, 0.00, 0.05, 0.20, 0.50, 0.20, 0.05],
            vec![0.10, 0.00, 0.10, 0.00, 0.00, 0.30, 0.50],
        ],
    }
}

const METRICS: &str = "\
step,epoch,train_loss,valid_loss,valid_ppl,valid_bleu,valid_chrf,learning_rate,elapsed_s,target_tokens,train_tokens_per_s
500,1,4.97333,3.04875,21.0890,18.91,40.87,1.000e-3,480.2,808718,1684.1
1000,2,3.80000,2.60000,13.4637,25.10,48.20,1.000e-3,960.0,1617436,1690.0
1500,3,3.40000,2.45000,11.5883,28.40,51.00,5.000e-4,1440.0,2426154,1688.2
";

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn heatmap_png_has_layout_size_and_gray_cells() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("heat.png");
    let m = sample();
    heatmap::render(&m, &out).unwrap();
    let layout = heatmap::layout(&m).unwrap();

    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (layout.width, layout.height));
    // One cell per weight fits inside the image, after room for the labels.
    assert!(layout.grid_left > 40 && layout.grid_top > 40, "{layout:?}");
    assert!(layout.width >= layout.grid_left + 7 * layout.cell);
    assert!(layout.height >= layout.grid_top + 5 * layout.cell);
    assert!(layout.width >= heatmap::MIN_SIDE_PX && layout.height >= heatmap::MIN_SIDE_PX);

    // Every cell centre is gray with level 255 * (1 - weight).
    let mut darkest = (u8::MAX, 0, 0);
    for (j, row) in m.weights.iter().enumerate() {
        for (i, &w) in row.iter().enumerate() {
            let (x, y) = layout.cell_center(j, i);
            let px = img.get_pixel(x, y).0;
            let expect = heatmap::gray_level(w);
            assert_eq!(px, [expect; 3], "cell (tgt {j}, src {i}) weight {w}");
            if px[0] < darkest.0 {
                darkest = (px[0], j, i);
            }
        }
    }
    // The darkest cell is the largest weight (girl <- Mädchen, 0.95), drawn nearly black.
    assert_eq!((darkest.1, darkest.2), (1, 1));
    assert!(darkest.0 < 20, "{darkest:?}");

    // Labels were drawn: dark pixels left of the grid (target) and above it (source).
    let dark_in = |x0: u32, y0: u32, x1: u32, y1: u32| {
        (x0..x1)
            .flat_map(|x| (y0..y1).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 160)
            .count()
    };
    let grid_bottom = layout.grid_top + 5 * layout.cell;
    let grid_right = layout.grid_left + 7 * layout.cell;
    assert!(dark_in(0, layout.grid_top, layout.grid_left - 2, grid_bottom) > 100);
    assert!(dark_in(layout.grid_left, 0, grid_right, layout.grid_top - 2) > 100);
    // Each source column has its own label above it (`„` and `“` are only a few pixels).
    for i in 0..7 {
        let x0 = layout.grid_left + i * layout.cell;
        assert!(
            dark_in(x0, 0, x0 + layout.cell, layout.grid_top - 2) > 3,
            "no label above column {i}"
        );
    }
}

#[test]
fn heatmap_svg_has_labels_and_one_rect_per_weight() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("heat.svg");
    let m = sample();
    heatmap::render(&m, &out).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    for label in ["Mädchen", "läuft", "süß", "„", "“sweet”", "&lt;/s&gt;"] {
        assert!(svg.contains(label), "label {label} missing");
    }
    assert!(!svg.contains('▁'), "word marker shown in a label");
    // Cells are the only CELL_PX x CELL_PX rectangles; one per weight.
    let cell = heatmap::CELL_PX;
    let cell_rect = format!(r#"width="{cell}" height="{cell}""#);
    assert_eq!(count(&svg, &cell_rect), 7 * 5);
    // The 0.95 cell is the darkest fill; a zero weight is white.
    assert_eq!(count(&svg, r##"fill="#0D0D0D""##), 1, "0.95 -> 13 = #0D");
    assert!(svg.contains(r##"fill="#FFFFFF""##));
}

#[test]
fn heatmap_rejects_other_extensions_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["heat.jpg", "heat"] {
        let out = dir.path().join(name);
        let err = heatmap::render(&sample(), &out).unwrap_err();
        assert!(
            format!("{err:#}").contains(&out.display().to_string()),
            "{err:#}"
        );
        assert!(!out.exists());
    }
    let err = curves::render(Path::new("metrics.csv"), &dir.path().join("c.pdf")).unwrap_err();
    assert!(format!("{err:#}").contains("c.pdf"), "{err:#}");
}

#[test]
fn heatmap_rejects_ragged_weights() {
    let mut m = sample();
    m.weights[2].pop();
    let dir = tempfile::tempdir().unwrap();
    let err = heatmap::render(&m, &dir.path().join("h.png")).unwrap_err();
    assert!(err.to_string().contains("row 2"), "{err:#}");
}

fn write_jsonl(dir: &Path) -> PathBuf {
    let path = dir.join("al.jsonl");
    let m = sample();
    let line = |i: usize, m: &AlignmentMatrix| {
        serde_json::json!({
            "index": i,
            "source": "Das Mädchen läuft „süß“",
            "translation": "The girl runs “sweet”",
            "src_tokens": m.src_tokens,
            "tgt_tokens": m.tgt_tokens,
            "weights": m.weights,
            "pharaoh": "0-0 1-1",
        })
        .to_string()
    };
    let mut small = m.clone();
    small.src_tokens.truncate(2);
    small.tgt_tokens.truncate(1);
    small.weights = vec![vec![0.25, 0.75]];
    std::fs::write(&path, format!("{}\n{}\n", line(0, &small), line(1, &m))).unwrap();
    path
}

#[test]
fn reads_the_nth_alignment_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_jsonl(dir.path());
    assert_eq!(heatmap::read_alignment(&path, 1).unwrap(), sample());
    assert_eq!(
        heatmap::read_alignment(&path, 0).unwrap().weights,
        vec![vec![0.25, 0.75]]
    );
    let err = heatmap::read_alignment(&path, 2).unwrap_err().to_string();
    assert!(
        err.contains("out of range") && err.contains("al.jsonl"),
        "{err}"
    );

    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"src_tokens\": [\"a\"]}\n").unwrap();
    let err = format!("{:#}", heatmap::read_alignment(&bad, 0).unwrap_err());
    assert!(err.contains("bad.jsonl:1"), "{err}");
}

#[test]
fn curves_render_to_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("metrics.csv");
    std::fs::write(&csv, METRICS).unwrap();

    let png = dir.path().join("curves.png");
    curves::render(&csv, &png).unwrap();
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), curves::SIZE);
    // Both panels drew coloured series, not just a blank white canvas.
    let coloured = |y0: u32, y1: u32| {
        img.enumerate_pixels()
            .filter(|(_, y, p)| (y0..y1).contains(y) && (p.0[0] != p.0[1] || p.0[1] != p.0[2]))
            .count()
    };
    let half = curves::SIZE.1 / 2;
    assert!(coloured(0, half) > 200, "loss panel has no curves");
    assert!(
        coloured(half, curves::SIZE.1) > 200,
        "score panel has no curves"
    );

    let svg_path = dir.path().join("curves.svg");
    curves::render(&csv, &svg_path).unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    for text in [
        "BLEU",
        "chrF",
        "train loss",
        "validation loss",
        "11.59",
        "update step",
    ] {
        assert!(svg.contains(text), "{text} missing from the SVG");
    }
}

#[test]
fn malformed_metrics_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("metrics.csv");
    let out = dir.path().join("curves.png");
    let broken = METRICS.replace("1000,2,3.80000", "1000,2,3.8oooo");
    std::fs::write(&csv, broken).unwrap();
    let err = format!("{:#}", curves::render(&csv, &out).unwrap_err());
    assert!(err.contains("metrics.csv:3"), "{err}");
    assert!(
        err.contains("train_loss") && err.contains("3.8oooo"),
        "{err}"
    );
    assert!(!out.exists());

    let short = METRICS.replace(",1690.0\n", "\n");
    std::fs::write(&csv, short).unwrap();
    let err = format!("{:#}", curves::render(&csv, &out).unwrap_err());
    assert!(
        err.contains("metrics.csv:3") && err.contains("found 10"),
        "{err}"
    );

    let err = format!(
        "{:#}",
        curves::render(&dir.path().join("missing.csv"), &out).unwrap_err()
    );
    assert!(err.contains("missing.csv"), "{err}");
}

#[test]
fn cli_plots_heatmaps_and_curves() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = write_jsonl(dir.path());
    let csv = dir.path().join("metrics.csv");
    std::fs::write(&csv, METRICS).unwrap();
    let tolk = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tolk"));
        c.arg("plot").env("RUST_LOG", "warn");
        c
    };

    let heat = dir.path().join("heat.svg");
    let st = tolk()
        .args(["--alignments".as_ref(), jsonl.as_os_str()])
        .args(["--index", "1", "--out"])
        .arg(&heat)
        .status()
        .unwrap();
    assert!(st.success());
    assert!(std::fs::read_to_string(&heat).unwrap().contains("Mädchen"));

    let curves_png = dir.path().join("curves.png");
    let st = tolk()
        .arg("--metrics")
        .arg(&csv)
        .arg("--out")
        .arg(&curves_png)
        .status()
        .unwrap();
    assert!(st.success());
    assert!(curves_png.exists());

    // Exactly one input; --index only with --alignments.
    let none = tolk().arg("--out").arg(&heat).output().unwrap();
    assert!(!none.status.success());
    let both = tolk()
        .arg("--alignments")
        .arg(&jsonl)
        .arg("--metrics")
        .arg(&csv)
        .arg("--out")
        .arg(&heat)
        .output()
        .unwrap();
    assert!(!both.status.success());
    let index_only = tolk()
        .args(["--metrics".as_ref(), csv.as_os_str()])
        .args(["--index", "1", "--out"])
        .arg(&curves_png)
        .output()
        .unwrap();
    assert!(!index_only.status.success());
}

/// `plot --by-length` (library): one curve per system, the bucket labels with their sentence
/// counts and the legend in the SVG, the PNG at its size; curves with other buckets refused.
#[test]
fn by_length_curves_render_with_labels_and_refuse_mismatched_buckets() {
    use tolk::metrics::by_length::score_by_length;
    use tolk::plot::by_length::{render, LengthCurve, SIZE};
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let src = s(&["a b c", "a b c d e f g h i j k l", "a"]);
    let refs = s(&[
        "the cat sat on the mat",
        "a dog runs in the park today",
        "hello there my friend",
    ]);
    let hyp_a = s(&[
        "the cat sat on the mat",
        "a dog runs in a park",
        "hello my friend",
    ]);
    let hyp_b = s(&[
        "the cat sat on a mat",
        "a dog runs in the park today",
        "hello there my friend",
    ]);
    let curve = |label: &str, hyp: &[String], edges: &[usize]| LengthCurve {
        label: label.into(),
        buckets: score_by_length(&src, hyp, &refs, edges).unwrap(),
    };
    let curves = [
        curve("none", &hyp_a, &[10]),
        curve("additive", &hyp_b, &[10]),
    ];
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("len.svg");
    render(&curves, &svg).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    for needle in ["0-9 (n=2)", "10+ (n=1)", "none", "additive", "source words"] {
        assert!(text.contains(needle), "{needle} missing");
    }
    let png = dir.path().join("len.png");
    render(&curves, &png).unwrap();
    let img = image::open(&png).unwrap();
    assert_eq!((img.width(), img.height()), SIZE);
    let other = [curves[0].clone(), curve("other", &hyp_b, &[2, 10])];
    let err = render(&other, &png).unwrap_err();
    assert!(err.to_string().contains("other length buckets"), "{err}");
}
