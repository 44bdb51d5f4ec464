#!/bin/sh
# run_golden.sh SHARPC CASE.nas: runs `sharpc check` on a golden case and
# compares its diagnostics with the expected text kept at the end of the same
# file, on lines that start with "#> ". The exit status must be 1.
sharpc=$1
case_file=$(basename "$2")
expected=$(mktemp)
actual=$(mktemp)
trap 'rm -f "$expected" "$actual"' EXIT
sed -n 's/^#> \{0,1\}//p' "$case_file" > "$expected"
"$sharpc" check "$case_file" 2> "$actual"
rc=$?
if [ "$rc" -ne 1 ]; then
    echo "FAIL: sharpc check $case_file exited $rc, expected 1"
    cat "$actual"
    exit 1
fi
if ! diff -u "$expected" "$actual"; then
    echo "FAIL: diagnostics of $case_file differ from the expected text"
    exit 1
fi
echo "ok: $(grep -c ': error: ' "$actual") diagnostics of $case_file match"
