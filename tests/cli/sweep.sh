#!/usr/bin/env bash
# tests/cli/sweep.sh — runs the command-line tools over a generated list of hostile arguments
# and inputs (issue 16) and checks what every run must satisfy, whatever the input:
#   * the exit status is 0, 1 or 2 (never a signal, never a sanitizer's abort), and 1 or 2
#     where the input cannot be right (a non-number for a numeric flag, a missing file);
#   * it ends within a time bound;
#   * stderr is at most a few lines and holds no raw C++ failure ("terminate called",
#     "bad_alloc", "vector::", sanitizer reports, ...);
#   * no temporary file remains anywhere under the work directory.
#
# usage: sweep.sh --work DIR --align-data DIR --eval-data DIR
#                 [--eval EXE] [--align EXE] [--demo EXE] [--mpi "MPIEXEC ARGS... EXE"]
# A tool that is not given is skipped (e.g. emofuse-align without HDF5).
set -u
shopt -s globstar nullglob dotglob

work= align_data= eval_data= eval_exe= align_exe= demo_exe= mpi_cmd=
while [ $# -gt 0 ]; do
    case $1 in
    --work) work=$2 ;;
    --align-data) align_data=$2 ;;
    --eval-data) eval_data=$2 ;;
    --eval) eval_exe=$2 ;;
    --align) align_exe=$2 ;;
    --demo) demo_exe=$2 ;;
    --mpi) mpi_cmd=$2 ;;
    *) echo "sweep.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift 2
done
[ -n "$work" ] || { echo "sweep.sh: --work DIR is required" >&2; exit 2; }
for exe in "$eval_exe" "$align_exe" "$demo_exe"; do
    [ -z "$exe" ] || [ -x "$exe" ] || { echo "sweep.sh: '$exe' is not built" >&2; exit 1; }
done

time_limit=${EMOFUSE_SWEEP_SECONDS:-20} # per run (CMake gives the sanitizer build more)
max_stderr_lines=3
forbidden='terminate called|Sanitizer|runtime error:|bad_alloc|bad_array_new_length|vector::|basic_string|what\(\):|Segmentation fault|stack smashing|core dumped|Aborted'

rm -rf "$work"
mkdir -p "$work/in" "$work/runs"
in=$work/in

# ---- hostile input files ------------------------------------------------------------------
: >"$in/empty.txt"
printf '\x00\x01\x02\xff\xfe\x89HDF\r\n\x1a\n\x00\x00garbage\x00' >"$in/binary.bin"
printf '\xff\xfe1\x00\n\x002\x00\n\x00' >"$in/utf16.txt"       # UTF-16LE with its BOM
printf '\xef\xbb\xbf0.5\n-1\n2\n' >"$in/bom.txt"                 # UTF-8 BOM, valid numbers
printf '1\n\x002\n' >"$in/nul.txt"
head -c 300000 /dev/zero | tr '\0' '7' >"$in/long_line.txt"     # one 300 kB line, no newline
mkdir -p "$in/a_directory" "$in/csd_dir"
printf 'plain text, not HDF5\n' >"$in/text.csd"
cp "$in/binary.bin" "$in/binary.csd"
cp "$in/utf16.txt" "$in/utf16.csd"
: >"$in/empty.csd"
mkdir -p "$in/dir.csd"
# A --data directory whose files have the right names and hostile content.
mkdir -p "$in/hostile_data"
cp "$in/binary.bin" "$in/hostile_data/CMU_MOSI_TimestampedWordVectors.csd"
: >"$in/hostile_data/CMU_MOSI_COVAREP.csd"
cp "$in/utf16.txt" "$in/hostile_data/CMU_MOSI_Visual_Facet_42.csd"
mkdir -p "$in/hostile_data/CMU_MOSI_Opinion_Labels.csd"
printf 'not a directory\n' >"$in/a_file"

hostile_files=("$in/missing" "$in/a_directory" "$in/empty.txt" "$in/binary.bin"
               "$in/utf16.txt" "$in/nul.txt" "$in/long_line.txt" /dev/null)
# Values no integer or real flag may accept.
not_numbers=("" abc "1 " $'1\n2' nan -inf 18446744073709551616 -9223372036854775809)
# Numbers at or past every range edge: each must be accepted or refused cleanly.
edge_numbers=(-1 0 +5 1.5 2305843009213693952 18446744073709551615)

failures=()
cases=0

# check_run NAME EXPECT MAXLINES CMD... — EXPECT: any (0, 1 or 2) or fail (1 or 2). Bash
# builtins only around the run itself: the sweep makes hundreds of runs.
check_run() {
    local name=$1 expect=$2 max_lines=$3
    shift 3
    cases=$((cases + 1))
    local dir=$work/runs/$cases
    mkdir "$dir"
    local started=$EPOCHREALTIME status
    cd "$dir" || exit 1
    timeout -k 5 "$time_limit" "$@" >stdout 2>stderr </dev/null
    status=$?
    cd "$work" || exit 1
    echo "$cases ${started} $EPOCHREALTIME $name" >>"$work/times.txt"
    local problem= lines=()
    mapfile -t lines <"$dir/stderr"
    local text=
    IFS= read -r -d '' text <"$dir/stderr"
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        problem="no exit within ${time_limit} s"
    elif [ "$status" -gt 2 ]; then
        problem="exit status $status (a signal or an abort)"
    elif [ "$expect" = fail ] && [ "$status" -eq 0 ]; then
        problem="exit status 0 for input that cannot be right"
    elif [ "$max_lines" != any ] && [ "${#lines[@]}" -gt "$max_lines" ]; then
        problem="${#lines[@]} stderr lines (at most $max_lines)"
    elif [[ $text =~ $forbidden ]]; then
        problem="raw failure on stderr: ${BASH_REMATCH[0]}"
    fi
    local litter=("$dir"/**/*.emofuse-tmp.* "$dir"/**/*.emofuse-old.* "$dir"/**/*.partial
                  "$dir"/**/*.tmp-* "$in"/**/*.emofuse-tmp.* "$in"/**/*.emofuse-old.*)
    if [ -z "$problem" ] && [ ${#litter[@]} -gt 0 ]; then
        problem="temporary files left: ${litter[*]:0:3}"
        rm -rf "${litter[@]}"
    fi
    if [ -n "$problem" ]; then
        text=${text:0:300}
        failures+=("$name: $problem; stderr: ${text//$'\n'/|}")
    fi
}

# numeric_flag LABEL FLAG CMD... : runs CMD FLAG VALUE for every hostile VALUE (and for the
# values in extra_numbers, e.g. one valid run).
extra_numbers=()
numeric_flag() {
    local label=$1 flag=$2
    shift 2
    local value
    for value in "${not_numbers[@]}"; do
        check_run "$label $flag '$value'" fail "$max_stderr_lines" "$@" "$flag" "$value"
    done
    for value in "${edge_numbers[@]}" "${extra_numbers[@]}"; do
        check_run "$label $flag '$value'" any "$max_stderr_lines" "$@" "$flag" "$value"
    done
    check_run "$label $flag (missing value)" fail "$max_stderr_lines" "$@" "$flag"
}

common_bad_arguments() {
    local label=$1
    shift
    local arg
    for arg in --bogus -x "" $'--\n' "$(head -c 5000 /dev/zero | tr '\0' x)"; do
        check_run "$label unknown argument '${arg:0:20}'" fail "$max_stderr_lines" "$@" "$arg"
    done
}

# ---- emofuse-eval --------------------------------------------------------------------------
if [ -n "$eval_exe" ]; then
    d=$eval_data
    mosi=("$eval_exe" --suite mosi --pred "$d/mosi_pred.txt" --truth "$d/mosi_truth.txt")
    cls=("$eval_exe" --suite classification --pred "$d/labels_pred.txt"
         --truth "$d/labels_truth.txt")
    check_run "eval valid run" any "$max_stderr_lines" "${mosi[@]}"
    check_run "eval --help" any any "$eval_exe" --help
    check_run "eval no arguments" fail any "$eval_exe"
    common_bad_arguments eval "${mosi[@]}"
    numeric_flag eval --num-classes "${cls[@]}"
    numeric_flag eval --bootstrap "${mosi[@]}"
    numeric_flag eval --seed "${mosi[@]}" --bootstrap 10
    numeric_flag eval --threads "${mosi[@]}" --bootstrap 10
    numeric_flag eval --confidence "${mosi[@]}" --bootstrap 10
    for flag in --suite --preset --nan --format; do
        for value in bogus $'x\ny'; do
            check_run "eval $flag '${value:0:20}'" fail "$max_stderr_lines" "${mosi[@]}" "$flag" "$value"
        done
    done
    for file in "${hostile_files[@]}" "$in/bom.txt"; do
        check_run "eval --pred $(basename "$file")" any "$max_stderr_lines" \
            "$eval_exe" --suite mosi --pred "$file" --truth "$d/mosi_truth.txt"
        check_run "eval --truth $(basename "$file")" any "$max_stderr_lines" \
            "$eval_exe" --suite mosi --pred "$d/mosi_pred.txt" --truth "$file"
        check_run "eval --groups $(basename "$file")" any "$max_stderr_lines" \
            "$eval_exe" --suite ov --pred "$d/ov_pred.txt" --truth "$d/ov_truth.txt" \
            --groups "$file"
    done
    for out in "$in/a_directory" "$in/a_file/x.svg" /proc/version/x.svg; do
        check_run "eval --confusion-svg $out" fail "$max_stderr_lines" "${cls[@]}" \
            --confusion-svg "$out"
    done
    check_run "eval --confusion-svg in a missing directory" any "$max_stderr_lines" "${cls[@]}" \
        --confusion-svg "$in/missing_dir/x.svg"
fi

# ---- emofuse-align -------------------------------------------------------------------------
if [ -n "$align_exe" ]; then
    a=$align_data
    base=("$align_exe" --quiet --reference words --collapse mean)
    inputs=("$a/words.csd" "$a/labels.csd")
    check_run "align valid run" any "$max_stderr_lines" "${base[@]}" --out out "${inputs[@]}"
    check_run "align --help" any any "$align_exe" --help
    check_run "align no arguments" fail "$max_stderr_lines" "$align_exe"
    common_bad_arguments align "${base[@]}" --out out "${inputs[@]}"
    numeric_flag align --seq-len "${base[@]}" --out out --tensors "${inputs[@]}"
    numeric_flag align --gzip "${base[@]}" --out out "${inputs[@]}"
    for flag in --reference --collapse --pad --impute; do
        for value in "" "mean,,std" $'words\n' "$(head -c 5000 /dev/zero | tr '\0' x)"; do
            check_run "align $flag '${value:0:20}'" fail "$max_stderr_lines" \
                "$align_exe" --quiet --reference words --out out "$flag" "$value" "${inputs[@]}"
        done
    done
    for file in "${hostile_files[@]}" "$in/text.csd" "$in/binary.csd" "$in/utf16.csd" \
        "$in/empty.csd" "$in/dir.csd"; do
        check_run "align input $(basename "$file")" fail "$max_stderr_lines" \
            "${base[@]}" --out out "$a/words.csd" "$file"
    done
    # Malformed HDF5 content (read per video: a file whose videos all get removed is fine).
    for file in "$a"/bad/*.csd; do
        check_run "align input $(basename "$file")" any "$max_stderr_lines" \
            "${base[@]}" --out out "$a/words.csd" "$file"
        check_run "align reference $(basename "$file")" any "$max_stderr_lines" \
            "$align_exe" --quiet --reference "$(basename "$file" .csd)" --out out "$file"
    done
    for out in "$in/a_file" "$in/a_file/sub" /proc/version/out "" $'out\nx'; do
        check_run "align --out '$out'" any "$max_stderr_lines" "${base[@]}" --out "$out" \
            "${inputs[@]}"
    done
    # Outputs blocked by directories of the same names, and an input given twice.
    mkdir -p "$work/blocked/labels.npy"
    check_run "align output blocked by a directory" fail "$max_stderr_lines" \
        "${base[@]}" --tensors --seq-len 3 --out "$work/blocked" "${inputs[@]}"
    check_run "align the same input twice" fail "$max_stderr_lines" \
        "${base[@]}" --out out "$a/words.csd" "$a/words.csd"
    check_run "align output onto the input" fail "$max_stderr_lines" \
        "${base[@]}" --out "$a" "${inputs[@]}"
fi

# ---- emofuse-demo --------------------------------------------------------------------------
if [ -n "$demo_exe" ]; then
    # --aligned at a few utterances: the cheapest full run (the embedded set's 150-frame audio
    # makes the attention rows slow in the sanitizer build).
    small=("$demo_exe" --aligned --train 4 --test 2 --seq-len 5)
    check_run "demo --help" any any "$demo_exe" --help
    common_bad_arguments demo "${small[@]}"
    numeric_flag demo --train "$demo_exe" --aligned --test 2 --seq-len 5
    numeric_flag demo --test "$demo_exe" --aligned --train 4 --seq-len 5
    numeric_flag demo --seed "${small[@]}"
    numeric_flag demo --seq-len "$demo_exe" --aligned --train 4 --test 2
    if "$demo_exe" --write-sample-csd "$in/sample" --train 40 --test 20 >/dev/null 2>&1; then
        extra_numbers=(0.5)
        numeric_flag demo --test-fraction "$demo_exe" --data "$in/sample" --seq-len 4
        extra_numbers=()
        for dir in "$in/missing" "$in/a_file" "$in/a_directory" "$in/hostile_data" ""; do
            check_run "demo --data '$dir'" fail "$max_stderr_lines" "$demo_exe" --data "$dir"
        done
        for dir in "$in/a_file" "$in/a_file/sub" /proc/version/out "$in/hostile_data"; do
            check_run "demo --write-sample-csd '$dir'" fail "$max_stderr_lines" \
                "$demo_exe" --write-sample-csd "$dir" --train 4 --test 2
        done
    else
        failures+=("demo --write-sample-csd: could not write the sample files")
    fi
fi

# ---- emofuse-mpi-eval (under mpiexec; each run costs a second or two) ---------------------
if [ -n "$mpi_cmd" ]; then
    read -r -a mpi <<<"$mpi_cmd"
    check_run "mpi-eval --help" any any "${mpi[@]}" --help
    for value in abc -1 18446744073709551616; do
        # mpiexec adds its own multi-line notice about the failed rank: no line limit here.
        check_run "mpi-eval '$value'" fail any "${mpi[@]}" "$value"
    done
fi

echo "sweep: $cases runs, ${#failures[@]} failed"
for failure in "${failures[@]}"; do
    echo "FAILED: $failure"
done
[ ${#failures[@]} -eq 0 ]
