"""Which path does an fp32 [m,k]x[k,n] product take, and what does each cost? (issue 12)

Times the same product through the calls that tolk (tch) and PyTorch make, in one process and
alternating, so their ratio is free of machine drift: `a @ b` (a fresh 4*m*n-byte output each
call, as both benchmarks do), `torch.mm(a, b, out=c)` (output reused: no page faults),
`F.linear(a, w)` with w = b^T (what nn.Linear calls), and `a @ b` with MKLDNN's matmul
path for fp32 disabled. Median of REPS calls each, GFLOP/s.

usage: PYTHONPATH=~/.cache/tolk/torch-2.11.0 python3 bench/precision/gemm_paths.py [--threads N]
"""
import argparse
import statistics

import torch
import torch.nn.functional as F

from gemm_precision import rate  # same directory: the script's own dir is on sys.path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}; threads {torch.get_num_threads()}; "
          f"{torch.backends.cpu.get_cpu_capability()}; mkl {torch.backends.mkl.is_available()}; "
          f"mkldnn {torch.backends.mkldnn.is_available()}")
    for m, k, n in [(2000, 512, 8000), (1024, 1024, 1024), (250, 512, 8000)]:
        torch.manual_seed(0)
        a, b = torch.randn(m, k), torch.randn(k, n)
        w = b.t().contiguous()
        c = torch.empty(m, n)
        calls = {
            "a @ b (fresh output)": lambda: a @ b,
            "mm(a, b, out=c) (reused output)": lambda: torch.mm(a, b, out=c),
            "F.linear(a, w) (w = b^T contiguous)": lambda: F.linear(a, w),
            "a @ w.t() (transposed view)": lambda: a @ w.t(),
        }
        rows = {name: [] for name in calls}
        for _ in range(args.rounds):
            for name, fn in calls.items():
                rows[name].append(rate(fn, 2.0 * m * k * n, args.reps))
        for name, rates in rows.items():
            print(f"[{m}x{k}]x[{k}x{n}]\t{name:40s}\t{statistics.median(rates):7.1f} GFLOP/s "
                  f"(rounds: {' '.join(f'{r:.1f}' for r in rates)})")


if __name__ == "__main__":
    main()
