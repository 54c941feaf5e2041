#!/bin/sh
# spanwatch-gen is deterministic: the same seed and options give
# byte-identical captures and truth, another seed gives another capture,
# and a small fixed-seed run has a known checksum. When the generator
# changes on purpose, run this test, check the change, and paste the new
# checksums below.
# variants: opt san
set -eu
GEN=${SW_BIN:?}/spanwatch-gen
[ -x "$GEN" ] || { echo "no $GEN: build it first"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/swgen-det.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

PCAP_SHA=32bbd5b9c193f2d1d307e04f895c8ed9d514eb0cb6356749252b9ebb8d49c957
TRUTH_SHA=5de98291980486d09cbb73c5427f54df30b171effb3d268d1b7bc3433d1b480e

opts="--subscribers 60 --packets 30000 --bots 2 --exempt 1 --mail-interval 20 --bt-share 0.3 --p2p-share 0.1"
"$GEN" -q -w "$tmp/a.pcap" --truth "$tmp/a.tsv" --seed 7 $opts
"$GEN" -q -w "$tmp/b.pcap" --truth "$tmp/b.tsv" --seed 7 $opts
"$GEN" -q -w "$tmp/c.pcap" --seed 8 $opts

for f in pcap tsv flows.tsv; do
	cmp "$tmp/a.$f" "$tmp/b.$f" || { echo "FAIL: two runs with seed 7 differ in .$f"; exit 1; }
done
if cmp -s "$tmp/a.pcap" "$tmp/c.pcap"; then
	echo "FAIL: seeds 7 and 8 gave the same capture"
	exit 1
fi
# the output does not depend on where it goes
"$GEN" -q -w - --seed 7 $opts >"$tmp/d.pcap"
cmp "$tmp/a.pcap" "$tmp/d.pcap" || { echo "FAIL: -w - differs from -w FILE"; exit 1; }

pcap_sha=$(sha256sum "$tmp/a.pcap" | cut -d' ' -f1)
truth_sha=$(sha256sum "$tmp/a.tsv" | cut -d' ' -f1)
echo "pcap  sha256 $pcap_sha"
echo "truth sha256 $truth_sha"
if [ "$pcap_sha" != "$PCAP_SHA" ] || [ "$truth_sha" != "$TRUTH_SHA" ]; then
	echo "FAIL: checksums changed (expected pcap $PCAP_SHA, truth $TRUTH_SHA);"
	echo "if the generator changed on purpose, update PCAP_SHA and TRUTH_SHA in $0"
	exit 1
fi
echo "deterministic: identical reruns, seed-dependent, checksums as committed"
