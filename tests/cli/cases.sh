#!/usr/bin/env bash
# tests/cli/cases.sh — one regression test of issue 16 per CASE (each a CTest of its own):
#   cases.sh CASE WORK_DIR [NAME=VALUE...]
# with align=, demo=, eval=, evaldata= (examples/eval/testdata), mpi= (the mpiexec command line ending in emofuse-mpi-eval), data=
# (tests/align/data) and hostile= (the make_hostile_csd program) as the case needs them.
set -u
case_name=$1
work=$2
shift 2
align= demo= mpi= data= hostile= eval= evaldata=
for assignment in "$@"; do
    declare "${assignment%%=*}=${assignment#*=}"
done
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1

fail() {
    echo "FAILED ($case_name): $*"
    for file in stdout stderr; do
        [ -s "$file" ] && { echo "--- $file:"; head -c 2000 "$file"; echo; }
    done
    exit 1
}

# run EXPECTED_STATUS CMD... — runs with a time bound, captures stdout/stderr.
run() {
    local expected=$1
    shift
    timeout -k 5 120 "$@" >stdout 2>stderr </dev/null
    local status=$?
    [ "$status" -eq "$expected" ] || fail "exit status $status, expected $expected: $*"
}

expect_stderr() { grep -qaE -- "$1" stderr || fail "stderr lacks /$1/"; }
expect_stdout() { grep -qaE -- "$1" stdout || fail "stdout lacks /$1/"; }
no_raw_failure() {
    ! grep -qaE 'terminate called|bad_alloc|bad_array_new_length|vector::|Sanitizer|runtime error:' \
        stderr || fail "raw C++ failure on stderr"
}
no_temporaries() {
    local litter
    litter=$(find "${1:-.}" \( -name '*.emofuse-tmp.*' -o -name '*.emofuse-old.*' \
        -o -name '*.partial' -o -name '*.tmp-*' \) -print | head -3)
    [ -z "$litter" ] || fail "temporary files left: $litter"
}
# The files under DIR, sorted, one per line.
listing() { (cd "$1" && find . -mindepth 1 | sort); }

# Writes the demo's sample .csd files (their size grows with N utterances) into DIR.
sample_csd() { "$demo" --write-sample-csd "$1" --train "$2" --test "$(($2 / 2))" >/dev/null 2>&1 ||
    fail "could not write sample .csd files"; }
sample_inputs() {
    echo "$1/CMU_MOSI_TimestampedWordVectors.csd $1/CMU_MOSI_COVAREP.csd" \
         "$1/CMU_MOSI_Visual_Facet_42.csd $1/CMU_MOSI_Opinion_Labels.csd"
}

case $case_name in
align_huge_seq_len)
    # 2^61 and 2^62 wrapped seq_len·d·sizeof(T) to 0 and pad_truncate wrote past the buffer.
    for n in 2305843009213693952 4611686018427387904 100001; do
        run 2 "$align" --quiet --reference words --collapse mean --tensors --seq-len "$n" \
            --out out "$data/words.csd" "$data/audio.csd"
        expect_stderr "^emofuse-align: usage error: --seq-len: expected an integer in \[1, 100000\], got \"$n\""
        no_raw_failure
        [ ! -e out ] || fail "an output directory was made for a refused command line"
    done
    run 0 "$align" --quiet --reference words --collapse mean --tensors --seq-len 100000 \
        --out out "$data/words.csd" "$data/labels.csd"
    no_temporaries
    ;;
align_bad_numbers)
    for args in "--gzip 10" "--gzip -2" "--gzip abc" "--seq-len 0" "--seq-len -1" "--seq-len"; do
        # shellcheck disable=SC2086
        run 2 "$align" --quiet --reference words --tensors --out out "$data/words.csd" $args
        expect_stderr "^emofuse-align: usage error: --(gzip|seq-len): (expected an integer in \[-?[0-9]+, [0-9]+\]|missing value)"
        [ "$(wc -l <stderr)" -eq 1 ] || fail "more than one stderr line for $args"
    done
    ;;
demo_huge_seq_len)
    # 2^60..2^62 overflowed samples·len·d in to_tensor and segfaulted.
    sample_csd samples 40
    for n in 1152921504606846976 2305843009213693952 4611686018427387904 4097; do
        run 2 "$demo" --aligned --seq-len "$n" --train 20 --test 10
        expect_stderr "^emofuse-demo: usage error: --seq-len: expected an integer in \[1, 4096\]"
        no_raw_failure
        run 2 "$demo" --data samples --seq-len "$n"
        expect_stderr "^emofuse-demo: usage error: --seq-len"
    done
    ;;
demo_bad_counts)
    # --train -5 printed bad_array_new_length; huge counts printed vector's max_size message.
    for args in "--train -5" "--test -5" "--train 0" "--train 20001" \
        "--train 18446744073709551615" "--train 99999999999999999999" "--seed -1" \
        "--test-fraction 0" "--test-fraction 1" "--test-fraction nan" "--train" "--bogus"; do
        # shellcheck disable=SC2086
        run 2 "$demo" $args
        expect_stderr "^emofuse-demo: usage error: "
        no_raw_failure
        [ "$(wc -l <stderr)" -eq 1 ] || fail "more than one stderr line for $args"
    done
    run 0 "$demo" --help
    expect_stdout "--train N, --test N  samples \(utterances\) per split, 1-20000"
    ;;
mpi_eval_args)
    # --help, 0 and abc aborted on an uncaught value_error, -1 on bad_alloc.
    read -r -a mpirun <<<"$mpi"
    run 0 "${mpirun[@]}" --help
    expect_stdout "usage: mpirun -np K emofuse-mpi-eval \[SAMPLES\]"
    for value in 0 abc -1 10000001 18446744073709551616; do
        run 2 "${mpirun[@]}" "$value"
        expect_stderr "^emofuse-mpi-eval: usage error: SAMPLES: expected an integer in \[1, 10000000\], got \"$value\""
        [ "$(grep -c '^emofuse-mpi-eval:' stderr)" -eq 1 ] || fail "not exactly one message"
        no_raw_failure
    done
    run 2 "${mpirun[@]}" 5 6
    expect_stderr "expected one SAMPLES argument"
    run 0 "${mpirun[@]}" 1
    expect_stdout "all-reduced states equal the single-process pass"
    ;;
align_blocked_output)
    # A directory in place of one output: no output appears or changes, the reason is given.
    mkdir -p out/audio.npy
    printf 'an older words.csd\n' >out/words.csd
    before=$(listing out)
    run 1 "$align" --quiet --reference words --collapse mean --tensors --seq-len 3 \
        --out out "$data/words.csd" "$data/audio.csd"
    expect_stderr "^emofuse-align: error: .*audio.npy' exists and is a directory"
    [ "$(listing out)" = "$before" ] || fail "the output directory changed: $(listing out)"
    [ "$(cat out/words.csd)" = "an older words.csd" ] || fail "words.csd was replaced"
    no_temporaries
    ;;
align_replace_notice)
    run 0 "$align" --quiet --reference words --collapse mean --out out \
        "$data/words.csd" "$data/labels.csd"
    ! grep -q "replacing" stderr || fail "a notice without an existing file"
    run 0 "$align" --quiet --reference words --collapse mean --out out \
        "$data/words.csd" "$data/labels.csd"
    expect_stderr "^emofuse-align: replacing existing \".*out/words.csd\", \".*out/labels.csd\"$"
    [ "$(wc -l <stderr)" -eq 1 ] || fail "the notice is not one line"
    no_temporaries
    ;;
align_newline_key)
    # A line break in a key made tensor_keys.txt hold more lines than samples.
    "$hostile" hostile || fail "make_hostile_csd failed"
    run 1 "$align" --quiet --reference newline_key --tensors --seq-len 2 --out out \
        hostile/newline_key.csd
    expect_stderr '^emofuse-align: error: align_files: tensor keys: segment key "bad\\x0avideo.*" holds a line break'
    [ "$(wc -l <stderr)" -eq 1 ] || fail "the error is not one line"
    [ -z "$(listing out)" ] || fail "outputs were left: $(listing out)"
    # Without --tensors the key is fine (HDF5 names may hold any byte but '/').
    run 0 "$align" --quiet --reference newline_key --out out hostile/newline_key.csd
    ;;
align_zero_videos)
    "$hostile" hostile || fail "make_hostile_csd failed"
    run 0 "$align" --quiet --reference words --collapse mean --tensors --seq-len 2 --out out \
        "$data/words.csd" hostile/disjoint.csd
    expect_stderr "^emofuse-align: warning: no video was aligned, the outputs are empty: [0-9]+ video ids were found, none of them in all 2 inputs"
    expect_stdout "aligned 0 videos"
    ;;
align_stale_temporaries)
    # Leftovers of a dead run are swept on start; a live process's temporaries are not.
    mkdir -p out
    dead=4194305 # above Linux's largest pid_max
    printf 'stale' >"out/words.csd.emofuse-tmp.$dead.0"
    printf 'stale' >"out/words.npy.emofuse-tmp.$dead.7"
    printf 'live' >"out/labels.csd.emofuse-tmp.$$.0"
    printf 'unrelated' >"out/notes.tmp-1-2"
    run 0 "$align" --quiet --reference words --collapse mean --out out \
        "$data/words.csd" "$data/labels.csd"
    expect_stderr "^emofuse-align: cleaned up after an interrupted earlier run in \".*out\": removed 2 temporary file"
    [ ! -e "out/words.csd.emofuse-tmp.$dead.0" ] && [ ! -e "out/words.npy.emofuse-tmp.$dead.7" ] ||
        fail "stale temporaries remain"
    [ -e "out/labels.csd.emofuse-tmp.$$.0" ] || fail "a live process's temporary was removed"
    [ -e out/notes.tmp-1-2 ] || fail "a file of another naming was removed"
    ;;
eval_stale_temporaries)
    # emofuse-eval's --confusion-svg sweeps a dead run's temporaries beside the SVG.
    mkdir -p out
    dead=4194305 # above Linux's largest pid_max
    printf 'stale' >"out/cm.svg.emofuse-tmp.$dead.0"
    printf 'live' >"out/cm.svg.emofuse-tmp.$$.1"
    run 0 "$eval" --suite classification --pred "$evaldata/labels_pred.txt" \
        --truth "$evaldata/labels_truth.txt" --confusion-svg out/cm.svg
    expect_stderr "^emofuse-eval: cleaned up after an interrupted earlier run in \"out\": removed 1 temporary file"
    [ ! -e "out/cm.svg.emofuse-tmp.$dead.0" ] || fail "the stale temporary remains"
    [ -e "out/cm.svg.emofuse-tmp.$$.1" ] || fail "a live process's temporary was removed"
    grep -q '</svg>' out/cm.svg || fail "no SVG written"
    ;;
align_signal_cleanup)
    # SIGINT/SIGTERM mid-run left *.csd.partial and *.npy.tmp-* (tens of MB) behind.
    sample_csd big 300
    # shellcheck disable=SC2046
    set -- $(sample_inputs big)
    # Job control: a background job of a script would otherwise start with SIGINT ignored
    # (and the tools keep an ignored signal ignored).
    set -m
    for signal in INT TERM; do
        rm -rf out
        "$align" --quiet --reference CMU_MOSI_TimestampedWordVectors --collapse mean \
            --tensors --seq-len 50 --gzip 9 --out out "$@" >stdout 2>stderr &
        pid=$!
        # Wait (at most 60 s) until the run has temporaries, then interrupt it.
        for _ in $(seq 600); do
            [ -n "$(find out -name '*.emofuse-tmp.*' 2>/dev/null | head -1)" ] && break
            sleep 0.1
        done
        [ -n "$(find out -name '*.emofuse-tmp.*' 2>/dev/null | head -1)" ] ||
            fail "the run made no temporaries to interrupt"
        sleep 0.3
        kill -s "$signal" "$pid"
        wait "$pid"
        status=$?
        expected=$((128 + $(kill -l "$signal")))
        [ "$status" -eq "$expected" ] ||
            fail "SIG$signal: exit status $status, expected $expected (ended by the signal)"
        [ -z "$(listing out)" ] || fail "SIG$signal left files: $(listing out | head -5)"
    done
    ;;
*)
    echo "cases.sh: unknown case '$case_name'" >&2
    exit 2
    ;;
esac
echo "PASSED ($case_name)"
