#!/usr/bin/env bash
# CTest cases for emofuse-mpi-align and emofuse-mpi-predict: 2 ranks on loopback against the
# single-process tool on the same inputs, byte for byte, and a failing rank.
#   mpi_cases.sh CASE WORKDIR name=value...  (mpiexec=, align=, mpi_align=, predict=,
#   mpi_predict=, fixtures=, aligndata=, models=)
set -u
case_name=$1
work=$2
shift 2
mpiexec='' align='' mpi_align='' predict='' mpi_predict='' fixtures='' aligndata='' models=''
for assignment in "$@"; do
    case ${assignment%%=*} in
    mpiexec | align | mpi_align | predict | mpi_predict | fixtures | aligndata | models)
        printf -v "${assignment%%=*}" '%s' "${assignment#*=}" ;;
    *) echo "mpi_cases.sh: unknown argument $assignment" >&2; exit 2 ;;
    esac
done

fail() { echo "FAIL [$case_name]: $*" >&2; exit 1; }
# mpirun -n RANKS on this machine only (shared memory and self transports, no network).
ranks() {
    local count=$1
    shift
    "$mpiexec" --allow-run-as-root --oversubscribe --mca btl self,vader -n "$count" "$@"
}
# The files under DIR (hidden ones too), sorted, one per line.
listing() { (cd "$1" && find . -mindepth 1 | sort); }
same_files() {
    [ "$(listing "$1")" = "$(listing "$2")" ] ||
        fail "$2 holds other files than $1: $(listing "$2" | tr '\n' ' ')"
    local file
    for file in $(listing "$1"); do
        cmp "$1/$file" "$2/$file" || fail "$file differs from the single-process output"
    done
}

# After a run with rank 1 failing (exit status in $status, stderr in ./stderr): TOOL's run
# failed, rank 1 said why (its line matches MESSAGE), rank 0 named rank 1 and had no error.
expect_rank1_failure() {
    local tool=$1 message=$2
    [ "$status" -ne 0 ] || fail "a failing rank gave exit status 0"
    grep -q "^$tool: rank 1 of 2: error: $message" stderr ||
        fail "rank 1's message is missing: $(cat stderr)"
    grep -q "^$tool: error: rank 1 of 2 failed (see above); nothing was written$" stderr ||
        fail "rank 0 does not say which rank failed: $(cat stderr)"
    if grep -q "rank 0 of 2: error" stderr; then fail "rank 0 reported an error of its own"; fi
}

rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
align_inputs=("$aligndata/words.csd" "$aligndata/audio.csd" "$aligndata/visual.csd"
              "$aligndata/labels.csd")

case $case_name in
align_identical)
    # Collapsed with tensors, and raw frames at another gzip level; 2 ranks, then 3 with
    # threads inside each: the same bytes as one process.
    flags=(--reference words --collapse mean,std --impute zeros --tensors --seq-len 4 --pad right)
    "$align" --quiet "${flags[@]}" --out single "${align_inputs[@]}" >/dev/null 2>&1 ||
        fail "emofuse-align failed"
    ranks 2 "$mpi_align" --quiet "${flags[@]}" --out two "${align_inputs[@]}" >stdout 2>stderr ||
        fail "2 ranks failed: $(cat stderr)"
    grep -q "^emofuse-mpi-align: aligned 5 videos to 'words' .*; 28 tensor samples$" stdout ||
        fail "unexpected summary: $(cat stdout)"
    same_files single two
    "$align" --quiet --reference audio --gzip 4 --out raw "${align_inputs[@]}" >/dev/null 2>&1 ||
        fail "emofuse-align failed on raw frames"
    ranks 3 "$mpi_align" --quiet --reference audio --gzip 4 --threads 2 --out raw3 \
        "${align_inputs[@]}" >/dev/null 2>stderr || fail "3 ranks failed: $(cat stderr)"
    same_files raw raw3
    ;;
align_failing_rank)
    # The bad video is the last one: it lands in rank 1's shard, rank 0's shard is fine.
    bad=$aligndata/bad/last_video_end_before_start.csd
    mkdir out
    ranks 2 "$mpi_align" --quiet --reference words --collapse mean --out out \
        "$aligndata/words.csd" "$aligndata/audio.csd" "$bad" >stdout 2>stderr
    status=$?
    expect_rank1_failure emofuse-mpi-align "csd: file '.*last_video_end_before_start.csd' (sequence 'visual'), video 'vidR', interval 0: expected end >= start"
    [ -z "$(listing out)" ] || fail "files left behind: $(listing out | tr '\n' ' ')"
    ;;
predict_identical)
    # A single-output and a multi-task model and MulT (whose sums differ between instruction
    # set levels: the MPI tool must run the level the plain one runs), with the suite on
    # stdout; 2 ranks, then 3 with batches of 1 (4 samples: shards of 1, 1 and 2).
    for base in tfn_mosi_regression mtfn_sims_regression mult_mosi_regression; do
        model=${base%%_*}
        rest=${base#*_}
        dataset=${rest%%_*}
        flags=(--model "$model" --dataset "$dataset" --config "$models/$base.config.json"
               --weights "$models/$base.safetensors" --inputs "$models/$base.inputs.npz")
        "$fixtures" variants "$models/$base.inputs.npz" variants >/dev/null 2>&1 ||
            fail "could not write the truth file"
        "$predict" "${flags[@]}" --out single.npz --eval variants/truth.npy --suite mosi \
            >single.txt 2>/dev/null || fail "emofuse-predict failed on $base"
        ranks 2 "$mpi_predict" "${flags[@]}" --out two.npz --eval variants/truth.npy \
            --suite mosi >two.txt 2>stderr || fail "2 ranks failed on $base: $(cat stderr)"
        cmp single.npz two.npz || fail "$base: 2 ranks wrote other bytes"
        cmp single.txt two.txt || fail "$base: 2 ranks printed another suite"
        grep -q "^emofuse-mpi-predict: 4 samples on 2 ranks: wrote M" stderr ||
            fail "unexpected summary: $(cat stderr)"
        ranks 3 "$mpi_predict" "${flags[@]}" --batch 1 --out three.npz >/dev/null 2>stderr ||
            fail "3 ranks failed on $base: $(cat stderr)"
        cmp single.npz three.npz || fail "$base: 3 ranks wrote other bytes"
        rm -rf variants single.npz two.npz three.npz
    done
    [ -z "$(find . -name '.*part*' -o -name '*.emofuse-tmp.*')" ] || fail "part files left"
    ;;
predict_failing_rank)
    # Rank 1 cannot write its part (a directory holds its name); rank 0's part is complete.
    base=tfn_mosi_regression
    mkdir out out/.out.npz.part-1-of-2
    ranks 2 "$mpi_predict" --model tfn --dataset mosi --config "$models/$base.config.json" \
        --weights "$models/$base.safetensors" --inputs "$models/$base.inputs.npz" \
        --out out/out.npz >stdout 2>stderr
    status=$?
    expect_rank1_failure emofuse-mpi-predict ".*part-1-of-2"
    [ "$(listing out)" = "./.out.npz.part-1-of-2" ] ||
        fail "files left behind: $(listing out | tr '\n' ' ')"
    # Every shard succeeds but rank 0's join refuses the truth file: all ranks fail, no file.
    "$fixtures" variants "$models/$base.inputs.npz" variants >/dev/null 2>&1 ||
        fail "could not write the truth file"
    rm -rf out
    mkdir out
    ranks 2 "$mpi_predict" --model tfn --dataset mosi --config "$models/$base.config.json" \
        --weights "$models/$base.safetensors" --inputs "$models/$base.inputs.npz" \
        --out out/out.npz --eval variants/truth_short.npy --suite mosi >stdout 2>stderr
    status=$?
    [ "$status" -ne 0 ] || fail "a failed join gave exit status 0"
    grep -q "^emofuse-mpi-predict: error: --eval .*truth_short.npy.* has shape" stderr ||
        fail "rank 0's message is missing: $(cat stderr)"
    [ -z "$(listing out)" ] || fail "files left behind: $(listing out | tr '\n' ' ')"
    ;;
*)
    fail "unknown case"
    ;;
esac
echo "PASS [$case_name]"
