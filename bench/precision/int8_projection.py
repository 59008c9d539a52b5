"""Weight-only vs dynamic int8 for the vocabulary projection shape on this CPU (issue 12, bench/NOTES.md).
usage: PYTHONPATH=~/.cache/tolk/torch-2.11.0 python3 bench/precision/int8_projection.py"""
import torch, time, statistics
torch.set_num_threads(2)
def rate(fn, reps=20):
    fn(); ts=[]
    for _ in range(reps):
        t0=time.perf_counter(); fn(); ts.append(time.perf_counter()-t0)
    return statistics.median(ts)*1e3
for m in (50, 250, 1000):
    k, n = 512, 8000
    x, w = torch.randn(m, k), torch.randn(n, k)
    scales = w.abs().amax(1) / 127
    w8 = (w / scales[:, None]).round().clamp(-127, 127).to(torch.int8)
    with torch.inference_mode():
        ref = x @ w.t()
        t32 = rate(lambda: x @ w.t())
        try:
            out = torch._weight_int8pack_mm(x, w8, scales)
            err = ((out - ref).abs().max() / ref.abs().max()).item()
            t8 = rate(lambda: torch._weight_int8pack_mm(x, w8, scales))
        except Exception as e:
            t8, err = float('nan'), str(e)[:80]
        # dynamic: per-row int8 activations x per-channel int8 weights -> int32 -> dequant
        def dyn():
            xs = x.abs().amax(1, keepdim=True) / 127
            x8 = (x / xs).round().to(torch.int8)
            return torch._int_mm(x8, w8.t().contiguous()) * xs * scales
        w8t = w8.t().contiguous()
        def dyn2():
            xs = x.abs().amax(1, keepdim=True) / 127
            x8 = (x / xs).round().to(torch.int8)
            return torch._int_mm(x8, w8t).float() * xs * scales
        out2 = dyn2(); err2 = ((out2 - ref).abs().max() / ref.abs().max()).item()
        td = rate(dyn2)
        print(f"m={m}: fp32 {t32:.3f} ms; weight-int8 {t8:.3f} ms (err {err}); dynamic int8 {td:.3f} ms (err {err2:.1e})")
