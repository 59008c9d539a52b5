//! The fp32 GEMM rate of libtorch on this machine, the yardstick of the other figures.

use std::time::Instant;

use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

use crate::common::*;

/// GFLOP/s of `reps` fp32 products [m,k]x[k,n] (median time; one untimed warm-up).
pub fn gemm_rate(m: i64, k: i64, n: i64, reps: usize) -> Value {
    tch::manual_seed(0);
    let a = Tensor::randn([m, k], (Kind::Float, Device::Cpu));
    let b = Tensor::randn([k, n], (Kind::Float, Device::Cpu));
    let _ = a.matmul(&b);
    let mut times = Vec::new();
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        let c = a.matmul(&b);
        let _ = c.size();
        times.push(t0.elapsed().as_secs_f64());
    }
    let flops = 2.0 * (m * k * n) as f64;
    let med = median(&times);
    json!({"m": m, "k": k, "n": n, "reps": times.len(), "median_s": med,
           "gflops": flops / med / 1e9})
}
