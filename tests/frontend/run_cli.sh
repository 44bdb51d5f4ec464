#!/bin/sh
# run_cli.sh SHARPC EXAMPLES: the command line's help, version, exit codes
# (0 success, 1 input errors, 2 usage errors) and no output on failure.
sharpc=$1
ex=$2
fails=0
checks=0
expect() { # expect CODE DESCRIPTION -- ARGS...
    want=$1; what=$2; shift 3
    out=$("$sharpc" "$@" 2>/dev/null); rc=$?
    checks=$((checks + 1))
    if [ "$rc" -ne "$want" ]; then echo "FAIL: $what: exit $rc, expected $want"; fails=$((fails + 1)); else echo "ok   $what"; fi
    if [ "$want" -eq 1 ] && [ -n "$out" ]; then echo "FAIL: $what printed output despite errors"; fails=$((fails + 1)); fi
}
expect 0 "--help" -- --help
expect 0 "--version" -- --version
expect 0 "check --help" -- check --help
expect 0 "dump --help" -- dump --help
expect 2 "no command" --
expect 2 "unknown command" -- chekc x.nas
expect 2 "check without file" -- check
expect 2 "dump without what" -- dump "$ex/tiny.nas"
expect 2 "dump with two kinds" -- dump "$ex/tiny.nas" --ir --dot
expect 2 "unknown option" -- check --frobnicate "$ex/tiny.nas"
expect 1 "missing file" -- check /nonexistent/space.nas
expect 1 "dump of a missing network" -- dump "$ex/tiny.nas" --ir --network nope
expect 1 "dump of a directory" -- dump "$ex" --stats
expect 0 "check tiny.nas" -- check "$ex/tiny.nas"
expect 0 "dump --stats --network" -- dump "$ex/darts_v2.nas" --stats --network darts_v2
"$sharpc" --version | grep -q '^sharpc [0-9]' || { echo "FAIL: version text"; fails=$((fails + 1)); }
"$sharpc" chekc 2>&1 | grep -q "did you mean 'check'" || { echo "FAIL: command suggestion"; fails=$((fails + 1)); }
"$sharpc" check /nonexistent/space.nas 2>&1 | grep -q "cannot read '/nonexistent/space.nas'" || { echo "FAIL: missing file message"; fails=$((fails + 1)); }
echo "$checks passed checks of exit codes; $fails failed"
[ $fails -eq 0 ]
