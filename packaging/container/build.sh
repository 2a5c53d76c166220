#!/usr/bin/env bash
# Builds the PeerFS node image from the .deb the Maven build makes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
tag="${1:-peerfs:latest}"
deb="$(ls -t "$root"/packaging/deb/target/peerfs_*_all.deb 2>/dev/null | head -1)"
if [ -z "$deb" ]; then
  echo "build.sh: no .deb yet: run 'mvn -B -DskipTests package' in $root" >&2
  exit 1
fi
rm -f "$here"/peerfs_*_all.deb
cp "$deb" "$here/"
trap 'rm -f "$here"/peerfs_*_all.deb' EXIT
docker build -t "$tag" "$here"
