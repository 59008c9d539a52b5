//! Every search setting is bounded in one place (`TranslateOptions::validate`,
//! `runtime::check_parallelism`): out of bounds is an error naming the setting, at once, in
//! the CLI and in the server alike; never a silent clamp, never a search that exhausts memory.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use common::tolk;
use tolk::serve::{router, AppState, BatchPolicy, Limits, ModelPool, ModelSpec, ServerMetrics};

fn model() -> &'static Path {
    common::barely_trained_model()
}

#[test]
fn out_of_bounds_cli_settings_are_errors_naming_them_before_any_work() {
    for (flags, message) in [
        (
            vec!["--beam", "100000"],
            "beam size 100000 must be between 1 and 256",
        ),
        (vec!["--beam", "0"], "beam size 0 must be between 1 and 256"),
        (vec!["--nbest", "0"], "n-best 0 must be between 1 and 256"),
        (
            vec!["--max-len-ratio", "0"],
            "max length ratio 0.0 must be > 0 and at most 10",
        ),
        (
            vec!["--alpha", "1e308"],
            "length penalty 1e308 must be between 0 and 10",
        ),
        (
            vec!["--threads", "100000"],
            "--threads 100000 must be at most 256 (0 = all cores)",
        ),
        (
            vec!["--workers", "0"],
            "--workers 0 must be between 1 and 64",
        ),
        (
            vec!["--beam", "300", "--max-beam", "200"],
            "beam size 300 must be between 1 and 200",
        ),
    ] {
        let out = tolk()
            .args(["translate", "--model"])
            .arg(model())
            .args(&flags)
            .write_stdin("ein hund\n")
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flags:?} succeeded");
        assert!(err.contains(message), "{flags:?}: {err}");
        assert!(out.stdout.is_empty(), "{flags:?} translated");
    }
    // --max-beam raises the bound for research on search itself.
    tolk()
        .args(["translate", "--model"])
        .arg(model())
        .args(["--beam", "300", "--max-beam", "300", "--threads", "1"])
        .write_stdin("ein hund\n")
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
}

#[tokio::test]
async fn out_of_bounds_request_settings_are_400_naming_them() {
    tch::set_num_threads(1);
    let spec = ModelSpec {
        dir: model().to_path_buf(),
        checkpoint: None,
        device: tch::Device::Cpu,
        overrides: Default::default(),
    };
    let metrics = Arc::new(ServerMetrics::new());
    let pool =
        Arc::new(ModelPool::start(&[spec], BatchPolicy::default(), metrics.clone()).unwrap());
    let app = router(AppState::new(pool, Limits::default(), metrics, &[]).unwrap());
    for (body, message) in [
        (
            r#"{"src": "ein hund", "length_penalty": 1e308}"#,
            "length penalty 1e308 must be between 0 and 10",
        ),
        (
            r#"{"src": "ein hund", "beam_size": 100000}"#,
            "beam size 100000 must be between 1 and 16",
        ),
        (
            r#"{"src": "ein hund", "n_best": 0}"#,
            "n-best 0 must be between 1 and 8",
        ),
    ] {
        let req = Request::post("/v1/translate")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains(message), "{body}: {text}");
    }
}
