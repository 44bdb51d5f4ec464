#!/bin/sh
# run_parity.sh SHARPC_BIN [CASE ...]: whole-network parity of sharpc-built
# executables against the PyTorch reference (see parity.py for the cases and
# the `EXE gradients` contract). First checks that every case's PyTorch
# state_dict has exactly the names and shapes of `sharpc dump --ir`, then runs
# each case in training mode and with --eval. Exits non-zero on any failure.
# Needs Debian's PyTorch: /usr/bin/python3 with python3-torch.
set -u
if [ $# -lt 1 ]; then
  echo "usage: $0 SHARPC_BIN [CASE ...]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
sharpc=$1
shift
py=/usr/bin/python3
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "parity: PyTorch missing: install Debian's python3-torch (apt-get install python3-torch)"
  exit 1
fi
status=0
"$py" "$here/check_names.py" "$sharpc" "$@" || status=1
"$py" "$here/parity.py" "$sharpc" "$@" || status=1
exit $status
