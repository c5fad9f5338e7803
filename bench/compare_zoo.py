#!/usr/bin/env python3
"""Times the zoo workloads (zoo_<model>_b32, zoo_<model>_b1) against MMSA's own AMIO forward in
PyTorch eager and against ONNX Runtime, side by side, on one thread, and prints the table of
docs/models.md's Performance section.

    /usr/bin/python3 bench/compare_zoo.py --bench build/bench/bench/emofuse-bench \\
        --mmsa /path/to/MMSA [--ort-cache DIR] [--models tfn lmf ...] [--rounds 2]

For each model (default: every zoo_* benchmark the executable registers) and batch size:

* emofuse: `emofuse-bench --benchmark_filter=^zoo_<model>_b<B>$ --benchmark_format=json
  --benchmark_repetitions=5`, the median. Weights are random with MMSA's names and shapes,
  inputs shaped as below (bench/bench_zoo.cpp).
* PyTorch: MMSA's `AMIO` imported from the checkout given with --mmsa (MMSA's BERT-era imports
  replaced by placeholders through tests/models/generate_fixtures.py's helpers, as the fixture
  generator does), built from MMSA's config_regression.json for the model (MOSI; SIMS for the
  multi-task models) in regression mode, random weights (BatchNorm statistics randomised), eval
  mode, no_grad, torch.set_num_threads(1). Inputs are what MMSA's data loader hands AMIO: text
  (B, seq_len_t, 768); audio and vision time-averaged to one step where `need_normalized`, else
  (B, seq_len, dim). AMIO's own alignment runs inside the timed forward, as in MMSA.
* ONNX Runtime: the same AMIO exported with torch.onnx.export (opset 14; the output dict wrapped
  into a tuple of M, and T/A/V for the multi-task models), run by onnxruntime-node
  (bench/compare_zoo_ort.cjs) with intraOpNumThreads = interOpNumThreads = 1; its outputs are
  checked against PyTorch's. onnxruntime-node is installed on first use with
  `npm install onnxruntime-node --ignore-scripts` into --ort-cache (default build/onnxruntime-node).

The three are measured in the same run, one workload at a time in the order emofuse, PyTorch,
ONNX Runtime, so all see the same machine state; --rounds N repeats the whole sweep and keeps
the median of the rounds. Times are CPU seconds per forward (per-thread for emofuse-bench,
per-process for PyTorch and node: each uses one thread); wall times are in --json.

PyTorch runs in a child process with OPENBLAS_NUM_THREADS=1 and OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed (this machine's environment pins an older OpenBLAS kernel for other
tools; the anchor gets OpenBLAS's best). Nothing else sees that change.

Share of the binding limit: the machine's limits are measured in the same run (`fma_peak`,
`triad`). A workload's floor is the larger of (a) its multiply-add FLOPs (every matrix product
and convolution MMSA's forward dispatches, counted by a TorchDispatchMode in the PyTorch child;
element-wise work is not counted) at the FMA peak and (b) its weights streamed once from memory
at the triad bandwidth when they exceed the last-level cache (otherwise they stay cached across
calls). The recurrences' sequential dependency is not a tighter floor here: one step's chain
(a length-H reduction and the gate functions) is a few hundred cycles, far below the step's
FLOPs at peak for these sizes. share = floor / emofuse time (100 % = at the limit).

Also times the LSTM alone (emofuse `lstm_b32_t50_768_128` vs torch.nn.LSTM(768, 128,
batch_first=True) on (32, 50, 768)). Goals (issue 15): ≥ 3× PyTorch at batch 32, ≥ 5× at
batch 1, ≥ 1.5× ONNX Runtime, LSTM ≥ 2×.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# MMSA's model key → the dataset whose shipped configuration the benchmark runs.
DATASETS = {
    "tfn": "mosi", "lmf": "mosi", "lf_dnn": "mosi", "ef_lstm": "mosi", "mfn": "mosi",
    "graph_mfn": "mosi", "mult": "mosi", "mtfn": "sims", "mlmf": "sims", "mlf_dnn": "sims",
}
BATCHES = (32, 1)
GOAL_TORCH = {32: 3.0, 1: 5.0}
GOAL_ORT = 1.5
GOAL_LSTM = 2.0


# ------------------------------------------------------------------ PyTorch child process

def torch_worker(mmsa):
    """Serves JSON requests on stdin, one per line, answering one JSON line each on stdout."""
    protocol = sys.stdout
    sys.stdout = sys.stderr  # MMSA's models print; keep the protocol channel clean
    import warnings
    warnings.filterwarnings("ignore")
    import numpy as np
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    sys.path.insert(0, str(REPO / "tests" / "models"))
    import generate_fixtures as fixtures

    torch.set_num_threads(1)
    root = mmsa / "src" / "MMSA" if (mmsa / "src" / "MMSA").is_dir() else mmsa
    if not (root / "models" / "AMIO.py").is_file():
        raise SystemExit(f"{mmsa}: not an MMSA checkout (no models/AMIO.py)")
    easy_dict = fixtures.install_placeholders()
    sys.path.insert(0, str(root))
    models = __import__("models")
    config_module = fixtures.load_module("mmsa_config", root / "config.py")
    config_file = root / "config" / "config_regression.json"
    cases = {}

    class FlopCounter(TorchDispatchMode):
        """Multiply-add FLOPs (2 per multiply-add) of the matrix products and convolutions."""

        def __init__(self):
            super().__init__()
            self.flops = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = func.overloadpacket.__name__
            if name in ("mm", "addmm"):
                a, b = (args[0], args[1]) if name == "mm" else (args[1], args[2])
                self.flops += 2 * a.shape[0] * a.shape[1] * b.shape[1]
            elif name in ("bmm", "baddbmm"):
                a, b = (args[0], args[1]) if name == "bmm" else (args[1], args[2])
                self.flops += 2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
            elif name in ("convolution", "_convolution"):
                weight = args[1]
                self.flops += 2 * out.numel() * weight[0].numel()
            return out

    def make_case(model, batch):
        dataset = DATASETS[model]
        merged = dict(config_module.get_config_regression(model, dataset, str(config_file)))
        config = dict(merged, train_mode="regression", device="cpu")
        lengths = list(config["seq_lens"])
        dims = list(config["feature_dims"])
        if config.get("need_normalized"):
            lengths[1] = lengths[2] = 1  # MMDataset.__normalize: mean over the time axis
        config["seq_lens"] = lengths  # MMDataLoader: the lengths of the loaded arrays
        amio = fixtures.build(models, easy_dict, config)
        fixtures.randomise(amio, torch.Generator().manual_seed(7))
        for network in fixtures.dfg_networks(amio).values():
            network.requires_grad_(False)
        amio.requires_grad_(False)
        generator = torch.Generator().manual_seed(11)
        inputs = tuple(torch.randn(batch, length, dim, generator=generator)
                       for length, dim in zip(lengths, dims))
        with torch.no_grad():
            result = amio(*inputs)
        keys = [key for key in ("M", "T", "A", "V") if isinstance(result.get(key), torch.Tensor)]
        weights = list(amio.state_dict().values()) + list(fixtures.dfg_state(amio).values())
        weight_bytes = sum(t.numel() * t.element_size() for t in weights
                           if t.is_floating_point())
        with torch.no_grad(), FlopCounter() as counter:
            amio(*inputs)
        return {"amio": amio, "inputs": inputs, "keys": keys, "outputs": result,
                "flops": counter.flops, "weight_bytes": weight_bytes,
                "shapes": [list(x.shape) for x in inputs]}

    def case(model, batch):
        if (model, batch) not in cases:
            cases[(model, batch)] = make_case(model, batch)
        return cases[(model, batch)]

    def timed(run, repetitions, min_time):
        import time
        with torch.no_grad():
            for _ in range(3):
                run()
            walls, cpus = [], []
            for _ in range(repetitions):
                calls, wall0, cpu0 = 0, time.perf_counter(), time.process_time()
                while True:
                    run()
                    calls += 1
                    if time.perf_counter() - wall0 >= min_time:
                        break
                walls.append((time.perf_counter() - wall0) / calls)
                cpus.append((time.process_time() - cpu0) / calls)
        return {"wall": statistics.median(walls), "cpu": statistics.median(cpus)}

    def describe(model, batch, **_):
        c = case(model, batch)
        return {"flops": c["flops"], "weight_bytes": c["weight_bytes"], "shapes": c["shapes"],
                "torch": torch.__version__}

    def time_model(model, batch, repetitions, min_time, **_):
        c = case(model, batch)
        amio, inputs = c["amio"], c["inputs"]
        return timed(lambda: amio(*inputs), repetitions, min_time)

    def export(model, batch, directory, **_):
        c = case(model, batch)
        keys = c["keys"]

        class Outputs(torch.nn.Module):
            """AMIO returns a dict; the exporter needs a tuple of tensors."""

            def __init__(self, amio):
                super().__init__()
                self.amio = amio

            def forward(self, text, audio, vision):
                result = self.amio(text, audio, vision)
                return tuple(result[key] for key in keys)

        directory = Path(directory)
        path = directory / f"{model}_b{batch}.onnx"
        with torch.no_grad():
            torch.onnx.export(Outputs(c["amio"]).eval(), c["inputs"], str(path), opset_version=14,
                              input_names=["text", "audio", "vision"], output_names=keys,
                              do_constant_folding=True)
        inputs = []
        for name, tensor in zip(("text", "audio", "vision"), c["inputs"]):
            file = directory / f"{model}_b{batch}.{name}.bin"
            tensor.numpy().astype(np.float32).tofile(file)
            inputs.append({"name": name, "file": str(file), "shape": list(tensor.shape)})
        expected = {key: c["outputs"][key].reshape(-1).tolist() for key in keys}
        return {"model": str(path), "inputs": inputs, "expected": expected}

    def time_lstm(repetitions, min_time, **_):
        lstm = torch.nn.LSTM(768, 128, batch_first=True).eval()
        x = torch.randn(32, 50, 768)
        return timed(lambda: lstm(x), repetitions, min_time)

    handlers = {"describe": describe, "time": time_model, "export": export, "lstm": time_lstm}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = handlers[request["op"]](**request)
        except Exception as error:  # reported to the parent, which names the workload
            answer = {"error": f"{type(error).__name__}: {error}"}
        protocol.write(json.dumps(answer) + "\n")
        protocol.flush()


class TorchChild:
    def __init__(self, mmsa):
        env = dict(os.environ)
        env["OPENBLAS_NUM_THREADS"] = "1"
        env["OMP_NUM_THREADS"] = "1"
        env.pop("OPENBLAS_CORETYPE", None)  # for the anchor only: see the module docstring
        env.pop("OPENBLAS_L2_SIZE", None)
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--torch-worker", "--mmsa", str(mmsa)], env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, op, **fields):
        self.process.stdin.write(json.dumps(dict(fields, op=op)) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the PyTorch child ended during '{op}'")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"PyTorch child, {op} {fields.get('model', '')} "
                               f"b{fields.get('batch', '')}: {answer['error']}")
        return answer

    def close(self):
        self.process.stdin.close()
        self.process.wait()


# ------------------------------------------------------------------ emofuse-bench, node

def run_bench(bench, names, repetitions, min_time=None):
    """Median (wall, CPU) seconds and counters of each named benchmark."""
    command = [bench, "--benchmark_filter=^(" + "|".join(names) + ")$",
               "--benchmark_format=json", f"--benchmark_repetitions={repetitions}",
               "--benchmark_report_aggregates_only=true"]
    if min_time is not None:
        command.append(f"--benchmark_min_time={min_time}")
    report = json.loads(subprocess.run(command, check=True, capture_output=True,
                                       text=True).stdout)
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    found = {}
    for entry in report["benchmarks"]:
        if entry.get("aggregate_name") == "median":
            unit = scale[entry.get("time_unit", "ns")]
            found[entry["run_name"]] = dict(entry, wall=entry["real_time"] * unit,
                                            cpu=entry["cpu_time"] * unit)
    missing = [name for name in names if name not in found]
    if missing:
        raise RuntimeError(f"emofuse-bench reported no median for {', '.join(missing)}")
    return found


def registered_models(bench):
    listing = subprocess.run([bench, "--benchmark_list_tests=true", "--benchmark_filter=^zoo_"],
                             check=True, capture_output=True, text=True).stdout.split()
    models = []
    for name in listing:
        model = name[len("zoo_"):].rsplit("_b", 1)[0]
        if model not in models:
            models.append(model)
    return models


def ensure_onnxruntime(cache):
    cache = Path(cache)
    if not (cache / "node_modules" / "onnxruntime-node").is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"installing onnxruntime-node into {cache} ...", file=sys.stderr)
        subprocess.run(["npm", "install", "onnxruntime-node", "--ignore-scripts", "--no-audit",
                        "--no-fund"], cwd=cache, check=True, stdout=sys.stderr)
    return cache / "node_modules"


def run_ort(node_modules, spec, repetitions, min_time):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(dict(spec, repetitions=repetitions, min_time=min_time), file)
    try:
        env = dict(os.environ, NODE_PATH=str(node_modules), OMP_NUM_THREADS="1")
        out = subprocess.run(["node", str(HERE / "compare_zoo_ort.cjs"), file.name], env=env,
                             check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(file.name)
    return json.loads(out.strip().splitlines()[-1])


def max_relative_difference(expected, found):
    worst = 0.0
    for key, values in expected.items():
        for a, b in zip(values, found[key]):
            worst = max(worst, abs(a - b) / (1.0 + abs(a)))
    return worst


def last_level_cache_bytes():
    best = 0
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            text = (index / "size").read_text().strip()
        except OSError:
            continue
        factor = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        number = int(text.rstrip("KMG"))
        best = max(best, number * factor)
    return best


# ------------------------------------------------------------------ main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", help="emofuse-bench executable (required)")
    parser.add_argument("--mmsa", required=True, type=Path, help="MMSA checkout (root or src/MMSA)")
    parser.add_argument("--ort-cache", type=Path, default=REPO / "build" / "onnxruntime-node",
                        help="where onnxruntime-node is (or gets) installed")
    parser.add_argument("--no-ort", action="store_true", help="skip ONNX Runtime")
    parser.add_argument("--ort-skip", nargs="*", default=[],
                        help="models not exported to ONNX (Graph-MFN's trace takes many minutes)")
    parser.add_argument("--models", nargs="*", help="default: every zoo_* benchmark registered")
    parser.add_argument("--batches", nargs="*", type=int, default=list(BATCHES))
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.2, help="seconds per repetition")
    parser.add_argument("--rounds", type=int, default=1, help="whole sweeps; medians kept")
    parser.add_argument("--no-lstm", action="store_true", help="skip the LSTM-alone row")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_worker:
        return torch_worker(args.mmsa)
    if not args.bench:
        parser.error("--bench is required")

    models = args.models or registered_models(args.bench)
    unknown = [m for m in models if m not in DATASETS]
    if unknown:
        parser.error(f"unknown model(s): {', '.join(unknown)} (known: {', '.join(DATASETS)})")
    if not models:
        parser.error("emofuse-bench registers no zoo_* benchmark")
    node_modules = None if args.no_ort else ensure_onnxruntime(args.ort_cache)
    work = Path(tempfile.mkdtemp(prefix="compare_zoo_"))
    child = TorchChild(args.mmsa)
    try:
        workloads = [(m, b) for m in models for b in args.batches]
        info, specs = {}, {}
        failed = {}  # MMSA's own forward fails on some shapes (its squeeze() at batch 1)
        for model, batch in workloads:
            try:
                info[(model, batch)] = child.ask("describe", model=model, batch=batch)
            except RuntimeError as error:
                failed[(model, batch)] = str(error).split(": ", 1)[-1]
                continue
            if node_modules and model not in args.ort_skip:
                specs[(model, batch)] = child.ask("export", model=model, batch=batch,
                                                  directory=str(work))
        rounds = []
        for round_index in range(args.rounds):
            limits = run_bench(args.bench, ["fma_peak", "triad"], args.repetitions)
            measured = {"fma_peak": limits["fma_peak"]["FLOP/s"],
                        "triad": limits["triad"]["bytes_per_second"]}
            for model, batch in workloads:
                name = f"zoo_{model}_b{batch}"
                row = {"emofuse": run_bench(args.bench, [name], args.repetitions,
                                            args.min_time)[name]}
                measured[name] = row
                if (model, batch) in failed:
                    continue
                row["torch"] = child.ask("time", model=model, batch=batch,
                                         repetitions=args.repetitions, min_time=args.min_time)
                if (model, batch) in specs:
                    ort = run_ort(node_modules, specs[(model, batch)], args.repetitions,
                                  args.min_time)
                    row["ort"] = {"wall": ort["wall"], "cpu": ort["cpu"],
                                  "version": ort["version"],
                                  "max_rel_diff_vs_torch": max_relative_difference(
                                      specs[(model, batch)]["expected"], ort["outputs"])}
                measured[name] = row
                print(f"round {round_index + 1}: {name} done", file=sys.stderr, flush=True)
            if not args.no_lstm:
                lstm = "lstm_b32_t50_768_128"
                measured[lstm] = {
                    "emofuse": run_bench(args.bench, [lstm], args.repetitions, args.min_time)[lstm],
                    "torch": child.ask("lstm", repetitions=args.repetitions,
                                       min_time=args.min_time)}
            rounds.append(measured)
    finally:
        child.close()
        shutil.rmtree(work, ignore_errors=True)

    def med(path):
        values = []
        for measured in rounds:
            value = measured
            for key in path:
                value = value[key]
            values.append(value)
        return statistics.median(values)

    peak, triad = med(["fma_peak"]), med(["triad"])
    cache = last_level_cache_bytes()
    torch_version = next(iter(info.values()))["torch"] if info else "-"
    ort_version = next((r[f"zoo_{m}_b{b}"]["ort"]["version"] for r in rounds
                        for m, b in workloads if "ort" in r[f"zoo_{m}_b{b}"]), "-")
    print(f"torch {torch_version} eager, onnxruntime-node {ort_version}, one thread each; "
          f"fma_peak {peak / 1e9:.1f} GFLOP/s, triad {triad / 1e9:.1f} GB/s, "
          f"last-level cache {cache >> 20} MiB; CPU ms per forward, medians of "
          f"{args.repetitions} repetitions x {args.rounds} round(s)")
    header = ("| model | batch | emofuse ms | torch ms | ORT ms | torch/emofuse (goal) "
              "| ORT/emofuse (goal 1.5) | GFLOP | floor | share of floor |")
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    results = {"fma_peak_flops": peak, "triad_bytes_per_s": triad, "rounds": rounds,
               "rows": []}
    for model, batch in workloads:
        name = f"zoo_{model}_b{batch}"
        e = med([name, "emofuse", "cpu"])
        if (model, batch) in failed:
            print(f"| `{model}` | {batch} | {e * 1e3:.3f} | MMSA fails: "
                  f"{failed[(model, batch)]} | - | - | - | - | - | - |")
            results["rows"].append({"workload": name, "emofuse_cpu_s": e,
                                    "mmsa_error": failed[(model, batch)]})
            continue
        t = med([name, "torch", "cpu"])
        has_ort = (model, batch) in specs
        o = med([name, "ort", "cpu"]) if has_ort else float("nan")
        flops, weight_bytes = info[(model, batch)]["flops"], info[(model, batch)]["weight_bytes"]
        compute = flops / peak
        memory = weight_bytes / triad if weight_bytes > cache else 0.0
        floor, bound = (compute, "FMA") if compute >= memory else (memory, "memory")
        goal = GOAL_TORCH.get(batch, GOAL_TORCH[32])
        mark = lambda ratio, target: "" if ratio >= target else " ✗"  # noqa: E731
        ort_cell = f"{o / e:.2f}×{mark(o / e, GOAL_ORT)}" if has_ort else "-"
        print(f"| `{model}` | {batch} | {e * 1e3:.3f} | {t * 1e3:.3f} | "
              f"{f'{o * 1e3:.3f}' if has_ort else '-'} | {t / e:.2f}× ({goal:g}×){mark(t / e, goal)} | {ort_cell} | "
              f"{flops / 1e9:.4f} | {floor * 1e3:.3f} ms {bound} | {100 * floor / e:.0f} % |")
        row = {"workload": name, "emofuse_cpu_s": e, "torch_cpu_s": t, "ort_cpu_s": o,
               "emofuse_wall_s": med([name, "emofuse", "wall"]),
               "torch_wall_s": med([name, "torch", "wall"]), "flops": flops,
               "weight_bytes": weight_bytes, "floor_s": floor, "floor": bound,
               "shapes": info[(model, batch)]["shapes"]}
        if has_ort:
            row["ort_wall_s"] = med([name, "ort", "wall"])
            row["ort_max_rel_diff_vs_torch"] = max(
                r[name]["ort"]["max_rel_diff_vs_torch"] for r in rounds)
        results["rows"].append(row)
    if specs:
        worst = max(row["ort_max_rel_diff_vs_torch"] for row in results["rows"]
                    if "ort_max_rel_diff_vs_torch" in row)
        print(f"ONNX Runtime vs PyTorch outputs: largest |difference| / (1 + |torch|) = "
              f"{worst:.2e}" + ("" if worst <= 1e-4 else "  (above 1e-4: check the export)"))
    if not args.no_lstm:
        lstm = "lstm_b32_t50_768_128"
        e, t = med([lstm, "emofuse", "cpu"]), med([lstm, "torch", "cpu"])
        flops = 2.0 * 32 * 50 * 4 * 128 * (768 + 128)
        print(f"LSTM alone (B=32, T=50, 768→128): emofuse {e * 1e3:.3f} ms, torch.nn.LSTM "
              f"{t * 1e3:.3f} ms, {t / e:.2f}× (goal {GOAL_LSTM:g}×), "
              f"{100 * flops / peak / e:.0f} % of fma_peak")
        results["lstm"] = {"emofuse_cpu_s": e, "torch_cpu_s": t}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
