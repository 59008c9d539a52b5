//! Fused kernels against their libtorch reference on decoding shapes, alternating, median of
//! many calls: `cargo run --release --example kernel_bench [THREADS]`; with `KERNEL_ONLY=1`,
//! the fused kernel alone (no reference run between calls to evict its inputs). A benchmark
//! for bench/NOTES.md (issue 12), not a test.

use std::time::Instant;

use tch::{Device, Kind, Tensor};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Random query `[r, a]`, keys `[r, s, a]` and energy vector `[a]` on the CPU.
fn inputs(r: i64, s: i64, a: i64) -> (Tensor, Tensor, Tensor) {
    let q = Tensor::randn([r, a], (Kind::Float, Device::Cpu));
    let k = Tensor::randn([r, s, a], (Kind::Float, Device::Cpu));
    let v = Tensor::randn([a], (Kind::Float, Device::Cpu)) * 0.1;
    (q, k, v)
}

fn main() {
    let threads: i32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    tch::set_num_threads(threads);
    tch::manual_seed(0);
    if std::env::var("KERNEL_ONLY").is_ok() {
        for &(r, s, a) in &[
            (1000i64, 20i64, 256i64),
            (1000, 20, 512),
            (1000, 20, 256),
            (1000, 40, 128),
        ] {
            let (q, k, v) = inputs(r, s, a);
            let mut t = Vec::new();
            for _ in 0..30 {
                let t0 = Instant::now();
                let _ = tolk::kernels::additive_energy(&q, &k, &v).unwrap();
                t.push(t0.elapsed().as_secs_f64());
            }
            println!("kernel only {r}x{s}x{a}: {:.3} ms", median(t) * 1e3);
        }
        return;
    }
    println!("additive energies e = v^T tanh(q + k), threads {threads}");
    println!("rows\tsrc_len\tattn_dim\treference_ms\tfused_ms\tspeedup\tmax_rel_err");
    // rows = sentences x beam: a test2016 batch of 4000 tokens at beam 5 has ~1000-2000 rows.
    for &(r, s, a) in &[
        (100, 12, 256),
        (500, 12, 256),
        (1000, 20, 256),
        (500, 12, 512),
        (1000, 20, 512),
    ] {
        let (q, k, v) = inputs(r, s, a);
        let (mut t_ref, mut t_fused) = (Vec::new(), Vec::new());
        let reference = || (&k + q.unsqueeze(1)).tanh().matmul(&v);
        let fused = || tolk::kernels::additive_energy(&q, &k, &v).unwrap();
        let (want, got) = (reference(), fused());
        let err = (&got - &want).abs().max().double_value(&[]) / want.abs().max().double_value(&[]);
        for _ in 0..30 {
            let t = Instant::now();
            let _ = reference();
            t_ref.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let _ = fused();
            t_fused.push(t.elapsed().as_secs_f64());
        }
        let (a_ms, b_ms) = (median(t_ref) * 1e3, median(t_fused) * 1e3);
        println!(
            "{r}\t{s}\t{a}\t{a_ms:.3}\t{b_ms:.3}\t{:.2}\t{err:.1e}",
            a_ms / b_ms
        );
    }
}
