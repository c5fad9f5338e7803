#!/usr/bin/env bash
# tests/cli/cases.sh — one regression test of issue 16 per CASE (each a CTest of its own):
#   cases.sh CASE WORK_DIR [NAME=VALUE...]
# with align=, demo=, eval=, evaldata= (examples/eval/testdata), mpi= (the mpiexec command line ending in emofuse-mpi-eval), data=
# (tests/align/data), hostile= (the make_hostile_csd program), predict= (emofuse-predict),
# llmdata= (tests/cli/data/llm), runsdata= (tests/cli/data/runs),
# fixtures= (the predict_fixtures program), models= (tests/models/data) and zoo=
# (examples/data/zoo) and pkl= (tests/io/data/pkl) as the case needs them.
set -u
case_name=$1
work=$2
shift 2
align= demo= mpi= data= hostile= eval= evaldata= predict= fixtures= models= zoo= pkl= llmdata= runsdata=
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


# emofuse-predict on the model-zoo fixture CASE (tests/models/data/CASE.*): predict_case CASE
# STATUS [FLAGS...], output into out.npz unless FLAGS say otherwise.
predict_case() {
    local case_base=$1 expected=$2
    shift 2
    local model=${case_base%%_mosi_*}
    model=${model%%_mosei_*}
    model=${model%%_sims_*}
    local rest=${case_base#"$model"_}
    local dataset=${rest%%_*}
    local mode=${case_base##*_}
    run "$expected" "$predict" --model "$model" --dataset "$dataset" \
        --config "$models/$case_base.config.json" --weights "$models/$case_base.safetensors" \
        --inputs "$models/$case_base.inputs.npz" --mode "$mode" --out out.npz "$@"
}
# The models this emofuse-predict knows (its --help lists them).
known_models() { "$predict" --help | sed -n 's/^ *--model NAME *MMSA.s model key (\(.*\))$/\1/p' | tr -d ','; }

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
demo_threads_identical)
    # Every metric (and parameter count) is the same at 1, 2 and 3 threads; only the times
    # (the us/sample column, "forward in … ms") may differ.
    for n in 1 2 3; do
        run 0 "$demo" --train 80 --test 40 --threads "$n"
        # Method rows end in the time column; the suite's rows ("Corr  0.97…") keep their values.
        sed -E '/( +[0-9.]+){6}$/s/ +[0-9.]+$//; s/forward in [0-9.]+ ms/forward in T ms/' \
            stdout >"metrics-$n"
    done
    grep -q "MUTAN" metrics-1 || fail "the demo printed no method table"
    cmp metrics-1 metrics-2 || fail "the metrics differ between 1 and 2 threads"
    cmp metrics-1 metrics-3 || fail "the metrics differ between 1 and 3 threads"
    for n in 0 4097 two; do
        run 2 "$demo" --threads "$n"
        expect_stderr "^emofuse-demo: usage error: --threads: expected an integer in \[1, 4096\]"
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
eval_threads_identical)
    # emofuse-eval parses its files and scores on the pool (fixed pieces and blocks, merged
    # in order): 200000 samples give the same bytes at 1, 2 and 3 threads, bootstrap too.
    awk 'BEGIN { srand(7); print "# comment" > "truth.txt"; print "" > "truth.txt"
        for (i = 0; i < 200000; i++) {
            t = int(rand() * 19 - 9) / 3; printf "%.6f\n", t > "truth.txt"
            printf "%.6f\n", 0.7 * t + rand() - 0.5 > "pred.txt"
            l = int(rand() * 7); printf "%d\n", l > "labels_truth.txt"
            printf "%d\n", (rand() < 0.6 ? l : int(rand() * 7)) > "labels_pred.txt" } }' ||
        fail "could not write the inputs"
    for threads in 1 2 3; do
        run 0 "$eval" --suite mosi --pred pred.txt --truth truth.txt --threads "$threads" \
            --bootstrap 20 --seed 3
        mv stdout "mosi$threads.json"
        run 0 "$eval" --suite regression --pred pred.txt --truth truth.txt --threads "$threads"
        mv stdout "regression$threads.json"
        run 0 "$eval" --suite meld --pred labels_pred.txt --truth labels_truth.txt \
            --threads "$threads" --format table
        mv stdout "meld$threads.txt"
    done
    grep -q '"n": 200000' mosi1.json || fail "mosi1.json: not 200000 samples"
    for kind in mosi.json regression.json meld.txt; do
        for threads in 2 3; do
            cmp -s "${kind%%.*}1.${kind#*.}" "${kind%%.*}$threads.${kind#*.}" ||
                fail "${kind%%.*}: --threads $threads differs from --threads 1"
        done
    done
    ;;
eval_parse_error_line)
    # Errors of the parallel parser name the same file:line as a serial read: the first bad
    # line in file order, in a later piece of a window and in a later window (the files are
    # read 16 MiB at a time), whatever the thread count.
    # 19.2 MB in long lines (30 bytes), so two windows cost few lines.
    yes 0.2500000000000000000000000001 | head -n 640000 >big.txt
    cp big.txt bad_value.txt
    sed -i '150001s/.*/x1/; 620000s/.*/y2/' bad_value.txt
    cp big.txt late_value.txt
    sed -i '600007s/.*/1e5000x/' late_value.txt
    cp big.txt bad_columns.txt
    sed -i '580002s/$/ 1.0/' bad_columns.txt
    for threads in 1 2 3; do
        run 0 "$eval" --suite regression --pred big.txt --truth big.txt --threads "$threads"
        grep -q '"n": 640000' stdout || fail "big.txt: not 640000 samples"
        run 1 "$eval" --suite mosi --pred bad_value.txt --truth big.txt --threads "$threads"
        expect_stderr '^emofuse-eval: error: bad_value.txt:150001: expected a number, got "x1"$'
        run 1 "$eval" --suite mosi --pred big.txt --truth late_value.txt --threads "$threads"
        expect_stderr '^emofuse-eval: error: late_value.txt:600007: expected a number, got "1e5000x"$'
        run 1 "$eval" --suite mosi --pred big.txt --truth bad_columns.txt --threads "$threads"
        expect_stderr '^emofuse-eval: error: bad_columns.txt:580002: expected 1 column \(one score per line\), got 2$'
    done
    ;;
align_threads_identical)
    # Videos are aligned on several threads and written in video order, and the writer
    # stores no creation times: every output is the same bytes at any thread count and on
    # every rerun (collapsed with tensors, and raw rows).
    sample_csd sample 40
    # shellcheck disable=SC2046
    set -- $(sample_inputs sample)
    for threads in 1 2 3; do
        run 0 "$align" --quiet --threads "$threads" --reference CMU_MOSI_TimestampedWordVectors \
            --collapse mean,std --tensors --seq-len 20 --out "mean$threads" "$@"
        run 0 "$align" --quiet --threads "$threads" --reference CMU_MOSI_TimestampedWordVectors \
            --out "raw$threads" "$@"
    done
    sleep 1 # a creation time would now differ
    run 0 "$align" --quiet --threads 1 --reference CMU_MOSI_TimestampedWordVectors \
        --collapse mean,std --tensors --seq-len 20 --out rerun "$@"
    for kind in mean raw; do
        for other in "${kind}2" "${kind}3" $([ "$kind" = mean ] && echo rerun); do
            for file in "$kind"1/*; do
                cmp -s "$file" "$other/${file##*/}" || fail "${file##*/} differs: ${kind}1 vs $other"
            done
        done
    done
    run 2 "$align" --threads 0 --reference words --out out "$data/words.csd"
    expect_stderr "^emofuse-align: usage error: --threads: expected an integer in \\[1, 4096\\]"
    ;;
eval_llm_classes)
    # --pred-format llm on a class suite: tags, NFKC case folding, JSON-string lines,
    # aliases, precedence and the __invalid__ class. Values: scikit-learn on the mapped ids
    # (2 1 3 __invalid__ 2 1 0 __invalid__ 3 0) with "__invalid__" as a label.
    run 0 "$eval" --suite classification --pred-format llm --classes neutral,happy,sad,angry \
        --aliases "$llmdata/aliases.csv" --pred "$llmdata/answers.txt" \
        --truth "$llmdata/truth_ids.txt" --confusion-svg cm.svg
    tr -d ' \n' <stdout >flat
    for pair in '"accuracy":0.6,' '"macro_f1":0.52,' '"weighted_f1":0.68,' '"kappa":0.5,' \
        '"invalid_answers":2.0,' '"invalid_rate":0.2}'; do
        grep -qF -- "$pair" flat || fail "stdout lacks $pair"
    done
    expect_stderr "note: 2 of 10 answers name no class: counted wrong, as __invalid__"
    expect_stderr "note: 1 of 10 answers name several classes: the first named counts"
    expect_stderr "note: 1 of 10 answers have several <answer> tags: the first counts"
    expect_stderr "note: 1 of 10 answers have an <answer> with no </answer>"
    grep -q '>__invalid__</text>' cm.svg || fail "the heat map lacks the __invalid__ column"
    grep -q 'true angry, predicted sad: 1 ' cm.svg || fail "the heat map lacks class names"
    # iemocap (K = 4 or 6) takes the 4 names; K is the suite's, __invalid__ comes on top.
    run 0 "$eval" --suite iemocap --pred-format llm --classes neutral,happy,sad,angry \
        --aliases "$llmdata/aliases.csv" --pred "$llmdata/answers.txt" \
        --truth "$llmdata/truth_ids.txt"
    expect_stdout '"accuracy": 0\.6,'
    ;;
eval_llm_ov)
    # --pred-format llm on ov: each answer's labels (P = 6.5/10, R = 7/10 by hand).
    run 0 "$eval" --suite ov --pred-format llm --aliases "$llmdata/aliases.csv" \
        --pred "$llmdata/answers.txt" --truth "$llmdata/truth_words.txt"
    tr -d ' \n' <stdout >flat
    grep -qF '"precision":0.65,"recall":0.7,"mer_ov_score":0.675,"f_score":0.674074074074' flat ||
        fail "ov values differ"
    # Without --pred-format llm the same file is plain comma-separated words: other values.
    run 0 "$eval" --suite ov --pred "$llmdata/answers.txt" --truth "$llmdata/truth_words.txt"
    tr -d ' \n' <stdout >flat
    ! grep -qF '"precision":0.65,' flat || fail "plain words scored like LLM answers"
    ;;
eval_llm_bad_input)
    # Each bad input: exit 1 (data) or 2 (usage) with one line naming the file and line.
    classes=(--classes neutral,happy,sad,angry)
    one_line() { [ "$(wc -l <stderr)" -eq 1 ] || fail "expected one error line"; }
    run 1 "$eval" --suite classification --pred-format llm "${classes[@]}" \
        --aliases missing.csv --pred "$llmdata/answers.txt" --truth "$llmdata/truth_ids.txt"
    expect_stderr "missing\.csv: cannot open: No such file"
    one_line
    run 1 "$eval" --suite classification --pred-format llm "${classes[@]}" \
        --aliases "$llmdata/aliases_two_commas.csv" --pred "$llmdata/answers.txt" \
        --truth "$llmdata/truth_ids.txt"
    expect_stderr 'aliases_two_commas\.csv:2: expected "alias,label" \(one comma\), got "glad,happy,content"'
    one_line
    run 1 "$eval" --suite classification --pred-format llm "${classes[@]}" \
        --aliases "$llmdata/aliases_not_class.csv" --pred "$llmdata/answers.txt" \
        --truth "$llmdata/truth_ids.txt"
    expect_stderr 'aliases_not_class\.csv:4: label "joy" is not one of the --classes'
    run 1 "$eval" --suite ov --pred-format llm --pred "$llmdata/bad_utf8.txt" \
        --truth "$llmdata/bad_utf8.txt"
    expect_stderr 'bad_utf8\.txt:3: response: invalid UTF-8 at byte 3 \(0xFF\)'
    one_line
    run 1 "$eval" --suite ov --pred-format llm --pred "$llmdata/bad_json.txt" \
        --truth "$llmdata/bad_json.txt"
    expect_stderr "bad_json\.txt:2: expected a JSON string \(the line starts with '\"'\): .*missing closing quote"
    # Command-line mistakes: exit 2.
    usage_error() {
        local regex=$1
        shift
        run 2 "$eval" "$@" --truth "$llmdata/truth_ids.txt"
        expect_stderr "$regex"
    }
    usage_error "--pred-format llm applies to --suite classification, iemocap default, meld, mer2024, ov default only" \
        --suite mer2023 --pred-format llm "${classes[@]}" --pred "$llmdata/answers.txt"
    usage_error "--pred-format llm with --suite meld needs --classes" \
        --suite meld --pred-format llm --pred "$llmdata/answers.txt"
    usage_error '--classes: 4 names: suite "meld": number of classes: expected 7' \
        --suite meld --pred-format llm "${classes[@]}" --pred "$llmdata/answers.txt"
    usage_error 'class names 0 and 1 are the same after normalisation \("happy"\)' \
        --suite classification --pred-format llm --classes happy,HAPPY --pred "$llmdata/answers.txt"
    usage_error "--aliases and --classes apply to --pred-format llm only" \
        --suite ov --aliases "$llmdata/aliases.csv" --pred "$llmdata/answers.txt"
    no_raw_failure
    ;;
eval_runs_mmsa)
    # Several --pred files: per key the mean and ddof-0 std over the runs, and the pair MMSA's
    # run.py prints; expected.txt holds numpy's values over MMSA's own MetricsTop per run.
    run 0 "$eval" --suite mosi --pred "$runsdata/mosi_run1.txt" --pred "$runsdata/mosi_run2.txt" \
        --pred "$runsdata/mosi_run3.txt" --truth "$evaldata/mosi_truth.txt"
    expect_stdout '"runs": 3,'
    # The JSON as "key mean std mmsa_mean mmsa_std" lines, in key order.
    awk '/^  "metrics"/ { s = "m" } /^  "mmsa"/ { s = "p" } /^  "per_run"/ { s = "" }
         s != "" && /^    "[^"]+": [{[]$/ { k = $1; gsub(/[":]/, "", k); i = 0; next }
         s == "m" && /"mean":/ { v = $2; sub(/,$/, "", v); mean[k] = v }
         s == "m" && /"std":/ { std[k] = $2; order[++n] = k }
         s == "p" && /^      [-0-9]/ { x = $1; sub(/,$/, "", x); p[k, ++i] = x }
         END { for (j = 1; j <= n; ++j) { k = order[j]
               print k, mean[k], std[k], p[k, 1], p[k, 2] } }' stdout >got
    grep -v '^#' "$runsdata/expected.txt" >want
    [ "$(wc -l <want)" -eq 8 ] || fail "expected.txt should hold 8 keys"
    awk 'NR == FNR { want[FNR] = $0; next }
         { split(want[FNR], w, " ")
           if ($1 != w[1] || $4 != w[4] || $5 != w[5]) { print "differs: " $0 " vs " want[FNR]; bad = 1 }
           for (c = 2; c <= 3; ++c) { d = $c - w[c]; if (d < 0) d = -d
               if (d > 1e-12 * (w[c] < 0 ? -w[c] : w[c])) { print "differs: " $0 " vs " want[FNR]; bad = 1 } } }
         END { if (FNR != length(want)) { print "key count differs"; bad = 1 } exit bad }' \
        want got >diff || fail "runs summary differs from MMSA's: $(cat diff)"
    # The table shows the same pairs.
    run 0 "$eval" --suite mosi --pred "$runsdata/mosi_run1.txt" --pred "$runsdata/mosi_run2.txt" \
        --pred "$runsdata/mosi_run3.txt" --truth "$evaldata/mosi_truth.txt" --format table
    expect_stdout "^suite mosi, preset mmsa, 3 runs, n = 40$"
    expect_stdout "^ +MAE  0\.916717  0\.151180  \(91\.67, 15\.12\)$"
    # Runs are refused with stdin, a bootstrap or a heat map; a short run names its file.
    run 2 "$eval" --suite mosi --pred "$runsdata/mosi_run1.txt" --pred - \
        --truth "$evaldata/mosi_truth.txt"
    expect_stderr "with several --pred files \(runs\), no file can be '-'"
    run 2 "$eval" --suite mosi --pred "$runsdata/mosi_run1.txt" --pred "$runsdata/mosi_run2.txt" \
        --truth "$evaldata/mosi_truth.txt" --bootstrap 10
    expect_stderr "--bootstrap and --confusion-svg take one --pred file, not runs"
    run 1 "$eval" --suite mosi --pred "$runsdata/mosi_run1.txt" \
        --pred "$evaldata/three_scores.txt" --truth "$evaldata/mosi_truth.txt"
    expect_stderr "mosi_truth\.txt:5: length mismatch: .*three_scores\.txt"
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
predict_values)
    # M (and T/A/V) equal MMSA's own outputs on each fixture of every zoo model, with the
    # .safetensors and the .pth MMSA saved; any --batch gives
    # the same bytes (every data-loader step acts per sample).
    read -r -a known <<<"$(known_models)"
    [ "${#known[@]}" -gt 0 ] || fail "--help lists no model"
    tested=0
    for model in tfn lmf mfn ef_lstm lf_dnn graph_mfn mult mtfn mlmf mlf_dnn; do
        [[ " ${known[*]} " == *" $model "* ]] || continue
        for base in "$models/$model"_*_regression.config.json "$models/$model"_*_classification.config.json; do
            base=$(basename "$base" .config.json)
            keys=M
            case $model in mtfn | mlmf | mlf_dnn) keys="M T A V" ;; esac
            for weights in safetensors pth; do
                file=$models/$base.$weights
                # MMSA's own Graph-MFN file lacks the fusion graph's pair networks (below).
                [ "$weights" = pth ] && [ -f "$models/$base.complete.pth" ] && file=$models/$base.complete.pth
                predict_case "$base" 0 --weights "$file" --out "$weights.npz"
                for key in $keys; do
                    "$fixtures" compare "$weights.npz" "$models/$base.expected.npz" "$key" 1e-5 \
                        >compare 2>&1 || fail "$base $key differs from MMSA's: $(cat compare)"
                done
            done
            cmp -s safetensors.npz pth.npz || fail "$base: .pth and .safetensors outputs differ"
            for batch in 1 3 1000; do
                predict_case "$base" 0 --batch "$batch" --out "batch$batch.npz"
                cmp -s safetensors.npz "batch$batch.npz" || fail "$base: --batch $batch changes the output"
            done
            tested=$((tested + 1))
        done
    done
    [ "$tested" -ge 21 ] || fail "only $tested fixture cases ran"
    # A Graph-MFN checkpoint as MMSA saves it cannot be run: the error says why.
    predict_case graph_mfn_mosi_regression 1 --weights "$models/graph_mfn_mosi_regression.pth" \
        --out plain.npz
    expect_stderr "keeps them in a plain dict"
    [ ! -e plain.npz ] || fail "a refused Graph-MFN checkpoint left an output file"
    # float64 arrays give the same outputs as their float32 values.
    "$fixtures" variants "$models/tfn_mosi_regression.inputs.npz" variants >/dev/null 2>&1 ||
        fail "could not write the input variants"
    predict_case tfn_mosi_regression 0 --out f32.npz
    predict_case tfn_mosi_regression 0 --inputs variants/f64.npz --out f64.npz
    cmp -s f32.npz f64.npz || fail "float64 inputs change the output"
    expect_stderr "^emofuse-predict: tfn, 4 samples in 1 batch \(.* s\): wrote M to \"f64.npz\"$"
    no_temporaries
    ;;
predict_pkl)
    # MMSA's .pkl feature file read directly: the test split of the miniature files holds the
    # fixture's arrays (protocol 2 with big-endian audio and Fortran-order vision, 4 and 5),
    # so every file gives the .npz run's bytes.
    predict_case tfn_mosi_regression 0 --out npz.npz
    for protocol in 2 4 5; do
        predict_case tfn_mosi_regression 0 --inputs "$pkl/mmsa_mini_p$protocol.pkl" --split test \
            --out "p$protocol.npz"
        cmp -s npz.npz "p$protocol.npz" || fail "the protocol $protocol .pkl predicts otherwise than the .npz"
    done
    predict_case tfn_mosi_regression 0 --inputs "$pkl/mmsa_mini_p4.pkl" --split train --out train.npz
    expect_stderr "tfn, 6 samples in 1 batch"
    predict_case tfn_mosi_regression 2 --inputs "$pkl/mmsa_mini_p4.pkl" --out none.npz
    expect_stderr 'usage error: --inputs ".*mmsa_mini_p4.pkl" is a pickle: name the split to run with --split'
    predict_case tfn_mosi_regression 1 --inputs "$pkl/mmsa_mini_p4.pkl" --split tset --out none.npz
    expect_stderr "mmsa_mini_p4.pkl: no key 'tset' in the top-level dict \(it holds 'train', 'valid', 'test'\)"
    predict_case tfn_mosi_regression 1 --inputs "$pkl/hostile_os_system.pkl" --split test --out none.npz
    expect_stderr "GLOBAL 'os system' is refused"
    predict_case tfn_mosi_regression 1 --split test --out none.npz
    expect_stderr "inputs.npz is a ZIP archive \(.npz or a torch.save checkpoint\), not a pickle"
    [ ! -e none.npz ] || fail "a refused .pkl run left an output"
    no_raw_failure
    no_temporaries
    ;;
eval_pkl)
    # --truth FILE.pkl --split S --labels KEY scores as the same labels written as text.
    printf '%s\n' 0.5 -1.25 2 0.1 >pred.txt
    run 0 "$eval" --suite mosi --pred pred.txt --truth "$pkl/mmsa_mini.test_labels.txt"
    cp stdout text.json
    for protocol in 2 4 5; do
        run 0 "$eval" --suite mosi --pred pred.txt --truth "$pkl/mmsa_mini_p$protocol.pkl" \
            --split test --labels regression_labels
        cmp -s stdout text.json || fail "protocol $protocol: the .pkl labels score otherwise than the text"
    done
    printf '%s\n' 0 1 2 1 >classes.txt
    run 0 "$eval" --suite classification --pred classes.txt --truth "$pkl/mmsa_mini_p4.pkl" \
        --split test --labels classification_labels --format table
    expect_stdout "n = 4|4"
    run 1 "$eval" --suite mosi --pred pred.txt --truth "$pkl/mmsa_mini_p4.pkl" --split test \
        --labels raw_text
    expect_stderr 'split "test" has no numeric array "raw_text" \(it has .*"regression_labels"'
    printf '%s\n' 0.5 -1.25 2 >short.txt
    run 1 "$eval" --suite mosi --pred short.txt --truth "$pkl/mmsa_mini_p4.pkl" --split test \
        --labels regression_labels
    expect_stderr "mmsa_mini_p4.pkl:test/regression_labels:4: length mismatch"
    run 1 "$eval" --suite mosi --pred pred.txt --truth "$pkl/mmsa_mini_p4.pkl" --split test \
        --labels text
    expect_stderr "test/text: shape \(4, 7, 16\), expected \(samples,\) or \(samples, 1\)"
    run 2 "$eval" --suite mosi --pred pred.txt --truth "$pkl/mmsa_mini_p4.pkl"
    expect_stderr "is a pickle: name its labels with --split and --labels"
    run 2 "$eval" --suite mosi --pred pred.txt --truth "$pkl/mmsa_mini_p4.pkl" --split test
    expect_stderr "--split and --labels go together"
    run 2 "$eval" --suite ov --pred pred.txt --truth "$pkl/mmsa_mini_p4.pkl" --split test \
        --labels regression_labels
    expect_stderr "the ov suite reads word sets"
    run 1 "$eval" --suite mosi --pred pred.txt --truth "$pkl/hostile_os_system.pkl" --split test \
        --labels regression_labels
    expect_stderr "GLOBAL 'os system' is refused"
    no_raw_failure
    ;;
predict_bert_a)
    # The BERT-era models Self-MM, MMIM, MISA and MulT with use_bert, from MMSA's text_bert rows
    # (and, on unaligned data, the inputs' audio_lengths/vision_lengths): every output equals
    # MMSA's own, with any --batch.
    for base in self_mm_mosi_regression self_mm_mosi_aligned_classification \
        mmim_mosi_classification mmim_mosi_unidirectional_regression misa_mosi_regression \
        mult_mosi_bert_classification; do
        weights=$models/$base.safetensors
        [ -f "$weights" ] || weights=$models/$base.pth # MISA's (large): .pth only
        keys=M
        case $base in self_mm_*) keys="M T A V" ;; esac
        for batch in 4 1 3; do
            predict_case "$base" 0 --weights "$weights" --batch "$batch"
            for key in $keys; do
                "$fixtures" compare out.npz "$models/$base.expected.npz" "$key" 1e-5 \
                    >compare 2>&1 || fail "$base --batch $batch: $key differs from MMSA's: $(cat compare)"
            done
        done
    done
    # Unaligned inputs without their lengths: MMSA's trainer would pass them; the error says so.
    rm -f out.npz
    "$fixtures" repeat "$models/self_mm_mosi_regression.inputs.npz" 4 unpacked.npz >/dev/null 2>&1 ||
        fail "could not write the inputs without lengths"
    predict_case self_mm_mosi_regression 1 --inputs unpacked.npz
    expect_stderr "^emofuse-predict: error: models::self_mm: the inputs have no audio_lengths"
    # A BERT model's inputs without text_bert: the error names the array.
    predict_case self_mm_mosi_regression 1 --inputs "$models/tfn_mosi_regression.inputs.npz"
    expect_stderr "no array 'text_bert'"
    [ ! -e out.npz ] || fail "a refused run wrote an output"
    ;;
predict_text)
    # --text LINES --vocab vocab.txt: transcripts tokenized as BertTokenizer does give the
    # fixture's own text_bert rows back (predict_fixtures transcripts), so MMSA's outputs.
    for base in self_mm_mosi_regression bert_mag_mosi_classification; do
        "$fixtures" transcripts "$models/$base.inputs.npz" lines.txt vocab.txt ||
            fail "could not write the transcripts"
        predict_case "$base" 0 --text lines.txt --vocab vocab.txt --text-length 9
        "$fixtures" compare out.npz "$models/$base.expected.npz" M 1e-5 >compare 2>&1 ||
            fail "$base from --text: M differs from MMSA's: $(cat compare)"
    done
    # Upper-case words only match a cased vocabulary with --cased.
    tr 't' 'T' <lines.txt >upper.txt
    predict_case bert_mag_mosi_classification 0 --text upper.txt --vocab vocab.txt \
        --text-length 9 --out lower.npz
    "$fixtures" compare lower.npz "$models/bert_mag_mosi_classification.expected.npz" M 1e-5 \
        >compare 2>&1 || fail "lower-casing did not map T17 to t17"
    predict_case bert_mag_mosi_classification 0 --text upper.txt --vocab vocab.txt \
        --text-length 9 --cased --out cased.npz
    ! "$fixtures" compare cased.npz "$models/bert_mag_mosi_classification.expected.npz" M 1e-5 \
        >/dev/null 2>&1 || fail "--cased still lower-cased"
    predict_case bert_mag_mosi_classification 2 --text lines.txt
    expect_stderr "usage error: --text LINES.txt and --vocab vocab.txt go together"
    predict_case bert_mag_mosi_classification 2 --cased
    expect_stderr "usage error: --cased and --text-length apply to --text only"
    predict_case tfn_mosi_regression 2 --text lines.txt --vocab vocab.txt
    expect_stderr "usage error: --text: model 'tfn' reads text features, not BERT tokens"
    head -n 2 lines.txt >short.txt
    predict_case bert_mag_mosi_classification 1 --text short.txt --vocab vocab.txt --text-length 9
    expect_stderr "error: --text short.txt: 2 transcripts, but .*inputs.npz holds 4 samples"
    ;;
predict_eval)
    "$fixtures" variants "$models/tfn_mosi_regression.inputs.npz" variants >/dev/null 2>&1 ||
        fail "could not write the input variants"
    predict_case tfn_mosi_regression 0 --eval variants/truth.npy --suite mosi
    expect_stdout "^suite mosi, preset mmsa, n = 4$"
    expect_stdout "^ *Has0_acc_2  [0-9.e-]+$"
    expect_stdout "^ *Corr  "
    cp stdout first
    predict_case tfn_mosi_regression 0 --eval variants/truth_column.npy --suite mosi --batch 1
    cmp -s stdout first || fail "a (N, 1) float64 truth scores differently from (N,) float32"
    predict_case tfn_mosi_regression 0 --eval variants/truth.npy --suite sims
    expect_stdout "^suite sims, preset mmsa, n = 4$"
    # A truth of the wrong length: both shapes named, no output written.
    rm -f out.npz
    predict_case tfn_mosi_regression 1 --eval variants/truth_short.npy --suite mosi
    expect_stderr "truth_short.npy.*has shape \(3,\), expected \(4,\) or \(4, 1\) .*M, shape \(4, 1\)"
    [ ! -e out.npz ] || fail "an output was written although --eval failed"
    predict_case tfn_mosi_classification 2 --eval variants/truth.npy --suite mosi
    expect_stderr "usage error: --eval scores sentiment regression: it needs --mode regression"
    no_temporaries
    ;;
predict_bad_names)
    base=tfn_mosi_regression
    predict_case "$base" 1 --config "$models/config_regression.json" --model tfnn
    expect_stderr "^emofuse-predict: error: models::mmsa_config: no model 'tfnn' in .*config_regression.json$"
    predict_case "$base" 1 --config "$models/config_regression.json" --dataset mosx
    expect_stderr "model 'tfn' has no dataset 'mosx' \\(it has '.*'\\)"
    predict_case "$base" 1 --model lmf
    expect_stderr "the merged configuration is for model 'tfn', not 'lmf'"
    predict_case "$base" 1 --dataset sims
    expect_stderr "the merged configuration is for dataset 'mosi', not 'sims'"
    # MMSA's own file merged for tfn/mosi: 768-wide text and 20-wide vision, the fixture has 16
    # and 7. As MMSA's loader, the model is built for the arrays' widths (and MMSA's shipped
    # hidden sizes), which the checkpoint does not fit: the arrays and tensor are named.
    predict_case "$base" 1 --config "$models/config_regression.json"
    expect_stderr "^emofuse-predict: error: array 'text' has shape \\(4, 7, 16\\), the configuration's feature_dims give \\(4, any, 768\\); array 'vision' has shape \\(4, 9, 7\\), the configuration's feature_dims give \\(4, any, 20\\); the model built for the inputs' widths .* does not fit the checkpoint: .*'Model\\."
    # A model MMSA has and the zoo does not: the error lists the zoo's models.
    sed 's/"model_name": "tfn"/"model_name": "mfm"/' "$models/$base.config.json" >mfm.json
    predict_case "$base" 1 --config mfm.json --model mfm
    expect_stderr "unknown model 'mfm' \(known: tfn"
    predict_case "$base" 1 --config missing.json
    expect_stderr "cannot open 'missing.json'"
    for args in "--mode regress" "--batch 0" "--batch 1048577" "--suite mosii" "--eval t.npy" \
        "--suite mosi" "--bogus 1" "--out"; do
        # shellcheck disable=SC2086
        predict_case "$base" 2 $args
        expect_stderr "^emofuse-predict: usage error: "
        [ "$(wc -l <stderr)" -eq 1 ] || fail "more than one stderr line for $args"
        no_raw_failure
    done
    run 2 "$predict" --model tfn --dataset mosi
    expect_stderr "usage error: --config is required"
    [ ! -e out.npz ] || fail "a refused run wrote an output"
    ;;
predict_bad_arrays)
    "$fixtures" variants "$models/tfn_mosi_regression.inputs.npz" variants >/dev/null 2>&1 ||
        fail "could not write the input variants"
    check_variant() {
        predict_case tfn_mosi_regression 1 --inputs "variants/$1.npz"
        expect_stderr "^emofuse-predict: error: inputs \".*$1.npz\": $2"
        [ "$(wc -l <stderr)" -eq 1 ] || fail "$1: more than one stderr line"
        [ ! -e out.npz ] || fail "$1: an output was written"
        no_raw_failure
    }
    check_variant missing_audio "no array 'audio' \(it holds 'audio_lengths', 'text', 'vision', 'vision_lengths'\)"
    check_variant fewer_audio "array 'audio' has shape \(3, 11, 5\), expected \(4, steps > 0, features > 0\) \(the sample count differs from 'text'\)"
    check_variant flat_audio "array 'audio' has shape \(4, 11\), expected \(4, steps > 0, features > 0\)"
    check_variant long_lengths "array 'audio_lengths' holds 12 at index 1, outside \[0, 11\] \('audio' has shape \(4, 11, 5\)\)"
    check_variant count_lengths "array 'audio_lengths' has shape \(5,\), expected \(4,\)"
    check_variant int_text "array 'text' is stored as I32; expected F32 \(float32\) or F64 \(float64\)"
    # Another feature width than the checkpoint's: array, both shapes and the tensor named.
    predict_case tfn_mosi_regression 1 --inputs variants/wide_audio.npz
    expect_stderr "^emofuse-predict: error: array 'audio' has shape \(4, 11, 6\), the configuration's feature_dims give \(4, any, 5\); .* does not fit the checkpoint: .*'Model\.audio_subnet\."
    [ ! -e out.npz ] || fail "wide_audio: an output was written"
    predict_case tfn_mosi_regression 1 --inputs missing.npz
    expect_stderr "missing.npz"
    printf 'not a zip' >text.npz
    predict_case tfn_mosi_regression 1 --inputs text.npz
    expect_stderr "text.npz"
    no_temporaries
    ;;
predict_bad_weights)
    base=tfn_mosi_regression
    for weights in safetensors pth; do
        head -c 3000 "$models/$base.$weights" >"truncated.$weights"
        predict_case "$base" 1 --weights "truncated.$weights"
        expect_stderr "^emofuse-predict: error: .*truncated.$weights"
        [ "$(wc -l <stderr)" -eq 1 ] || fail "more than one stderr line (.$weights)"
        no_raw_failure
        [ ! -e out.npz ] || fail "an output was written from a truncated .$weights"
    done
    # Another model's checkpoint: the first tensor that does not fit is named.
    predict_case "$base" 1 --weights "$models/lmf_mosi_regression.safetensors"
    expect_stderr "^emofuse-predict: error: .*Model\."
    no_temporaries
    ;;
predict_outputs)
    # A failed run leaves an existing output as it was; a successful one replaces it with a
    # notice; a directory in the way is named.
    printf 'older results\n' >out.npz
    predict_case tfn_mosi_regression 1 --inputs missing.npz
    [ "$(cat out.npz)" = "older results" ] || fail "a failed run changed the existing output"
    predict_case tfn_mosi_regression 0
    expect_stderr "^emofuse-predict: replacing existing \"out.npz\"$"
    "$fixtures" compare out.npz "$models/tfn_mosi_regression.expected.npz" M 1e-5 >/dev/null ||
        fail "the replacing output is wrong"
    mkdir -p blocked.npz
    predict_case tfn_mosi_regression 1 --out blocked.npz
    expect_stderr "blocked.npz"
    no_raw_failure
    no_temporaries
    ;;
predict_signal)
    # SIGINT/SIGTERM at any time leave no output and no temporary behind.
    "$fixtures" repeat "$models/tfn_mosi_regression.inputs.npz" 50000 big.npz ||
        fail "could not write the large input"
    set -m
    interrupted=0
    for delay in 0.3 0.8 1.5 3; do
        for signal in INT TERM; do
            rm -f out.npz
            "$predict" --model tfn --dataset mosi --config "$models/tfn_mosi_regression.config.json" \
                --weights "$models/tfn_mosi_regression.safetensors" --inputs big.npz \
                --batch 7 --out out.npz >stdout 2>stderr &
            pid=$!
            sleep "$delay"
            kill -s "$signal" "$pid" 2>/dev/null
            wait "$pid"
            status=$?
            if [ "$status" -eq $((128 + $(kill -l "$signal"))) ]; then
                interrupted=$((interrupted + 1))
                [ ! -e out.npz ] || fail "SIG$signal after $delay s left out.npz"
                no_temporaries
            else
                [ "$status" -eq 0 ] || fail "exit status $status after SIG$signal"
            fi
        done
    done
    [ "$interrupted" -gt 0 ] || fail "every run ended before its signal"
    rm -f big.npz
    ;;
predict_progress)
    # Progress on a terminal (script gives the run one) for a run of more than a second: the
    # demo's LF_DNN at MMSA's MOSI sizes, one sample per batch.
    command -v script >/dev/null || { echo "PASSED ($case_name): script(1) missing, skipped"; exit 0; }
    "$fixtures" repeat "$zoo/heldout.inputs.npz" 40000 big.npz ||
        fail "could not write the large input"
    zoo_run="$predict --model lf_dnn --dataset mosi --config $zoo/lf_dnn_mosi.config.json --weights $zoo/lf_dnn_mosi.pth --inputs big.npz --batch 1 --out out.npz"
    # The runs may be cut short (status 124): a sanitizer build needs minutes for all of it,
    # and a few seconds are enough to see the progress line (or its absence).
    timeout -k 5 30 script -qec "$zoo_run" /dev/null >stdout 2>&1 </dev/null
    status=$?
    [ "$status" -eq 0 ] || [ "$status" -eq 124 ] || fail "the run on a terminal failed ($status)"
    expect_stdout "emofuse-predict: [0-9]+/40000 samples \\([0-9]+%\\)"
    # ...and none in a pipe.
    # shellcheck disable=SC2086
    timeout -k 5 30 $zoo_run >stdout 2>stderr </dev/null
    status=$?
    [ "$status" -eq 0 ] || [ "$status" -eq 124 ] || fail "the run into a pipe failed ($status)"
    ! grep -q "samples (" stderr || fail "progress printed into a pipe"
    rm -f big.npz out.npz
    ;;
predict_bert_models_b)
    # The BERT-era models BERT_MAG, CENET, ALMT and TETFN read MMSA's text_bert array: M (and
    # T/A/V for TETFN) equal MMSA's outputs, whatever --batch.
    for base in bert_mag_mosi_regression bert_mag_mosi_classification cenet_mosi_regression \
        cenet_mosi_classification almt_mosi_regression tetfn_mosi_regression \
        tetfn_mosi_classification; do
        weights=$models/$base.safetensors
        [ -f "$weights" ] || weights=$models/$base.pth # ALMT's checkpoint is committed as .pth
        keys=M
        case $base in tetfn_*) keys="M T A V" ;; esac
        for batch in 1 3 32; do
            predict_case "$base" 0 --weights "$weights" --batch "$batch" --out "batch$batch.npz"
            for key in $keys; do
                "$fixtures" compare "batch$batch.npz" "$models/$base.expected.npz" "$key" 1e-5 \
                    >compare 2>&1 || fail "$base $key (--batch $batch) differs: $(cat compare)"
            done
        done
        cmp -s batch1.npz batch32.npz || fail "$base: --batch 1 and 32 give different bytes"
    done
    # A feature file without text_bert: the error names the array the BERT models read.
    run 1 "$predict" --model cenet --dataset mosi --config "$models/cenet_mosi_regression.config.json" \
        --weights "$models/cenet_mosi_regression.safetensors" \
        --inputs "$models/tfn_mosi_regression.inputs.npz" --out out.npz
    expect_stderr "no array 'text_bert'"
    no_raw_failure
    [ ! -e out.npz ] || fail "a refused run left an output file"
    ;;
predict_threads_identical)
    # --threads 1, 2 and 3 write the same bytes (each batch's forward runs in fixed runs of 16
    # samples), and those of one sample per forward (--batch 1): a sample's outputs do not
    # depend on the threads or its batch-mates. MISA keeps its batch whole (not
    # batch-invariant, docs/models.md): the same bytes at any thread count too.
    for base in tfn_mosi_regression mfn_mosi_regression graph_mfn_mosi_regression \
        mtfn_sims_regression self_mm_mosi_aligned_classification misa_mosi_regression; do
        weights=$models/$base.safetensors
        [ -f "$weights" ] || weights=$models/$base.pth
        "$fixtures" repeat "$models/$base.inputs.npz" 37 many.npz >/dev/null 2>&1 ||
            fail "could not write the repeated inputs"
        for threads in 1 2 3; do
            predict_case "$base" 0 --weights "$weights" --inputs many.npz --batch 37 \
                --threads "$threads" --out "threads$threads.npz"
            cmp -s threads1.npz "threads$threads.npz" ||
                fail "$base: --threads $threads changes the output"
        done
        if [ "${base%%_*}" != misa ]; then
            predict_case "$base" 0 --weights "$weights" --inputs many.npz --batch 1 --out one.npz
            cmp -s threads1.npz one.npz || fail "$base: runs of 16 samples differ from --batch 1"
        fi
    done
    # EMOFUSE_NUM_THREADS is the default.
    EMOFUSE_NUM_THREADS=2 predict_case tfn_mosi_regression 0 --out env.npz
    EMOFUSE_NUM_THREADS=x predict_case tfn_mosi_regression 1 --out env.npz
    expect_stderr "EMOFUSE_NUM_THREADS: expected a whole number from 1 to 4096"
    for bad in 0 4097 two ""; do
        predict_case tfn_mosi_regression 2 --threads "$bad"
        expect_stderr "^emofuse-predict: usage error: --threads"
    done
    no_temporaries
    ;;
*)
    echo "cases.sh: unknown case '$case_name'" >&2
    exit 2
    ;;
esac
echo "PASSED ($case_name)"
