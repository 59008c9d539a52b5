"""GEMM rate of libtorch 2.11.0 (the wheel tolk links) per precision on this CPU: fp32, bf16
(oneDNN; fast with AVX-512-BF16 / AMX) and int8 x int8 -> int32 (torch._int_mm; VNNI / AMX),
for the shapes that dominate tolk: the vocabulary projection of decoding ([rows x 512] x
[512 x V]) and a square 1024^3. A benchmark for bench/NOTES.md (issue 12, lever 4), not a test.

usage: PYTHONPATH=~/.cache/tolk/torch-2.11.0 python3 bench/precision/gemm_precision.py [--threads N]
"""
import argparse
import statistics
import subprocess
import time

import torch


def rate(fn, flops, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return flops / statistics.median(times) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"],
                         capture_output=True, text=True).stdout.strip()
    print(f"cpu: {cpu}; torch {torch.__version__}; threads {torch.get_num_threads()}; "
          f"mkldnn bf16 supported: {torch.ops.mkldnn._is_mkldnn_bf16_supported()}")
    print("m\tk\tn\tfp32_gflops\tbf16_gflops\tint8_gops\tbf16/fp32\tint8/fp32")
    torch.manual_seed(0)
    for m, k, n in [(50, 512, 8000), (250, 512, 8000), (2000, 512, 8000), (1024, 1024, 1024),
                    (250, 1024, 1536)]:
        a, b = torch.randn(m, k), torch.randn(k, n)
        a16, b16 = a.bfloat16(), b.bfloat16()
        # _int_mm needs m > 16 and k, n multiples of 8.
        a8 = torch.randint(-127, 127, (m, k), dtype=torch.int8)
        b8 = torch.randint(-127, 127, (k, n), dtype=torch.int8)
        flops = 2.0 * m * k * n
        with torch.inference_mode():
            f32 = rate(lambda: a @ b, flops, args.reps)
            bf = rate(lambda: a16 @ b16, flops, args.reps)
            try:
                i8 = rate(lambda: torch._int_mm(a8, b8), flops, args.reps)
            except RuntimeError as e:
                i8 = float("nan")
                print(f"# _int_mm failed: {e}")
        print(f"{m}\t{k}\t{n}\t{f32:.1f}\t{bf:.1f}\t{i8:.1f}\t{bf / f32:.2f}\t{i8 / f32:.2f}")


if __name__ == "__main__":
    main()
