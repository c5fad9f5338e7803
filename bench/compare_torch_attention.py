#!/usr/bin/python3
"""Times emofuse's attention workloads against PyTorch eager, side by side in one run.

    /usr/bin/python3 bench/compare_torch_attention.py --bench build/release/bench/emofuse-bench

Workloads (docs/workloads.md), fp32, one thread:
  mult_cross  one pre-LN MulT crossmodal layer, B=16, T_q=50, T_k=500, d=50, 10 heads, FFN 4d
  mha_self    multi-head self-attention with in/out projections, B=16, T=50, d=50, 10 heads
and, end to end (a companion, not a canonical row of docs/workloads.md):
  mult_forward_mosei  the full MulT forward, CMU-MOSEI configuration (text 50×300, audio
                      500×74, vision 500×35, d=30, 5 heads, 5 layers), batch 8
  torch_encoder_b32_t50_d128  PyTorch's own nn.TransformerEncoder (2 layers, d=128, 8 heads,
                      FFN 512, post-LN ReLU, batch_first) over B=32, T=50 with a key-padding
                      mask, timed under torch.no_grad() (torch 1.13 takes its nested-tensor fast
                      path there)

The two sides run alternately for several rounds (--rounds) so that both see the same load
on a shared machine; medians over rounds and medians of per-round ratios are printed.

The PyTorch side is written the way MulT (yaohungt/Multimodal-Transformer) writes these ops in
eager mode: sequence-first tensors, one F.linear per projection, q scaled after its bias,
bmm → softmax → bmm, out_proj, and the head-averaged attention weights MulT's attention
module returns. torch.nn.MultiheadAttention is timed as a second anchor. The script then runs
emofuse-bench for the same names (and fma_peak, the single-core FMA limit, when it exists) and
prints medians, ratios and the fraction of the FMA peak each emofuse workload reaches.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

# This process is PyTorch's (the anchor's): it gets OpenBLAS's best kernels for the machine, so
# the pins the environment sets for old OpenBLAS builds are lifted before torch loads; the
# emofuse-bench child gets the environment as it was.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blas_info import describe_blas, lift_openblas_pins  # noqa: E402

ORIGINAL_ENVIRONMENT = lift_openblas_pins()
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)
torch.set_grad_enabled(False)


class MulTStyleAttention(nn.Module):
    """Multi-head attention as MulT's module computes it in eval mode (sequence-first)."""

    def __init__(self, d, heads):
        super().__init__()
        self.d, self.heads, self.dh = d, heads, d // heads
        self.scaling = self.dh ** -0.5
        self.in_proj_weight = nn.Parameter(torch.randn(3 * d, d) / math.sqrt(d))
        self.in_proj_bias = nn.Parameter(torch.randn(3 * d) * 0.1)
        self.out_proj = nn.Linear(d, d)

    def forward(self, query, key, value):
        tq, b, d = query.shape
        w, bias = self.in_proj_weight, self.in_proj_bias
        if query.data_ptr() == key.data_ptr() == value.data_ptr():
            q, k, v = F.linear(query, w, bias).chunk(3, dim=-1)
        elif key.data_ptr() == value.data_ptr():
            q = F.linear(query, w[:d], bias[:d])
            k, v = F.linear(key, w[d:], bias[d:]).chunk(2, dim=-1)
        else:
            q = F.linear(query, w[:d], bias[:d])
            k = F.linear(key, w[d:2 * d], bias[d:2 * d])
            v = F.linear(value, w[2 * d:], bias[2 * d:])
        q = q * self.scaling
        q = q.contiguous().view(tq, b * self.heads, self.dh).transpose(0, 1)
        k = k.contiguous().view(-1, b * self.heads, self.dh).transpose(0, 1)
        v = v.contiguous().view(-1, b * self.heads, self.dh).transpose(0, 1)
        tk = k.size(1)
        weights = torch.bmm(q, k.transpose(1, 2))
        weights = F.softmax(weights.float(), dim=-1).type_as(weights)
        attn = torch.bmm(weights, v)
        attn = attn.transpose(0, 1).contiguous().view(tq, b, d)
        attn = self.out_proj(attn)
        weights = weights.view(b, self.heads, tq, tk).sum(dim=1) / self.heads
        return attn, weights


class MulTStyleCrossmodalLayer(nn.Module):
    """MulT's pre-LN TransformerEncoderLayer (eval): shared LayerNorm 0 for x, x_k and x_v."""

    def __init__(self, d, heads):
        super().__init__()
        self.self_attn = MulTStyleAttention(d, heads)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)
        self.layer_norms = nn.ModuleList([nn.LayerNorm(d) for _ in range(2)])

    def forward(self, x, x_k, x_v):
        residual = x
        x = self.layer_norms[0](x)
        x_k = self.layer_norms[0](x_k)
        x_v = self.layer_norms[0](x_v)
        x, _ = self.self_attn(x, x_k, x_v)
        x = residual + x
        residual = x
        x = self.layer_norms[1](x)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return residual + x


class MulTStyleEncoder(nn.Module):
    """MulT's TransformerEncoder (eval): √d scaling, sinusoidal positions (fairseq layout,
    positions from 1), the layers, a final LayerNorm. Sequence-first tensors."""

    def __init__(self, d, heads, layers):
        super().__init__()
        self.d = d
        self.layers = nn.ModuleList([MulTStyleCrossmodalLayer(d, heads) for _ in range(layers)])
        self.layer_norm = nn.LayerNorm(d)

    def positions(self, x):
        t, b, d = x.shape
        half = d // 2
        freq = torch.exp(torch.arange(half, dtype=torch.float) * -(math.log(10000.0) / (half - 1)))
        angle = torch.arange(1, t + 1, dtype=torch.float)[:, None] * freq[None]
        table = torch.cat([torch.sin(angle), torch.cos(angle)], dim=1)
        if d % 2:
            table = torch.cat([table, torch.zeros(t, 1)], dim=1)
        return table[:, None, :]

    def forward(self, x_in, x_in_k=None, x_in_v=None):
        x = math.sqrt(self.d) * x_in + self.positions(x_in)
        if x_in_k is not None:
            x_k = math.sqrt(self.d) * x_in_k + self.positions(x_in_k)
            x_v = math.sqrt(self.d) * x_in_v + self.positions(x_in_v)
        for layer in self.layers:
            x = layer(x, x_k, x_v) if x_in_k is not None else layer(x, x, x)
        return self.layer_norm(x)


class MulTStyleModel(nn.Module):
    """MULTModel's forward (eval, all three modalities)."""

    def __init__(self, orig, d, heads, layers, out_dim=1):
        super().__init__()
        self.proj = nn.ModuleList([nn.Conv1d(o, d, kernel_size=1, bias=False) for o in orig])
        self.cross = nn.ModuleList([MulTStyleEncoder(d, heads, layers) for _ in range(6)])
        self.mem = nn.ModuleList([MulTStyleEncoder(2 * d, heads, layers) for _ in range(3)])
        self.proj1 = nn.Linear(6 * d, 6 * d)
        self.proj2 = nn.Linear(6 * d, 6 * d)
        self.out_layer = nn.Linear(6 * d, out_dim)

    def forward(self, xl, xa, xv):
        xs = [p(x.transpose(1, 2)).permute(2, 0, 1) for p, x in zip(self.proj, (xl, xa, xv))]
        last, block = [], 0
        for m in range(3):
            hs = []
            for n in range(3):
                if n != m:
                    hs.append(self.cross[block](xs[m], xs[n], xs[n]))
                    block += 1
            last.append(self.mem[m](torch.cat(hs, dim=2))[-1])
        h = torch.cat(last, dim=1)
        return self.out_layer(self.proj2(F.relu(self.proj1(h))) + h)


def time_call(fn, min_time=0.5, repetitions=7):
    """Median (wall, CPU) seconds per call over `repetitions` batches of calls. CPU time is
    the fairer figure on a shared machine; wall time is printed next to it."""
    fn()
    start = time.perf_counter()
    fn()
    single = max(time.perf_counter() - start, 1e-6)
    inner = max(1, int(min_time / repetitions / single))
    wall, cpu = [], []
    for _ in range(repetitions):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(inner):
            fn()
        wall.append((time.perf_counter() - start) / inner)
        cpu.append((time.process_time() - start_cpu) / inner)
    return statistics.median(wall), statistics.median(cpu)


def torch_times():
    torch.manual_seed(0)
    b, tq, tk, d, heads = 16, 50, 500, 50, 10
    layer = MulTStyleCrossmodalLayer(d, heads).eval()
    x = torch.randn(tq, b, d)
    src = torch.randn(tk, b, d)
    times = {"mult_cross": time_call(lambda: layer(x, src, src))}

    t = 50
    mha = MulTStyleAttention(d, heads).eval()
    xs = torch.randn(t, b, d)
    times["mha_self"] = time_call(lambda: mha(xs, xs, xs))

    torch_mha = nn.MultiheadAttention(d, heads).eval()
    anchors = {"mha_self [nn.MultiheadAttention]":
               time_call(lambda: torch_mha(xs, xs, xs, need_weights=False))}
    cross_mha = nn.MultiheadAttention(d, heads).eval()
    ln0, ln1 = nn.LayerNorm(d), nn.LayerNorm(d)
    fc1, fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def torch_layer():
        h = x + cross_mha(ln0(x), ln0(src), ln0(src), need_weights=False)[0]
        return h + fc2(F.relu(fc1(ln1(h))))

    anchors["mult_cross [nn.MultiheadAttention]"] = time_call(torch_layer)
    # End to end: MulT's CMU-MOSEI configuration, batch 8 (emofuse-bench mult_forward_mosei).
    model = MulTStyleModel((300, 74, 35), 30, 5, 5).eval()
    xl, xa, xv = torch.randn(8, 50, 300), torch.randn(8, 500, 74), torch.randn(8, 500, 35)
    times["mult_forward_mosei"] = time_call(lambda: model(xl, xa, xv), min_time=0.1,
                                            repetitions=3)
    # PyTorch's own encoder (emofuse-bench torch_encoder_b32_t50_d128), its fastest eval path.
    b, t, d = 32, 50, 128
    encoder = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(d, 8, dim_feedforward=512, batch_first=True), 2).eval()
    xe = torch.randn(b, t, d)
    padded = torch.zeros(b, t, dtype=torch.bool)
    for i in range(b):
        padded[i, t - (i * 7) % (t // 2 + 1):] = True

    def torch_encoder():
        with torch.no_grad():
            return encoder(xe, src_key_padding_mask=padded)

    times["torch_encoder_b32_t50_d128"] = time_call(torch_encoder)
    # The machine's single-core limit as OpenBLAS reaches it: a large sgemm.
    n = 1024
    a, bm = torch.randn(n, n), torch.randn(n, n)
    anchors["sgemm_1024 FLOP/s (OpenBLAS, 1 thread)"] = 2 * n ** 3 / time_call(lambda: a @ bm)[1]
    return times, anchors


def emofuse_times(bench, repetitions=5):
    names = ["mult_cross", "mha_self", "mult_forward_mosei", "torch_encoder_b32_t50_d128",
             "fma_peak"]
    cmd = [bench, "--benchmark_filter=^(%s)$" % "|".join(names),
           "--benchmark_repetitions=%d" % repetitions, "--benchmark_report_aggregates_only=true",
           "--benchmark_format=json"]
    env = dict(ORIGINAL_ENVIRONMENT, OMP_NUM_THREADS="1")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    result = {}
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    for entry in json.loads(out)["benchmarks"]:
        if entry.get("aggregate_name") != "median":
            continue
        name = entry["run_name"]
        result[name] = {"wall": entry["real_time"] * unit[entry["time_unit"]],
                        "cpu": entry["cpu_time"] * unit[entry["time_unit"]],
                        "flops": entry.get("FLOP/s")}
    return result


def median_of(rounds, pick):
    return statistics.median(pick(r) for r in rounds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench", default="build/release/bench/emofuse-bench",
                        help="path to the emofuse-bench executable (Release, -march=native)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating rounds of PyTorch and emofuse timings (default 5)")
    args = parser.parse_args()
    if not os.path.exists(args.bench):
        sys.exit("emofuse-bench not found at %s (build it with -DEMOFUSE_BUILD_BENCH=ON)"
                 % args.bench)
    # Alternate the two sides so that both see the same machine load; every figure below is
    # the median over rounds, and each ratio is the median of the per-round ratios.
    rounds = []
    for _ in range(args.rounds):
        torch_t, anchors = torch_times()
        rounds.append((torch_t, anchors, emofuse_times(args.bench, repetitions=3)))
    ours_last = rounds[-1][2]
    peak = median_of(rounds, lambda r: r[2]["fma_peak"]["flops"]) if "fma_peak" in ours_last \
        else None
    print("torch %s, threads %d, OpenBLAS threads %s, %d alternating rounds; %s" %
          (torch.__version__, torch.get_num_threads(), os.environ["OPENBLAS_NUM_THREADS"],
           args.rounds, describe_blas()))
    print("medians; CPU time (wall time in brackets); GFLOP/s from emofuse-bench (CPU time)")
    print("%-12s %26s %26s %9s %8s %9s %8s" % ("workload", "emofuse", "torch (MulT-style)",
                                                "speed-up", "[wall]", "GFLOP/s", "of peak"))
    for name in ["mult_cross", "mha_self", "mult_forward_mosei", "torch_encoder_b32_t50_d128"]:
        if name not in ours_last:
            print("%-12s missing from emofuse-bench" % name)
            continue
        e_cpu = median_of(rounds, lambda r: r[2][name]["cpu"])
        e_wall = median_of(rounds, lambda r: r[2][name]["wall"])
        t_cpu = median_of(rounds, lambda r: r[0][name][1])
        t_wall = median_of(rounds, lambda r: r[0][name][0])
        ratio_cpu = median_of(rounds, lambda r: r[0][name][1] / r[2][name]["cpu"])
        ratio_wall = median_of(rounds, lambda r: r[0][name][0] / r[2][name]["wall"])
        flops = median_of(rounds, lambda r: r[2][name]["flops"] or 0.0)
        frac = ("%.1f%%" % (100.0 * flops / peak)) if peak and flops else "n/a"
        gflops = ("%.1f" % (flops / 1e9)) if flops else "-"
        print("%-12s %10.3f ms [%8.3f ms] %10.3f ms [%8.3f ms] %8.2fx %7.2fx %9s %8s" %
              (name, e_cpu * 1e3, e_wall * 1e3, t_cpu * 1e3, t_wall * 1e3, ratio_cpu,
               ratio_wall, gflops, frac))
    print("anchors:")
    for name in rounds[-1][1]:
        if "FLOP/s" in name:
            print("  %-45s %.1f GFLOP/s" % (name, median_of(rounds, lambda r: r[1][name]) / 1e9))
        else:
            base = name.split(" ")[0]
            t_cpu = median_of(rounds, lambda r: r[1][name][1])
            ratio = median_of(rounds, lambda r: r[1][name][1] / r[2][base]["cpu"])
            print("  %-45s %8.3f ms CPU  (emofuse %.2fx faster)" % (name, t_cpu * 1e3, ratio))
    if peak:
        print("  %-45s %.1f GFLOP/s" % ("fma_peak (emofuse-bench)", peak / 1e9))


if __name__ == "__main__":
    main()
