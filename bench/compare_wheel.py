#!/usr/bin/python3
"""Times ov_mertools_2000 against MERTools' own wheel.py, side by side in one run.

    /usr/bin/python3 bench/compare_wheel.py --bench build/release/bench/emofuse-bench \\
        --mertools /path/to/MERTools [--folder DIR] [--eval build/release/examples/eval/emofuse-eval]

2,000 random answer pairs (unmapped, misspelled, upper-case, multi-word and empty answers,
drawn from the folder's own word forms) are written once; both sides score them on wheels
1..5 at levels 1 and 2 (MER2025's wheel.py: wheel_metric_calculation twice). Tables are
loaded once on both sides: emofuse-bench reads the folder before timing; wheel.py builds its
format/synonym mappings at import, and its per-call func_get_wheel_cluster (which re-reads
wheel*.xlsx with pandas) is memoised here. --folder defaults to MER2025's shipped
emotion_wheel/. With --eval, emofuse-eval scores the same files and every key is compared
with wheel.py's (<= 1e-12). Prints medians (CPU time) and the ratio (> 1: emofuse faster).
Needs python3-pandas and python3-openpyxl.
"""
import argparse
import contextlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'metrics'))
import generate_wheel_fixtures as fixtures  # noqa: E402

SAMPLES = 2000


def run_bench(path, env):
    out = subprocess.run([path, '--benchmark_filter=^ov_mertools_2000$',
                          '--benchmark_repetitions=5', '--benchmark_report_aggregates_only=true',
                          '--benchmark_format=json'], env=env, check=True, capture_output=True,
                         text=True)
    for entry in json.loads(out.stdout)['benchmarks']:
        if entry.get('aggregate_name') == 'median':
            return entry['cpu_time'] * {'ns': 1e-9, 'us': 1e-6, 'ms': 1e-3}[entry['time_unit']]
    raise RuntimeError('emofuse-bench reported no ov_mertools_2000 median')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--bench', required=True)
    parser.add_argument('--mertools', required=True, help='MERTools checkout (repository root)')
    parser.add_argument('--folder', help='emotion_wheel/ folder (default: MER2025 shipped)')
    parser.add_argument('--eval', help='emofuse-eval, to compare the values too')
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    track = os.path.join(args.mertools, fixtures.TRACKS['mertools'])
    folder = args.folder or os.path.join(track, 'emotion_wheel')
    wheel = fixtures.load_wheel(track, folder)
    cache = {}
    original = wheel.func_get_wheel_cluster

    def cached(name='wheel1', level='level1'):
        if (name, level) not in cache:
            cache[name, level] = original(name, level)
        return cache[name, level]
    wheel.func_get_wheel_cluster = cached

    with contextlib.redirect_stdout(io.StringIO()):
        forms = sorted(wheel.read_format2raws().keys())
    rng = random.Random(2000)
    truth = [fixtures.random_answer(rng, forms) for _ in range(SAMPLES)]
    pred = [fixtures.random_answer(rng, forms) for _ in range(SAMPLES)]
    scratch = tempfile.mkdtemp(prefix='emofuse_wheel_bench_')
    paths = {}
    for kind, lines in (('truth', truth), ('pred', pred)):
        paths[kind] = os.path.join(scratch, f'{kind}.txt')
        with open(paths[kind], 'w', encoding='utf-8') as out:
            out.write('\n'.join(lines) + '\n')
    env = dict(os.environ, EMOFUSE_WHEEL_DIR=folder, EMOFUSE_WHEEL_TRUTH=paths['truth'],
               EMOFUSE_WHEEL_PRED=paths['pred'])

    def mertools():
        return fixtures.score(wheel, truth, pred)
    reference = mertools()  # also warms the wheel cache: tables loaded once

    if args.eval:
        out = subprocess.run([args.eval, '--suite', 'ov', '--preset', 'mertools', '--wheel', folder,
                              '--pred', paths['pred'], '--truth', paths['truth']],
                             check=True, capture_output=True, text=True)
        ours = json.loads(out.stdout)['metrics']
        worst = max(abs(ours[key] - value) for key, value in reference.items())
        print(f'values: {len(reference)} keys, largest difference from wheel.py {worst:.2e}')
        if worst > 1e-12:
            sys.exit('values differ from wheel.py by more than 1e-12')

    python_times, bench_times = [], []
    for _ in range(args.rounds):  # alternate the two sides so both see the same machine
        for _ in range(3):
            start = time.process_time()
            mertools()
            python_times.append(time.process_time() - start)
        bench_times.append(run_bench(args.bench, env))
    python_median = statistics.median(python_times)
    bench_median = statistics.median(bench_times)
    print(f'folder: {folder}')
    print(f'ov_mertools_2000   wheel.py {python_median * 1e3:9.2f} ms   '
          f'emofuse {bench_median * 1e3:9.3f} ms   ratio {python_median / bench_median:7.1f}x')


if __name__ == '__main__':
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        main()
