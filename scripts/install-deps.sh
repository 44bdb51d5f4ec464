#!/bin/sh
# install-deps.sh: installs what sharpc needs on Debian 12, from Debian's
# packages: the build tools, flex/bison, LLVM/clang (libFuzzer, later the
# LLVM backend), zlib, PyTorch and NumPy for the reference tests, and the
# Fashion-MNIST data set. Does nothing when everything is already there.
set -e
PACKAGES="build-essential cmake flex bison clang llvm-dev libclang-rt-14-dev zlib1g-dev \
python3 python3-torch python3-numpy dataset-fashion-mnist valgrind"
missing=""
for p in $PACKAGES; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
echo "install-deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
