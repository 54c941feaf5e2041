#!/bin/sh
# Writes, for every capture in a folder, what tshark counts as IP: the
# number of frames whose outermost network layer is IPv4 or IPv6, the sum
# of their IP bytes (IPv4 total length, IPv6 payload length + 40, as SPEC
# counts), and how many frames tshark itself calls malformed.
#
#   tests/corpus/tshark-totals.sh ../shared/pcap/ndpi > tests/corpus/tshark-totals.tsv
#
# The output is committed so that `make test` need not run tshark 540
# times; rerun this script when the corpus changes.
set -eu
dir=${1:?usage: tshark-totals.sh PCAP_DIR}
echo "# file	ip_packets	ip_bytes	malformed_frames	(tshark $(tshark --version | head -n 1 | awk '{print $3}'))"
for f in "$dir"/*; do
	[ -f "$f" ] || continue
	tshark -n -r "$f" -T fields -E occurrence=f -E separator=/t \
		-e frame.protocols -e ip.len -e ipv6.plen 2>/dev/null |
	awk -F '\t' -v name="$(basename "$f")" '
	{
		# The outermost IP layer is the first "ip" or "ipv6" in the
		# protocol chain; the first occurrence of its length field is its own.
		n = split($1, layer, ":"); kind = ""
		for (i = 1; i <= n; i++)
			if (layer[i] == "ip" || layer[i] == "ipv6") { kind = layer[i]; break }
		if ($1 ~ /_ws\.malformed/) bad++
		if (kind == "ip" && $2 != "") { pk++; by += $2 }
		else if (kind == "ipv6" && $3 != "") { pk++; by += $3 + 40 }
	}
	END { printf "%s\t%.0f\t%.0f\t%.0f\n", name, pk, by, bad }'
done
