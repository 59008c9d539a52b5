#!/usr/bin/env python3
"""PyTorch twin of tolk's default model, for bench/run (issue 4).

The same network as tolk's Bahdanau model (src/model/: bi-GRU encoder, bridge s_0 =
tanh(W_s h<-_1), additive attention from s_{i-1}, conditional GRU decoder with input
[E y_{i-1}; c_i], deep maxout output over [s_i; c_i; E y_{i-1}], optionally tied target
embeddings), written as an expert would in eager PyTorch:

* encoder: one nn.GRU(bidirectional=True) over pack_padded_sequence (mathematically the same
  as tolk's per-direction reversal within each sentence's length);
* attention keys U h_j once per batch; the embedding part of the GRU input transform
  (W_x E y) once for all steps; output layer + fused log-softmax/label-smoothed loss
  (F.cross_entropy) once over all steps;
* torch.inference_mode() for search; fused (or foreach) Adam; clip_grad_norm_.

Sizes come from the model directory's config.toml, weights from best/model.safetensors (read
with a few lines of code: no safetensors package needed). Inputs (training batches, test
source ids, inference batches, length limits) come from `bench export`, so both
implementations see identical tensors. Output: JSON with the same fields as
`bench run` (tolk side).

Usage (PyTorch 2.11 from the wheel tolk's libtorch comes from):
  PYTHONPATH=$HOME/.cache/tolk/torch-2.11.0 OMP_WAIT_POLICY=PASSIVE \
    python3 bench/torch_twin.py --model DIR --threads N --steps N --warmup N
"""

import argparse
import contextlib
import json
import math
import os
import statistics
import struct
import sys
import time
import tomllib

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PAD, UNK, BOS, EOS = 0, 1, 2, 3
NEG_INF = float("-inf")


# --------------------------------------------------------------------------------------------
# helpers


def load_safetensors(path):
    """{name: tensor} from a safetensors file (F32/I64 only)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    dtypes = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        lo, hi = meta["data_offsets"]
        buf = bytearray(data[base + lo : base + hi])
        t = torch.frombuffer(buf, dtype=dtypes[meta["dtype"]]) if hi > lo else torch.empty(0)
        out[name] = t.reshape(meta["shape"]).clone()
    return out


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def status_mib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def peak_rss_mib():
    return status_mib("VmHWM:")


def rss_mib():
    return status_mib("VmRSS:")


def gemm_rate(m, k, n, reps):
    torch.manual_seed(0)
    a = torch.randn(m, k)
    b = torch.randn(k, n)
    a @ b
    times = []
    for _ in range(max(reps, 1)):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {"m": m, "k": k, "n": n, "reps": len(times), "median_s": med,
            "gflops": 2.0 * m * k * n / med / 1e9}


# Ops whose self time counts as matrix multiplication in the profile summary.
GEMM_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::addmv", "aten::mv",
            "aten::dot", "aten::mkldnn_rnn_layer", "aten::mkldnn_rnn_layer_backward"}


def profiler(args):
    """torch.profiler over a timed phase when --profile is given, else a no-op context."""
    if not args.profile:
        return contextlib.nullcontext()
    return torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])


def write_profile(args, prof, phase, wall_s):
    """Appends the phase's op table (self CPU time) and a GEMM / other split to --profile."""
    if not args.profile:
        return
    avgs = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in avgs) / 1e6
    gemm = sum(e.self_cpu_time_total for e in avgs if e.key in GEMM_OPS) / 1e6
    calls = sum(e.count for e in avgs)
    with open(args.profile, "a") as f:
        f.write(f"\n## {phase} (PyTorch twin under torch.profiler, {torch.get_num_threads()} "
                f"threads)\n\n")
        f.write(f"wall {wall_s:.2f} s; profiled self CPU time {total:.2f} s over {calls} op calls; "
                f"GEMM-family ops ({', '.join(sorted(GEMM_OPS & {e.key for e in avgs}))}) "
                f"{gemm:.2f} s = {100 * gemm / max(total, 1e-9):.0f}%; everything else "
                f"{total - gemm:.2f} s; mean self time per op call "
                f"{1e6 * total / max(calls, 1):.1f} us.\n\n```\n")
        f.write(avgs.table(sort_by="self_cpu_time_total", row_limit=25))
        f.write("\n```\n")


def length_penalty(length, alpha):
    """GNMT lp(Y) = ((5 + |Y|) / 6)^alpha (src/decode/hypothesis.rs)."""
    return 1.0 if alpha == 0.0 else ((5.0 + length) / 6.0) ** alpha


# --------------------------------------------------------------------------------------------
# the model


class Twin(nn.Module):
    """tolk's Seq2Seq with BahdanauDecoder, default options (GRU, additive global soft
    attention, no coverage)."""

    def __init__(self, m, src_vocab, tgt_vocab):
        super().__init__()
        unsupported = [
            (m.get("rnn", "gru"), "gru", "rnn"),
            (m.get("decoder", "bahdanau"), "bahdanau", "decoder"),
            (m.get("attention", "additive"), "additive", "attention"),
            (m.get("attention_scope", "global"), "global", "attention_scope"),
            (m.get("attention_selection", "soft"), "soft", "attention_selection"),
            (m.get("coverage", False), False, "coverage"),
        ]
        for got, want, key in unsupported:
            if got != want and not (key == "attention" and got == "concat"):
                sys.exit(f"torch_twin: model.{key} = {got!r} not supported (only {want!r})")
        es, et = m.get("src_embed_dim", 256), m.get("tgt_embed_dim", 256)
        h, d = m.get("encoder_hidden", 256), m.get("decoder_hidden", 512)
        a, o = m.get("attention_dim", 512), m.get("output_dim", 512)
        self.layers = m.get("encoder_layers", 1)
        self.maxout = m.get("output_layer", "maxout") == "maxout"
        self.p = m.get("dropout", 0.3)
        self.tied = m.get("tie_target_embeddings", False)
        self.H, self.D = h, d
        k = o // 2 if self.maxout else o
        self.src_embed = nn.Embedding(src_vocab, es)
        self.gru = nn.GRU(es, h, num_layers=self.layers, bidirectional=True,
                          batch_first=True, dropout=self.p if self.layers > 1 else 0.0)
        self.tgt_embed = nn.Embedding(tgt_vocab, et)
        self.bridge = nn.Linear(h, d)
        self.att_query = nn.Linear(d, a, bias=False)
        self.att_key = nn.Linear(2 * h, a)
        self.att_energy = nn.Linear(a, 1, bias=False)
        g = 3 * d
        self.w_x = nn.Parameter(torch.empty(g, et))
        self.b_x = nn.Parameter(torch.empty(g))
        self.w_u = nn.Parameter(torch.empty(g, 2 * h))
        self.w_h = nn.Parameter(torch.empty(g, d))
        self.b_h = nn.Parameter(torch.empty(g))
        self.out_hidden = nn.Linear(d + 2 * h + et, o)
        self.vocab_weight = None if self.tied else nn.Parameter(torch.empty(tgt_vocab, k))
        self.vocab_bias = nn.Parameter(torch.zeros(tgt_vocab))

    def load_tolk(self, w):
        """Copies tolk's VarStore tensors (names as in model.safetensors)."""
        pairs = [
            (self.src_embed.weight, "encoder.embed.weight"),
            (self.tgt_embed.weight, "decoder.embed.weight"),
            (self.bridge.weight, "decoder.bridge.weight"),
            (self.bridge.bias, "decoder.bridge.bias"),
            (self.att_query.weight, "decoder.attention.query.weight"),
            (self.att_key.weight, "decoder.attention.key.weight"),
            (self.att_key.bias, "decoder.attention.key.bias"),
            (self.att_energy.weight, "decoder.attention.energy.weight"),
            (self.w_x, "decoder.rnn.w_x"), (self.b_x, "decoder.rnn.b_x"),
            (self.w_u, "decoder.rnn.w_u"), (self.w_h, "decoder.rnn.w_h"),
            (self.b_h, "decoder.rnn.b_h"),
            (self.out_hidden.weight, "decoder.output.hidden.weight"),
            (self.out_hidden.bias, "decoder.output.hidden.bias"),
            (self.vocab_bias, "decoder.output.vocab_bias"),
        ]
        if not self.tied:
            pairs.append((self.vocab_weight, "decoder.output.vocab_weight"))
        for l in range(self.layers):
            for direction, suffix in (("forward", ""), ("backward", "_reverse")):
                for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    pairs.append((getattr(self.gru, f"{p}_l{l}{suffix}"),
                                  f"encoder.layer{l}_{direction}.{p}_l0"))
        with torch.no_grad():
            for param, name in pairs:
                if tuple(param.shape) != tuple(w[name].shape):
                    sys.exit(f"torch_twin: {name} has shape {tuple(w[name].shape)}, "
                             f"twin needs {tuple(param.shape)}")
                param.copy_(w[name])
        used = {n for _, n in pairs}
        extra = set(w) - used
        if extra:
            sys.exit(f"torch_twin: tensors not used by the twin: {sorted(extra)}")

    def out_weight(self):
        return self.tgt_embed.weight if self.tied else self.vocab_weight

    # encoder --------------------------------------------------------------------------------
    def encode(self, src, lengths):
        """src [B,S], lengths [B] (CPU int64) -> annotations [B,S,2H], keep mask [B,S] (True
        at real tokens), keys [B,S,A], s_0 [B,D]."""
        s = src.size(1)
        x = F.dropout(self.src_embed(src), self.p, self.training)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        ann, _ = pad_packed_sequence(out, batch_first=True, total_length=s)
        mask = torch.arange(s).unsqueeze(0) < lengths.unsqueeze(1)
        s0 = torch.tanh(self.bridge(ann[:, 0, self.H:]))
        keys = self.att_key(ann)
        return ann, mask, keys, s0

    # decoder --------------------------------------------------------------------------------
    def advance(self, x_proj, s, ann, pad_mask, keys):
        """One conditional step: attention from s_{i-1}, GRU on [E y; c]. Returns (s_i, c_i)."""
        q = self.att_query(s)                                   # [B,A]
        e = self.att_energy(torch.tanh(keys + q.unsqueeze(1))).squeeze(-1)  # [B,S]
        alpha = torch.softmax(e.masked_fill(pad_mask, NEG_INF), dim=-1)
        ctx = torch.bmm(alpha.unsqueeze(1), ann).squeeze(1)     # [B,2H]
        gi = torch.addmm(x_proj, ctx, self.w_u.t())
        gh = torch.addmm(self.b_h, s, self.w_h.t())
        d2 = 2 * self.D
        r, z = torch.sigmoid(gi[:, :d2] + gh[:, :d2]).chunk(2, 1)
        n = torch.tanh(gi[:, d2:] + r * gh[:, d2:])
        return n + z * (s - n), ctx

    def output(self, feats):
        """[..., D+2H+E] -> logits [..., V] (deep output, maxout, dropout, projection)."""
        t = self.out_hidden(feats)
        if self.maxout:
            t = t.view(*t.shape[:-1], t.size(-1) // 2, 2).amax(-1)
        else:
            t = torch.tanh(t)
        t = F.dropout(t, self.p, self.training)
        if getattr(self, "proj", None) is not None:  # int8 decoding (with_precision)
            return self.proj(t).float()
        return F.linear(t, self.out_weight(), self.vocab_bias).float()

    def forward(self, src, lengths, tgt_in):
        """Teacher forcing: logits [B,T,V]."""
        ann, mask, keys, s = self.encode(src, lengths)
        pad_mask = ~mask
        emb = F.dropout(self.tgt_embed(tgt_in), self.p, self.training)   # [B,T,E]
        x_proj = F.linear(emb, self.w_x, self.b_x)                      # [B,T,3D]
        states, ctxs = [], []
        # unbind: one stack in backward, not T zero-filled [B,T,3D] gradients (as select).
        for x_t in x_proj.unbind(1):
            s, c = self.advance(x_t, s, ann, pad_mask, keys)
            states.append(s)
            ctxs.append(c)
        feats = torch.cat([torch.stack(states, 1), torch.stack(ctxs, 1), emb], -1)
        return self.output(feats)

    def step(self, prev, s, ann, pad_mask, keys):
        """One search step: prev [N] -> logits [N,V], s_i."""
        emb = self.tgt_embed(prev)
        s, c = self.advance(F.linear(emb, self.w_x, self.b_x), s, ann, pad_mask, keys)
        return self.output(torch.cat([s, c, emb], -1)), s


# --------------------------------------------------------------------------------------------
# search (the algorithms of src/decode/greedy.rs and src/decode/beam.rs)


def greedy(model, src, lengths, max_len):
    b = src.size(0)
    ann, mask, keys, s = model.encode(src, lengths)
    pad_mask = ~mask
    prev = torch.full((b,), BOS, dtype=torch.long)
    out = [[] for _ in range(b)]
    done = [False] * b
    for t in range(max(max_len)):
        logits, s = model.step(prev, s, ann, pad_mask, keys)
        best = logits.argmax(-1)          # = arg-max of log-softmax
        toks = best.tolist()
        for i in range(b):
            if done[i]:
                continue
            if toks[i] == EOS:
                done[i] = True
            else:
                out[i].append(toks[i])
                if t + 1 >= max_len[i]:
                    done[i] = True
        if all(done):
            break
        prev = best
    return out


def beam(model, src, lengths, max_len, k, alpha):
    b = src.size(0)
    ann, mask, keys, s = model.encode(src, lengths)
    expand = torch.arange(b).repeat_interleave(k)
    ann, mask, keys, s = ann[expand], mask[expand], keys[expand], s[expand]
    pad_mask = ~mask
    prev = torch.full((b * k,), BOS, dtype=torch.long)
    scores = torch.full((b * k,), NEG_INF)
    scores[::k] = 0.0
    live = [[] for _ in range(b * k)]
    finished = [[] for _ in range(b)]     # (score, tokens)
    done = [False] * b
    for t in range(max(max_len)):
        logits, s_new = model.step(prev, s, ann, pad_mask, keys)
        logp = torch.log_softmax(logits, -1)
        v = logp.size(1)
        cand = (logp + scores.unsqueeze(1)).view(b, -1)
        top_s, top_i = cand.topk(2 * k, -1, largest=True, sorted=True)
        top_s, top_i = top_s.tolist(), top_i.tolist()
        origin, next_tok, next_sc = [], [], []
        for i in range(b):
            chosen = 0
            if not done[i]:
                at_limit = t + 1 >= max_len[i]
                for c in range(2 * k):
                    score = top_s[i][c]
                    if score == NEG_INF:
                        break
                    idx = top_i[i][c]
                    slot = i * k + idx // v
                    tok = idx % v
                    if tok == EOS or at_limit:
                        parent = live[slot]
                        toks = parent if tok == EOS else parent + [tok]
                        finished[i].append((score / length_penalty(len(parent) + 1, alpha), toks))
                    elif chosen < k:
                        origin.append(slot)
                        next_tok.append(tok)
                        next_sc.append(score)
                        chosen += 1
                    if chosen >= k:
                        break
                if len(finished[i]) >= k or at_limit:
                    done[i] = True
            while chosen < k:
                origin.append(i * k)
                next_tok.append(PAD)
                next_sc.append(NEG_INF)
                chosen += 1
        if all(done):
            break
        for i in range(b):
            if done[i]:
                next_sc[i * k:(i + 1) * k] = [NEG_INF] * k
        live = [live[o] + [tok] for o, tok in zip(origin, next_tok)]
        s = s_new[torch.tensor(origin)]
        prev = torch.tensor(next_tok)
        scores = torch.tensor(next_sc, dtype=torch.float32)
    # Best by score; the first of equal scores, like Rust's stable sort_by.
    return [max(h, key=lambda x: x[0])[1] if h else [] for h in finished]


# --------------------------------------------------------------------------------------------
# timing


def make_model(model_dir):
    with open(os.path.join(model_dir, "config.toml"), "rb") as f:
        cfg = tomllib.load(f)
    w = load_safetensors(os.path.join(model_dir, "best", "model.safetensors"))
    src_vocab = w["encoder.embed.weight"].shape[0]
    tgt_vocab = w["decoder.embed.weight"].shape[0]
    model = Twin(cfg.get("model", {}), src_vocab, tgt_vocab)
    model.load_tolk(w)
    return cfg, model


def label_smoothed(logits, tgt_out, eps, ntok):
    v = logits.size(-1)
    return F.cross_entropy(logits.reshape(-1, v), tgt_out.reshape(-1), ignore_index=PAD,
                           label_smoothing=eps, reduction="sum") / ntok


def time_training(args, batches):
    cfg, model = make_model(args.model)
    tc = cfg.get("training", {})
    eps = tc.get("label_smoothing", 0.1)
    seed = tc.get("seed", 42)
    data = batches["batches"]

    def tensors(b):
        return (torch.tensor(b["src"]), torch.tensor(b["src_lengths"]),
                torch.tensor(b["tgt_in"]), torch.tensor(b["tgt_out"]))

    # Equivalence check: label-smoothed loss of batch 0 without dropout.
    model.eval()
    with torch.no_grad():
        src, ln, tin, tout = tensors(data[0])
        check = label_smoothed(model(src, ln, tin), tout, eps, data[0]["target_tokens"]).item()

    reset_peak_rss()
    rss_start = rss_mib()
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    betas = tuple(tc.get("adam_betas", (0.9, 0.999)))
    kw = dict(lr=tc.get("learning_rate", 1e-3), betas=betas, eps=tc.get("adam_eps", 1e-8))
    try:
        opt = torch.optim.Adam(params, fused=True, **kw)
        adam = "fused"
    except (RuntimeError, TypeError, ValueError):
        opt = torch.optim.Adam(params, foreach=True, **kw)
        adam = "foreach"
    clip = tc.get("clip_grad_norm", 1.0)
    precision_scope = (torch.autocast("cpu", dtype=torch.bfloat16) if args.precision == "bf16"
                       else contextlib.nullcontext())
    secs, toks, flops, losses = [], [], [], []
    with profiler(args) as prof:
        for step in range(args.steps):
            b = data[step % len(data)]
            torch.manual_seed(seed ^ (step + 1) * 0x9E3779B9 & 0x7FFFFFFFFFFFFFFF)
            t0 = time.perf_counter()
            src, ln, tin, tout = tensors(b)
            with precision_scope:  # bf16: CPU autocast over the forward pass and the loss
                logits = model(src, ln, tin)
                loss = label_smoothed(logits.float(), tout, eps, b["target_tokens"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(params, clip, foreach=True)
            opt.step()
            lv = loss.item()
            secs.append(time.perf_counter() - t0)
            toks.append(float(b["target_tokens"]))
            flops.append(float(b["train_flops"]))
            losses.append(lv)
            if not math.isfinite(lv):
                sys.exit(f"torch_twin: loss diverged at step {step}")
    write_profile(args, prof, f"training, {args.steps} steps", sum(secs))
    rss = peak_rss_mib()
    warm = min(args.warmup, max(args.steps - 1, 0))
    tps = [toks[i] / secs[i] for i in range(warm, args.steps)]
    gfs = [flops[i] / secs[i] / 1e9 for i in range(warm, args.steps)]
    tsum = sum(secs[warm:])
    return {
        "steps": args.steps, "warmup": warm, "adam": adam,
        "step_seconds": secs, "target_tokens": toks, "losses": losses,
        "tokens_per_s_median": statistics.median(tps),
        "tokens_per_s_overall": sum(toks[warm:]) / tsum,
        "gflops_median": statistics.median(gfs),
        "gflops_overall": sum(flops[warm:]) / tsum / 1e9,
        "flops_per_step_mean": sum(flops[warm:]) / (args.steps - warm),
        "check_loss_eval_batch0": check,
        "rss_start_mib": rss_start,
        "peak_rss_mib": rss,
    }


def with_precision(model, precision):
    """The twin's best decoding options, as an expert would set them: `int8` applies
    torch.ao.quantization.quantize_dynamic (per-tensor dynamic int8 activations, per-channel
    int8 weights) to every Linear, the vocabulary projection included; `bf16` runs the search
    under CPU autocast (bf16 GEMMs; fast only with AVX-512-BF16 / AMX). Returns (model, context
    manager for the search)."""
    if precision == "int8":
        model.proj = nn.Linear(model.out_weight().size(1), model.vocab_bias.numel())
        with torch.no_grad():
            model.proj.weight.copy_(model.out_weight())
            model.proj.bias.copy_(model.vocab_bias)
        qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
        model = torch.ao.quantization.quantize_dynamic(
            model, {nn.Linear: qconfig}, dtype=torch.qint8)
        return model, contextlib.nullcontext()
    if precision == "bf16":
        return model, torch.autocast("cpu", dtype=torch.bfloat16)
    return model, contextlib.nullcontext()


def time_translation(args, test, k):
    cfg, model = make_model(args.model)
    model.eval()
    model, precision_scope = with_precision(model, args.precision)
    alpha = cfg.get("decoding", {}).get("length_penalty", 1.0)
    ids, max_len = test["ids"], test["max_len"]

    def search(batch):
        rows = [ids[i] + [EOS] for i in batch]
        width = max(len(r) for r in rows)
        src = torch.tensor([r + [PAD] * (width - len(r)) for r in rows])
        lengths = torch.tensor([len(r) for r in rows])
        ml = [max_len[i] for i in batch]
        if k <= 1:
            return greedy(model, src, lengths, ml)
        return beam(model, src, lengths, ml, k, alpha)

    out = [None] * len(ids)
    with torch.inference_mode(), precision_scope:
        if test["batches"]:  # untimed warm-up on a few sentences
            search(test["batches"][0][:8])
        reset_peak_rss()
        rss_start = rss_mib()
        with profiler(args) as prof:
            t0 = time.perf_counter()
            for batch in test["batches"]:
                for i, h in zip(batch, search(batch)):
                    out[i] = h
            secs = time.perf_counter() - t0
        write_profile(args, prof, "greedy" if k <= 1 else f"beam {k}", secs)
    rss = peak_rss_mib()
    tokens = sum(len(h) + 1 for h in out)
    return {"beam": k, "sentences": len(ids), "seconds": secs, "output_tokens": tokens,
            "sentences_per_s": len(ids) / secs, "tokens_per_s": tokens / secs,
            "rss_start_mib": rss_start, "peak_rss_mib": rss, "ids": out}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="runs/multi30k_de_en")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--gemm-reps", type=int, default=10)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "int8", "bf16"],
                    help="decoding precision (the twin's best options, see with_precision); bf16 "
                         "also trains under CPU autocast")
    ap.add_argument("--batches", default="bench/out/batches.json")
    ap.add_argument("--test", default="bench/out/test.json")
    ap.add_argument("--out", default="bench/out/torch.json")
    ap.add_argument("--phases", default="gemm,train,greedy,beam",
                    help="comma-separated: gemm, train, greedy, beam (merged into --out)")
    ap.add_argument("--profile", default="",
                    help="append a torch.profiler op table per timed phase to this Markdown file "
                         "(the profiler's per-op overhead slows the phase: timings are not "
                         "comparable with unprofiled runs)")
    args = ap.parse_args()
    threads = args.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    # Results accumulate in one file, so that bench/run can run each phase in its own
    # process (a clean peak RSS per phase).
    result = {"impl": "pytorch"}
    if os.path.exists(args.out):
        with open(args.out) as f:
            old = json.load(f)
        if old.get("impl") == "pytorch":
            result = old
    result.update({
        "torch_version": torch.__version__, "threads": threads,
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "precision": args.precision,
    })
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    for phase in [p.strip() for p in args.phases.split(",") if p.strip()]:
        if phase == "gemm":
            gemm = [gemm_rate(1024, 1024, 1024, args.gemm_reps),
                    gemm_rate(2000, 512, 8000, args.gemm_reps)]
            result["gemm"] = gemm
            result["gemm_peak_gflops"] = max(g["gflops"] for g in gemm)
            print(f"torch gemm: {result['gemm_peak_gflops']:.1f} GFLOP/s", file=sys.stderr)
        elif phase == "train":
            with open(args.batches) as f:
                batches = json.load(f)
            result["train"] = time_training(args, batches)
            print(f"torch train: {result['train']['tokens_per_s_median']:.0f} tgt tok/s "
                  "(median)", file=sys.stderr)
        elif phase in ("greedy", "beam"):
            with open(args.test) as f:
                test = json.load(f)
            r = time_translation(args, test, 1 if phase == "greedy" else args.beam)
            result[phase] = r
            print(f"torch {phase}: {r['sentences_per_s']:.1f} sent/s", file=sys.stderr)
        else:
            sys.exit(f"torch_twin: unknown phase {phase!r} (gemm, train, greedy, beam)")
        with open(args.out, "w") as f:
            json.dump(result, f)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
