// Times one ONNX model with onnxruntime-node on one intra-op thread; called by compare_zoo.py.
//
//   NODE_PATH=CACHE/node_modules node bench/compare_zoo_ort.cjs SPEC.json
//
// SPEC: {"model": "x.onnx", "inputs": [{"name", "file" (raw little-endian float32), "shape"}],
//        "repetitions": N, "min_time": seconds}
// Prints one JSON line: median wall and CPU seconds per run, the outputs of the last run (for
// the script's check against PyTorch) and the onnxruntime version.
"use strict";
const fs = require("fs");
const ort = require("onnxruntime-node");

function median(values) {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main() {
    const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
    const session = await ort.InferenceSession.create(spec.model, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
    });
    const feeds = {};
    for (const input of spec.inputs) {
        const bytes = fs.readFileSync(input.file);
        const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
        feeds[input.name] = new ort.Tensor("float32", values, input.shape);
    }
    let outputs;
    for (let warm = 0; warm < 3; ++warm) {
        outputs = await session.run(feeds);
    }
    const walls = [];
    const cpus = [];
    for (let repetition = 0; repetition < spec.repetitions; ++repetition) {
        let calls = 0;
        const wall0 = process.hrtime.bigint();
        const cpu0 = process.cpuUsage();
        let elapsed = 0;
        do {
            outputs = await session.run(feeds);
            ++calls;
            elapsed = Number(process.hrtime.bigint() - wall0) / 1e9;
        } while (elapsed < spec.min_time);
        const cpu = process.cpuUsage(cpu0);
        walls.push(elapsed / calls);
        cpus.push((cpu.user + cpu.system) / 1e6 / calls);
    }
    const values = {};
    for (const name of Object.keys(outputs)) {
        values[name] = Array.from(outputs[name].data);
    }
    const version = require("onnxruntime-node/package.json").version;
    process.stdout.write(
        JSON.stringify({wall: median(walls), cpu: median(cpus), outputs: values, version}) + "\n");
}

main().catch((error) => {
    process.stderr.write(`compare_zoo_ort: ${error && error.stack ? error.stack : error}\n`);
    process.exit(1);
});
