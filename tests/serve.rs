//! `tolk serve` on a tiny model trained in the test: both APIs through the router (tower
//! `oneshot`), JSON and form bodies, every error status with its message, batching that gives
//! exactly `tolk translate`'s output, a full queue, a request that gives up, and the real
//! binary shutting down gracefully on SIGTERM with requests in flight.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::tolk;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use tolk::serve::{
    router, Access, AccessPolicy, ApiKeys, AppState, BatchPolicy, CorsOrigins, Limits, ModelPool,
    ModelSpec, ServerMetrics,
};

struct Trained {
    _tmp: tempfile::TempDir,
    model: PathBuf,
    /// Source lines (valid and some training sentences), and `tolk translate`'s output for
    /// them with the model's default beam.
    lines: Vec<String>,
    expected: Vec<String>,
}

/// Trains the tiny config for 60 updates with `tolk train` and translates 40 lines with
/// `tolk translate`, once.
fn trained() -> &'static Trained {
    static MODEL: OnceLock<Trained> = OnceLock::new();
    MODEL.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let model = common::train_tiny_with_cli(&dir, 60, &[]);
        let mut lines: Vec<String> = std::fs::read_to_string(dir.join("valid.de"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        let train = std::fs::read_to_string(dir.join("train.de")).unwrap();
        lines.extend(train.lines().take(20).map(str::to_string));
        let input = dir.join("input.de");
        std::fs::write(&input, lines.join("\n") + "\n").unwrap();
        let out = tolk()
            .args(["translate", "--threads", "1", "--model"])
            .arg(&model)
            .arg("--input")
            .arg(&input)
            .output()
            .unwrap();
        assert!(out.status.success());
        let expected: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(expected.len(), lines.len());
        let distinct: std::collections::HashSet<&String> = expected.iter().collect();
        assert!(
            distinct.len() > lines.len() / 2,
            "the tiny model did not learn: {expected:?}"
        );
        Trained {
            _tmp: tmp,
            model,
            lines,
            expected,
        }
    })
}

/// A router over the tiny model with `policy` and `limits`.
fn app(policy: BatchPolicy, limits: Limits) -> (Router, Arc<ModelPool>) {
    tch::set_num_threads(1);
    let spec = ModelSpec {
        dir: trained().model.clone(),
        checkpoint: None,
        device: tch::Device::Cpu,
        overrides: Default::default(),
    };
    let metrics = Arc::new(ServerMetrics::new());
    let pool = Arc::new(ModelPool::start(&[spec], policy, metrics.clone()).unwrap());
    let state = AppState::new(pool.clone(), limits, metrics, &[]).unwrap();
    (router(state), pool)
}

fn default_app() -> Router {
    app(BatchPolicy::default(), Limits::default()).0
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn error(&self) -> String {
        self.json()["error"].as_str().unwrap().to_string()
    }
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

async fn post(app: &Router, path: &str, content_type: &str, body: impl Into<Body>) -> Reply {
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap();
    send(app, req).await
}

async fn post_json(app: &Router, path: &str, body: Value) -> Reply {
    post(app, path, "application/json", body.to_string()).await
}

async fn get(app: &Router, path: &str) -> Reply {
    send(app, Request::get(path).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn libretranslate_api_answers_json_and_form_bodies_with_strings_or_lists() {
    let t = trained();
    let app = default_app();
    let one = post_json(
        &app,
        "/translate",
        json!({"q": t.lines[0], "source": "de", "target": "en"}),
    )
    .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json(), json!({"translatedText": t.expected[0]}));
    let list = post_json(
        &app,
        "/translate",
        json!({"q": &t.lines[..3], "source": "de", "target": "en"}),
    )
    .await;
    assert_eq!(list.json()["translatedText"], json!(t.expected[..3]));
    let empty = post_json(
        &app,
        "/translate",
        json!({"q": [], "source": "de", "target": "en"}),
    )
    .await;
    assert_eq!(empty.json(), json!({"translatedText": []}));
    // Form body, as LibreTranslate's own web client and many plugins send it; a repeated q is
    // a list.
    let enc = |s: &str| s.replace(' ', "+");
    let form = format!(
        "q={}&q={}&source=de&target=en",
        enc(&t.lines[1]),
        enc(&t.lines[2])
    );
    let reply = post(
        &app,
        "/translate",
        "application/x-www-form-urlencoded",
        form,
    )
    .await;
    assert_eq!(reply.json()["translatedText"], json!(t.expected[1..3]));
    // alternatives: the n-best list after the best.
    let alt = post_json(
        &app,
        "/translate",
        json!({"q": t.lines[0], "source": "auto", "target": "en", "alternatives": 2}),
    )
    .await
    .json();
    assert_eq!(alt["translatedText"], json!(t.expected[0]));
    assert_eq!(alt["alternatives"].as_array().unwrap().len(), 2);
    assert_eq!(alt["detectedLanguage"]["language"], "de");
    let languages = get(&app, "/languages").await.json();
    assert_eq!(
        languages,
        json!([{"code": "de", "name": "German", "targets": ["en"]}])
    );
}

#[tokio::test]
async fn native_api_gives_nbest_scores_tokens_and_alignments() {
    let t = trained();
    let app = default_app();
    let r = post_json(
        &app,
        "/v1/translate",
        json!({"src": &t.lines[..2], "beam_size": 4, "n_best": 3, "alignment": "soft"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = r.json();
    assert_eq!(
        (
            r["model"].as_str(),
            r["source"].as_str(),
            r["target"].as_str()
        ),
        (Some("model"), Some("de"), Some("en"))
    );
    let translations = r["translations"].as_array().unwrap();
    assert_eq!(translations.len(), 2);
    for tr in translations {
        // One sentence per text: the text's n-best list is its sentence's.
        let sentences = tr["sentences"].as_array().unwrap();
        assert_eq!(sentences.len(), 1);
        let hyps = sentences[0]["hypotheses"].as_array().unwrap();
        assert_eq!(hyps.len(), 3);
        let text_hyps = tr["hypotheses"].as_array().unwrap();
        for (t, h) in text_hyps.iter().zip(hyps) {
            assert_eq!((&t["text"], &t["score"]), (&h["text"], &h["score"]));
        }
        let scores: Vec<f64> = hyps.iter().map(|h| h["score"].as_f64().unwrap()).collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "n-best not sorted: {scores:?}"
        );
        for h in hyps {
            let a = &h["alignment"];
            let weights = a["weights"].as_array().unwrap();
            let src = a["src_tokens"].as_array().unwrap();
            assert_eq!(src.last().unwrap(), "</s>");
            // One row per target subword (plus </s> when produced).
            let tokens = h["tokens"].as_array().unwrap().len();
            assert!(weights.len() == tokens || weights.len() == tokens + 1);
            for row in weights {
                let row: Vec<f64> = row
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|w| w.as_f64().unwrap())
                    .collect();
                assert_eq!(row.len(), src.len());
                assert!(
                    (row.iter().sum::<f64>() - 1.0).abs() < 1e-3,
                    "row sums to {row:?}"
                );
            }
        }
    }
    let hard = post_json(
        &app,
        "/v1/translate",
        json!({"src": t.lines[0], "alignment": "hard"}),
    )
    .await
    .json();
    let best = &hard["translations"][0]["sentences"][0]["hypotheses"][0];
    assert_eq!(best["text"], json!(t.expected[0]));
    let pharaoh = best["alignment"].as_str().unwrap();
    let re = regex::Regex::new(r"^(\d+-\d+( \d+-\d+)*)?$").unwrap();
    assert!(re.is_match(pharaoh), "{pharaoh:?}");
    let models = get(&app, "/v1/models").await.json();
    assert_eq!(models[0]["name"], "model");
    assert_eq!(models[0]["beam_size"], 5);
}

#[tokio::test]
async fn operational_routes_answer_and_the_openapi_document_lists_every_route() {
    let app = default_app();
    assert_eq!(get(&app, "/health").await.json(), json!({"status": "ok"}));
    let page = get(&app, "/").await;
    assert!(String::from_utf8(page.body)
        .unwrap()
        .contains("id=\"heatmap\""));
    let doc = get(&app, "/openapi.json").await.json();
    assert_eq!(doc["openapi"], "3.0.3");
    for route in [
        "/",
        "/translate",
        "/languages",
        "/v1/translate",
        "/v1/models",
        "/health",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(
            doc["paths"].get(route).is_some(),
            "{route} missing from openapi.json"
        );
    }
    post_json(
        &app,
        "/translate",
        json!({"q": "ein hund", "source": "de", "target": "en"}),
    )
    .await;
    let metrics = String::from_utf8(get(&app, "/metrics").await.body).unwrap();
    for line in [
        "tolk_http_requests_total{endpoint=\"/translate\",status=\"200\"} 1",
        "tolk_sentences_total 1",
        "tolk_queue_sentences{model=\"model\"} 0",
        "tolk_batch_sentences_count 1",
        "tolk_request_duration_seconds_count",
        "tolk_batch_tokens_per_second",
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }
    let missing = get(&app, "/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.error().contains("no such route"));
    let cors = send(
        &app,
        Request::get("/languages")
            .header(header::ORIGIN, "http://example.org")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    // Same origin only by default (`--cors-origins` opens it; see the access tests).
    assert_eq!(cors.status, StatusCode::OK);
    assert!(cors
        .headers
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());
}

#[tokio::test]
async fn bad_requests_get_400_or_413_with_a_message() {
    let limits = Limits {
        max_body_bytes: 2000,
        max_chars_per_text: 50,
        max_texts_per_request: 3,
        ..Limits::default()
    };
    let (app, _pool) = app(BatchPolicy::default(), limits);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"source": "de", "target": "en"}),
            "missing q parameter",
        ),
        (
            json!({"q": "x", "target": "en"}),
            "missing source parameter",
        ),
        (
            json!({"q": "x", "source": "de"}),
            "missing target parameter",
        ),
        (
            json!({"q": "x", "source": "fr", "target": "en"}),
            "fr-en is not supported",
        ),
        (
            json!({"q": 3, "source": "de", "target": "en"}),
            "q must be a string or a list",
        ),
        (
            json!({"q": "x", "source": "de", "target": "en", "format": "xml"}),
            "format \"xml\" must be text or html",
        ),
        (
            json!({"q": "x", "source": "de", "target": "en", "alternatives": 10000}),
            "alternatives 10000 exceeds the limit (7)",
        ),
        (
            json!({"q": "x".repeat(51), "source": "de", "target": "en"}),
            "text 1 has 51 characters, over the character limit (50)",
        ),
        (
            json!({"q": ["a", "b", "c", "d"], "source": "de", "target": "en"}),
            "request (4 texts) exceeds text limit (3)",
        ),
    ];
    for (body, message) in cases {
        let r = post_json(&app, "/translate", body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(r.error().contains(message), "{body}: {}", r.error());
    }
    let native: Vec<(Value, &str)> = vec![
        // Limits come before any work on the texts, detection included (this English text
        // was detected first, and refused as English for which no model is loaded).
        (
            json!({"src": "The dog runs in the park. ".repeat(3), "source": "auto", "target": "en"}),
            "text 1 has 78 characters, over the character limit (50)",
        ),
        (
            json!({"src": "x", "beam_size": 2, "n_best": 3}),
            "n-best 3 must not exceed the beam size 2",
        ),
        (
            json!({"src": "x", "beam_size": 0}),
            "beam size 0 must be between 1 and 16",
        ),
        (
            json!({"src": "x", "length_penalty": -1}),
            "length penalty -1.0 must be between 0 and 10",
        ),
        (
            json!({"src": "x", "alignment": "both"}),
            "alignment \"both\" must be none, hard or soft",
        ),
        (
            json!({"src": "x", "model": "other"}),
            "no model named \"other\"",
        ),
        (json!({"text": "x"}), "unknown field \"text\""),
        (json!({"beam_size": 2}), "missing src parameter"),
    ];
    for (body, message) in native {
        let r = post_json(&app, "/v1/translate", body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(r.error().contains(message), "{body}: {}", r.error());
    }
    let bad_json = post(&app, "/translate", "application/json", "{\"q\": ").await;
    assert_eq!(bad_json.status, StatusCode::BAD_REQUEST);
    assert!(bad_json.error().contains("invalid JSON"));
    let bad_utf8 = post(
        &app,
        "/translate",
        "application/json",
        &b"{\"q\": \"\xff\"}"[..],
    )
    .await;
    assert_eq!(bad_utf8.status, StatusCode::BAD_REQUEST);
    assert!(bad_utf8.error().contains("not valid UTF-8"));
    let bad_form = post(
        &app,
        "/translate",
        "application/x-www-form-urlencoded",
        "q=%FF&source=de&target=en",
    )
    .await;
    assert_eq!(bad_form.status, StatusCode::BAD_REQUEST);
    assert!(bad_form.error().contains("not valid UTF-8"));
    let huge = json!({"q": "x".repeat(3000), "source": "de", "target": "en"});
    let r = post_json(&app, "/translate", huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.error(), "request body too large");
    // ... and the server keeps serving.
    let ok = post_json(
        &app,
        "/translate",
        json!({"q": "ein hund", "source": "de", "target": "en"}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn concurrent_requests_are_batched_and_get_exactly_tolk_translates_output() {
    let t = trained();
    let policy = BatchPolicy {
        max_batch_sentences: 16,
        batch_delay: Duration::from_millis(100),
        chunk_sentences: 3,
        ..BatchPolicy::default()
    };
    let (app, _pool) = app(policy, Limits::default());
    // 8 requests of 5 lines each, sent at once; half through each API.
    let mut tasks = Vec::new();
    for (k, chunk) in t.lines.chunks(5).enumerate() {
        let app = app.clone();
        let chunk = chunk.to_vec();
        tasks.push(tokio::spawn(async move {
            if k % 2 == 0 {
                let r = post_json(
                    &app,
                    "/translate",
                    json!({"q": chunk, "source": "de", "target": "en"}),
                )
                .await;
                serde_json::from_value::<Vec<String>>(r.json()["translatedText"].clone()).unwrap()
            } else {
                let r = post_json(&app, "/v1/translate", json!({"src": chunk}))
                    .await
                    .json();
                r["translations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["hypotheses"][0]["text"].as_str().unwrap().to_string())
                    .collect()
            }
        }));
    }
    let mut got = Vec::new();
    for task in tasks {
        got.extend(task.await.unwrap());
    }
    assert_eq!(got, t.expected, "server output differs from tolk translate");
    let metrics = String::from_utf8(get(&app, "/metrics").await.body).unwrap();
    let batches: usize = metrics
        .lines()
        .find_map(|l| l.strip_prefix("tolk_batch_sentences_count "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        batches < t.lines.len(),
        "{batches} batches for {} sentences: no batching",
        t.lines.len()
    );
}

/// A batch delay far longer than the test, so that queued requests stay queued.
fn stalled() -> BatchPolicy {
    BatchPolicy {
        max_batch_sentences: 100,
        batch_delay: Duration::from_secs(3600),
        max_queued_sentences: 4,
        ..BatchPolicy::default()
    }
}

#[tokio::test]
async fn a_full_queue_gives_429_and_a_client_that_leaves_frees_its_places() {
    let limits = Limits {
        max_texts_per_request: 4,
        ..Limits::default()
    };
    let (app, pool) = app(stalled(), limits);
    let body = json!({"q": ["a", "b", "c"], "source": "de", "target": "en"});
    let waiting = {
        let (app, body) = (app.clone(), body.clone());
        tokio::spawn(async move { post_json(&app, "/translate", body).await })
    };
    let model = &pool.models()[0];
    while model.queue_depth() < 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let full = post_json(&app, "/translate", body.clone()).await;
    assert_eq!(full.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(full.headers[header::RETRY_AFTER], "1");
    assert!(
        full.error()
            .contains("queue is full (3 of 4 sentences waiting)"),
        "{}",
        full.error()
    );
    // /health and /languages do not wait on the queue.
    assert_eq!(get(&app, "/health").await.status, StatusCode::OK);
    assert_eq!(get(&app, "/languages").await.status, StatusCode::OK);
    // The client gives up: its sentences leave the queue and the next request is admitted.
    waiting.abort();
    let _ = waiting.await;
    assert_eq!(model.queue_depth(), 0);
    let next = {
        let app = app.clone();
        tokio::spawn(async move { post_json(&app, "/translate", body).await })
    };
    while model.queue_depth() < 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    next.abort();
}

#[tokio::test]
async fn a_request_that_is_not_answered_in_time_gets_504_and_leaves_the_queue() {
    let limits = Limits {
        request_timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let (app, pool) = app(stalled(), limits);
    let r = post_json(
        &app,
        "/v1/translate",
        json!({"src": ["ein hund", "ein mann"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT);
    assert!(
        r.error().contains("did not finish within 0.2 s"),
        "{}",
        r.error()
    );
    assert_eq!(pool.models()[0].queue_depth(), 0);
}

#[test]
fn a_model_directory_that_does_not_load_is_a_startup_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tolk()
        .env("RUST_BACKTRACE", "0")
        .args(["serve", "--addr", "127.0.0.1:0", "--model"])
        .arg(tmp.path().join("missing"))
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn sigterm_during_load_answers_every_accepted_request_then_exits_0() {
    use std::io::{BufRead, BufReader};
    let t = trained();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("tolk"))
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .env("RUST_LOG", "info")
        .args([
            "serve",
            "--threads",
            "1",
            "--addr",
            "127.0.0.1:0",
            "--batch-delay-ms",
            "300",
            "--max-body-bytes",
            "1000",
            "--model",
        ])
        .arg(&t.model)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let addr = common::listen_addr(&mut stderr)
        .unwrap_or_else(|log| panic!("the server did not say where it listens: {log}"));
    // Drain the log so the server never blocks on a full pipe.
    let log = std::thread::spawn(move || {
        let mut rest = String::new();
        for l in stderr.lines() {
            rest.push_str(&l.unwrap());
            rest.push('\n');
        }
        rest
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = format!("http://{addr}");
    rt.block_on(async {
        let client = reqwest::Client::new();
        // An oversized body is refused and the server keeps serving.
        let big = client
            .post(format!("{url}/v1/translate"))
            .json(&json!({"src": "x".repeat(2000)}))
            .send()
            .await
            .unwrap();
        assert_eq!(big.status(), 413);
        let mut requests = Vec::new();
        for (k, chunk) in t.lines.chunks(4).enumerate() {
            let (client, url, chunk) = (client.clone(), url.clone(), chunk.to_vec());
            requests.push((
                k,
                tokio::spawn(async move {
                    let r = client
                        .post(format!("{url}/v1/translate"))
                        .json(&json!({"src": chunk}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                    let v: Value = r.json().await.unwrap();
                    v["translations"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t["hypotheses"][0]["text"].as_str().unwrap().to_string())
                        .collect::<Vec<String>>()
                }),
            ));
        }
        // Wait until every request is queued (the batch delay holds them there), then SIGTERM.
        loop {
            let models: Value = client
                .get(format!("{url}/v1/models"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if models[0]["queue_sentences"] == t.lines.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        for (k, r) in requests {
            let got = r.await.unwrap();
            assert_eq!(got, t.expected[k * 4..(k * 4 + 4).min(t.expected.len())]);
        }
    });
    let status = child.wait().unwrap();
    let log = log.join().unwrap();
    assert!(status.success(), "exit {status}: {log}");
    assert!(
        log.contains("SIGTERM: shutting down") && log.contains("all requests answered"),
        "{log}"
    );
    // Nothing listens any more.
    assert!(std::net::TcpStream::connect(&addr).is_err());
}

#[tokio::test]
async fn a_long_request_does_not_starve_a_short_one() {
    let policy = BatchPolicy {
        max_batch_sentences: 8,
        batch_delay: Duration::from_millis(50),
        chunk_sentences: 4,
        ..BatchPolicy::default()
    };
    let (app, pool) = app(policy, Limits::default());
    let long: Vec<String> = (0..1000)
        .map(|i| format!("ein mann {} hund", ["läuft", "spielt"][i % 2]))
        .collect();
    let long_request = {
        let app = app.clone();
        tokio::spawn(async move { post_json(&app, "/v1/translate", json!({"src": long})).await })
    };
    let model = &pool.models()[0];
    while model.queue_depth() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let short = post_json(&app, "/v1/translate", json!({"src": "ein hund"})).await;
    assert_eq!(short.status, StatusCode::OK);
    // The short request was answered from one of the first batches: most of the long one
    // (1000 sentences, at most 8 per batch) is still waiting.
    let left = model.queue_depth();
    assert!(
        left > 500,
        "only {left} sentences of the long request left: the short one waited"
    );
    assert_eq!(long_request.await.unwrap().status, StatusCode::OK);
}

/// The native answer for `src` alone with the request's other fields.
async fn native_alone(app: &Router, src: &str, extra: &Value) -> Value {
    let mut body = extra.clone();
    body["src"] = json!(src);
    let r = post_json(app, "/v1/translate", body).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    r.json()["translations"][0].clone()
}

#[tokio::test]
async fn running_text_is_translated_sentence_by_sentence_in_its_layout() {
    let t = trained();
    let app = default_app();
    // Three lines, a blank line, leading spaces and two sentences on one line.
    let text = format!(
        "{}.\n{}. Der hund läuft.\n\n  {}\n",
        t.lines[0], t.lines[1], t.lines[2]
    );
    let extra = json!({"beam_size": 3, "n_best": 2, "alignment": "soft"});
    let whole = native_alone(&app, &text, &extra).await;
    let sentences = whole["sentences"].as_array().unwrap();
    assert_eq!(sentences.len(), 4, "{whole}");
    let chars: Vec<char> = text.chars().collect();
    let mut expected = String::new();
    let mut at = 0;
    for s in sentences {
        let source = s["source"].as_str().unwrap();
        let (start, end) = (
            s["start"].as_u64().unwrap() as usize,
            s["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(chars[start..end].iter().collect::<String>(), source);
        // Each sentence gets exactly what it gets alone: the same hypotheses (texts and
        // subwords), with scores and attention equal up to float rounding (the batch it
        // shares with the other sentences pads differently).
        let alone = native_alone(&app, source, &extra).await;
        assert_same_hypotheses(
            &s["hypotheses"],
            &alone["sentences"][0]["hypotheses"],
            source,
        );
        expected.extend(&chars[at..start]);
        expected.push_str(s["hypotheses"][0]["text"].as_str().unwrap());
        at = end;
    }
    expected.extend(&chars[at..]);
    assert_eq!(whole["hypotheses"][0]["text"], json!(expected));
    assert_eq!(expected.matches('\n').count(), 4);
    // The LibreTranslate API gives the same text (the model's default beam, one hypothesis).
    let libre = post_json(
        &app,
        "/translate",
        json!({"q": [&text, "", "\n"], "source": "de", "target": "en"}),
    )
    .await
    .json();
    let plain = native_alone(&app, &text, &json!({})).await;
    assert_eq!(
        libre["translatedText"],
        json!([plain["hypotheses"][0]["text"], "", "\n"])
    );
}

#[tokio::test]
async fn special_token_strings_in_text_are_text_in_both_apis() {
    let t = trained();
    let app = default_app();
    let src = format!("{} </s> <unk> <pad> <s> hund", t.lines[0]);
    let native = native_alone(&app, &src, &json!({"alignment": "soft"})).await;
    let tokens = native["sentences"][0]["hypotheses"][0]["alignment"]["src_tokens"]
        .as_array()
        .unwrap()
        .clone();
    let (last, rest) = tokens.split_last().unwrap();
    assert_eq!(last, "</s>");
    for special in ["</s>", "<pad>", "<s>"] {
        assert!(
            !rest.contains(&json!(special)),
            "{special} as one token: {tokens:?}"
        );
    }
    // The tiny vocabulary has no `<`, `>` or `/` (those become `<unk>`, one per unknown
    // character), but the letters of the typed `<unk>` are its own pieces.
    let pieces: String = rest.iter().map(|t| t.as_str().unwrap()).collect();
    assert!(
        pieces.contains("unk") && pieces.contains("pad"),
        "{tokens:?}"
    );
    let libre = post_json(
        &app,
        "/translate",
        json!({"q": src, "source": "de", "target": "en"}),
    )
    .await
    .json();
    let plain = native_alone(&app, &src, &json!({})).await;
    assert_eq!(libre["translatedText"], plain["hypotheses"][0]["text"]);
}

#[tokio::test]
async fn detection_answers_detect_and_routes_auto_or_refuses_it() {
    let app = default_app();
    let english = "A man in a blue shirt is riding his bicycle down the street.";
    let german = "Ein Mann in einem blauen Hemd fährt mit dem Fahrrad die Straße entlang.";
    let d = post_json(&app, "/detect", json!({"q": english}))
        .await
        .json();
    assert_eq!(d[0]["language"], "en", "{d}");
    let confidence = d[0]["confidence"].as_f64().unwrap();
    assert!(confidence > 50.0 && confidence <= 100.0, "{d}");
    // English sent with source=auto to a de->en-only server: refused, naming the language.
    let r = post_json(
        &app,
        "/translate",
        json!({"q": english, "source": "auto", "target": "en"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("English (en"), "{}", r.error());
    let r = post_json(
        &app,
        "/v1/translate",
        json!({"src": english, "source": "auto", "target": "en"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // German goes to the de->en model, with a real confidence.
    let ok = post_json(
        &app,
        "/translate",
        json!({"q": [german], "source": "auto", "target": "en"}),
    )
    .await
    .json();
    assert_eq!(ok["detectedLanguage"][0]["language"], "de", "{ok}");
    assert!(ok["detectedLanguage"][0]["confidence"].as_f64().unwrap() > 50.0);
    let native = post_json(
        &app,
        "/v1/translate",
        json!({"src": german, "source": "auto", "target": "en"}),
    )
    .await
    .json();
    assert_eq!(native["detected"]["language"], "de");
    assert_eq!(native["source"], "de");
    let form = post(
        &app,
        "/detect",
        "application/x-www-form-urlencoded",
        "q=Guten+Morgen,+wie+geht+es+dir+heute?",
    )
    .await;
    assert_eq!(form.json()[0]["language"], "de");
}

#[tokio::test]
async fn libretranslate_completeness_settings_api_key_and_field_rules() {
    let (app, _pool) = app(
        BatchPolicy::default(),
        Limits {
            max_chars_per_text: 321,
            ..Limits::default()
        },
    );
    let s = get(&app, "/frontend/settings").await.json();
    assert_eq!(s["charLimit"], 321);
    assert_eq!(s["keyRequired"], false);
    assert_eq!(s["language"]["source"]["code"], "auto");
    assert_eq!(s["language"]["target"]["code"], "en");
    // api_key is accepted by both APIs; LibreTranslate's endpoint ignores unknown fields as
    // LibreTranslate does, the native API names them.
    let libre = post_json(
        &app,
        "/translate",
        json!({"q": "ein hund", "source": "de", "target": "en", "api_key": "k", "frobnicate": 1}),
    )
    .await;
    assert_eq!(libre.status, StatusCode::OK);
    let native = post_json(
        &app,
        "/v1/translate",
        json!({"src": "ein hund", "api_key": "k"}),
    )
    .await;
    assert_eq!(native.status, StatusCode::OK);
    let unknown = post_json(&app, "/v1/translate", json!({"src": "ein hund", "beam": 3})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown.error().contains("unknown field \"beam\""),
        "{}",
        unknown.error()
    );
}

#[tokio::test]
async fn html_keeps_markup_and_untranslatable_parts() {
    let t = trained();
    let app = default_app();
    let script = "<script>if (a < b && c) { run(); }</script>";
    let html = format!(
        "<p class=\"x\">{} <b>{}</b> läuft.</p>{script}<pre>ein  hund</pre><p translate=\"no\">ein mann</p>",
        t.lines[0], "hund"
    );
    let r = post_json(
        &app,
        "/translate",
        json!({"q": html, "source": "de", "target": "en", "format": "html"}),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let out = r.json()["translatedText"].as_str().unwrap().to_string();
    for kept in [
        "<p class=\"x\">",
        "<b>",
        "</b>",
        script,
        "<pre>ein  hund</pre>",
        "<p translate=\"no\">ein mann</p>",
    ] {
        assert_eq!(out.matches(kept).count(), 1, "{kept} in {out}");
    }
    let native = post_json(
        &app,
        "/v1/translate",
        json!({"src": html, "format": "html"}),
    )
    .await
    .json();
    assert_eq!(
        native["translations"][0]["hypotheses"][0]["text"],
        json!(out)
    );
    let bad = post_json(
        &app,
        "/translate",
        json!({"q": "x", "source": "de", "target": "en", "format": "pdf"}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

/// Two n-best lists with the same texts and subwords, scores within 1e-4.
fn assert_same_hypotheses(a: &Value, b: &Value, what: &str) {
    let (a, b) = (a.as_array().unwrap(), b.as_array().unwrap());
    let texts = |l: &[Value]| -> Vec<String> { l.iter().map(|h| h["text"].to_string()).collect() };
    assert_eq!(texts(a), texts(b), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x["tokens"], y["tokens"], "{what}");
        let (sx, sy) = (x["score"].as_f64().unwrap(), y["score"].as_f64().unwrap());
        assert!((sx - sy).abs() < 1e-4, "{what}: score {sx} vs {sy}");
    }
}

/// A router over the tiny model with keys `KEY_A` (2 requests per minute) and `KEY_B`
/// (20 characters per request), `req_limit` requests per minute per address, and `extra`.
fn keyed_app(req_limit: Option<u32>, extra: impl FnOnce(&mut AccessPolicy)) -> Router {
    let (plain, pool) = app(BatchPolicy::default(), Limits::default());
    drop(plain);
    let keys = format!(
        "[[key]]\nkey = \"{KEY_A}\"\nname = \"a\"\nrequests_per_minute = 2\n\n\
         [[key]]\nkey = \"{KEY_B}\"\nchars_per_request = 20\n"
    );
    let mut policy = AccessPolicy {
        keys: Some(ApiKeys::parse(&keys, std::path::Path::new("keys.toml")).unwrap()),
        requests_per_minute_per_ip: req_limit.and_then(std::num::NonZeroU32::new),
        ..Default::default()
    };
    extra(&mut policy);
    let metrics = Arc::new(ServerMetrics::new());
    let state = AppState::new(pool, Limits::default(), metrics, &[])
        .unwrap()
        .with_access(Access::new(policy));
    router(state)
}

const KEY_A: &str = "key-a-0123456789abcdef";
const KEY_B: &str = "key-b-0123456789abcdef";

/// A POST from `ip` (as the socket peer) with `headers`.
async fn post_from(
    app: &Router,
    path: &str,
    ip: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> Reply {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::from(body.to_string())).unwrap();
    let peer: std::net::SocketAddr = format!("{ip}:4000").parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    send(app, req).await
}

#[tokio::test]
async fn api_keys_missing_wrong_and_right_in_the_body_a_form_or_a_bearer_header() {
    let app = keyed_app(None, |_| {});
    let s = get(&app, "/frontend/settings").await.json();
    assert_eq!(
        (s["apiKeys"].clone(), s["keyRequired"].clone()),
        (json!(true), json!(true))
    );
    let q = json!({"q": "ein hund", "source": "de", "target": "en"});
    let missing = post_json(&app, "/translate", q.clone()).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert_eq!(
        missing.error(),
        "Please contact the server operator to get an API key"
    );
    let mut wrong = q.clone();
    wrong["api_key"] = json!("not-a-key-of-this-server");
    let wrong = post_json(&app, "/translate", wrong).await;
    assert_eq!(
        (wrong.status, wrong.error()),
        (StatusCode::FORBIDDEN, "Invalid API key".into())
    );
    let mut right = q.clone();
    right["api_key"] = json!(KEY_B);
    assert_eq!(
        post_json(&app, "/translate", right).await.status,
        StatusCode::OK
    );
    let form = format!("q=ein+hund&source=de&target=en&api_key={KEY_B}");
    let form = post(
        &app,
        "/translate",
        "application/x-www-form-urlencoded",
        form,
    )
    .await;
    assert_eq!(form.status, StatusCode::OK);
    let bearer = format!("Bearer {KEY_B}");
    let native = post_from(
        &app,
        "/v1/translate",
        "127.0.0.1",
        &[("authorization", &bearer)],
        json!({"src": "ein hund"}),
    )
    .await;
    assert_eq!(native.status, StatusCode::OK);
    let detect = post_json(&app, "/detect", json!({"q": "ein hund"})).await;
    assert_eq!(detect.status, StatusCode::FORBIDDEN);
    // The key's characters per request (20) over all texts.
    let long = json!({"src": ["ein hund läuft", "im park"], "api_key": KEY_B});
    let long = post_json(&app, "/v1/translate", long).await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        long.error(),
        "Invalid request: request (21) exceeds text limit (20)"
    );
    // Open routes stay open; /v1/models names models, never paths.
    for path in ["/health", "/metrics", "/languages", "/", "/openapi.json"] {
        assert_eq!(get(&app, path).await.status, StatusCode::OK, "{path}");
    }
    let models = get(&app, "/v1/models").await.json();
    assert!(models[0].get("dir").is_none(), "{models}");
    assert!(
        !models
            .to_string()
            .contains(&*trained().model.to_string_lossy()),
        "{models}"
    );
}

#[tokio::test]
async fn a_key_over_its_rate_gets_429_with_retry_after_and_another_key_is_still_served() {
    let app = keyed_app(None, |_| {});
    let body = |key: &str| json!({"src": "ein hund", "api_key": key});
    for _ in 0..2 {
        assert_eq!(
            post_json(&app, "/v1/translate", body(KEY_A)).await.status,
            StatusCode::OK
        );
    }
    let over = post_json(&app, "/v1/translate", body(KEY_A)).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = over.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "Retry-After {retry}");
    assert!(over.error().starts_with("Slowdown"), "{}", over.error());
    for _ in 0..3 {
        assert_eq!(
            post_json(&app, "/v1/translate", body(KEY_B)).await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn x_forwarded_for_is_ignored_without_trust_proxy() {
    let q = json!({"q": "ein hund", "source": "de", "target": "en", "api_key": "wrong-key"});
    let spoof = |n: u8| format!("10.0.0.{n}");
    // One request per minute per address, counted on the socket's peer: a new
    // X-Forwarded-For each time does not buy more requests.
    let app = keyed_app(Some(1), |_| {});
    let first = post_from(
        &app,
        "/translate",
        "192.0.2.1",
        &[("x-forwarded-for", &spoof(1))],
        q.clone(),
    )
    .await;
    assert_eq!(first.status, StatusCode::FORBIDDEN);
    let second = post_from(
        &app,
        "/translate",
        "192.0.2.1",
        &[("x-forwarded-for", &spoof(2))],
        q.clone(),
    )
    .await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    // Behind a trusted proxy (one peer), the forwarded addresses are the clients.
    let app = keyed_app(Some(1), |p| p.trust_proxy = true);
    for n in 1..=2 {
        let r = post_from(
            &app,
            "/translate",
            "192.0.2.1",
            &[("x-forwarded-for", &spoof(n))],
            q.clone(),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "client {n}");
    }
}

async fn preflight(app: &Router, origin: &str) -> Reply {
    let req = Request::options("/v1/translate")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .body(Body::empty())
        .unwrap();
    send(app, req).await
}

#[tokio::test]
async fn metrics_can_be_protected_and_cors_is_same_origin_unless_asked() {
    let app = keyed_app(None, |p| p.protect_metrics = true);
    assert_eq!(get(&app, "/metrics").await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, "/health").await.status, StatusCode::OK);
    let req = Request::get("/metrics")
        .header(header::AUTHORIZATION, format!("Bearer {KEY_A}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.status, StatusCode::OK);
    let allowed = |r: &Reply| r.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).cloned();
    let same = keyed_app(None, |_| {});
    assert_eq!(
        allowed(&preflight(&same, "https://evil.example").await),
        None
    );
    let listed = keyed_app(None, |p| {
        p.cors = CorsOrigins::List(vec!["https://ok.example".into()])
    });
    assert_eq!(
        allowed(&preflight(&listed, "https://ok.example").await).unwrap(),
        "https://ok.example"
    );
    assert_eq!(
        allowed(&preflight(&listed, "https://evil.example").await),
        None
    );
}
