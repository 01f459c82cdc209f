#!/usr/bin/env bash
# Fetches the pinned uPlot from the npm registry into this folder (the files the page bundles);
# tests/api/test_assets.py checks the committed files against SHA256SUMS.
set -euo pipefail
cd "$(dirname "$0")"
version=1.6.32
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "uplot@$version" >/dev/null && tar xzf "uplot-$version.tgz")
cp "$work/package/dist/uPlot.iife.min.js" "$work/package/dist/uPlot.min.css" .
cp "$work/package/LICENSE" uPlot.LICENSE
sha256sum -c SHA256SUMS
