#!/bin/sh
# Make the shared Debian rootfs every local base image starts from: a debootstrap
# minbase of bookworm, packed as one tarball so each image build unpacks a pristine copy
# instead of running debootstrap again (about a minute each time).
# Usage: make-rootfs.sh OUT_TAR [MIRROR]
set -eu

out=$1
mirror=${2:-http://deb.debian.org/debian}
suite=bookworm

work=$(mktemp -d "$(dirname "$out")/rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT

debootstrap --variant=minbase "$suite" "$work/root" "$mirror"
# The same mirror inside the image, so recipes can apt-get from it.
echo "deb $mirror $suite main" >"$work/root/etc/apt/sources.list"
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*

# Write under a temporary name: an interrupted run must not leave a tarball that the
# next run would take for a finished one.
tar -C "$work/root" --numeric-owner -cf "$out.part" .
mv "$out.part" "$out"
