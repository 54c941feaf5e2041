#!/bin/sh
# Writes, for every capture in a folder, what tshark counts as IP: the
# number of frames whose outermost network layer is IPv4 or IPv6, the sum
# of their IP bytes (IPv4 total length, IPv6 payload length + 40, as SPEC
# counts; where the frame proves that length false, tshark's "IPv4 total
# length exceeds packet length (N bytes)" or "IPv6 payload length exceeds
# framing length (N bytes)", the N bytes the frame carried, as spanwatch
# bills them), and how many frames tshark itself calls malformed.
#
#   tests/corpus/tshark-totals.sh ../shared/pcap/ndpi > tests/corpus/tshark-totals.tsv
#
# The output is committed so that `make test` need not run tshark 540
# times; rerun this script when the corpus changes. (The rows of the 8
# captures whose IP lengths lie were rewritten when the lengths rule came;
# the others are as an older version of this script wrote them, which
# summed the claimed lengths.)
set -eu
dir=${1:?usage: tshark-totals.sh PCAP_DIR}
echo "# file	ip_packets	ip_bytes	malformed_frames	(tshark $(tshark --version | head -n 1 | awk '{print $3}'))"
for f in "$dir"/*; do
	[ -f "$f" ] || continue
	tshark -n -r "$f" -T fields -E occurrence=a -E aggregator='|' -E separator=/t \
		-e frame.protocols -e ip.len -e ipv6.plen -e _ws.expert.message 2>/dev/null |
	awk -F '\t' -v name="$(basename "$f")" '
	# The number in the first length message of the outermost layer,
	# or -1 when the frame has none.
	function carried(msgs, text,    m, i, k, v) {
		k = split(msgs, m, "|")
		for (i = 1; i <= k; i++)
			if (index(m[i], text) == 1) {
				v = substr(m[i], length(text) + 1)
				sub(/ bytes\).*/, "", v)
				return v + 0
			}
		return -1
	}
	{
		# The outermost IP layer is the first "ip" or "ipv6" in the
		# protocol chain; the first occurrence of its length field is its own.
		n = split($1, layer, ":"); kind = ""
		for (i = 1; i <= n; i++)
			if (layer[i] == "ip" || layer[i] == "ipv6") { kind = layer[i]; break }
		if ($1 ~ /_ws\.malformed/) bad++
		split($2, v4, "|"); split($3, v6, "|")
		# Under Cisco FabricPath tshark takes the last 4 bytes for a
		# CRC, and calls a length that fits the frame too long (ajp.pcap).
		fcs = $1 ~ /:cfp:/
		if (kind == "ip" && v4[1] != "") {
			pk++; len = v4[1] + 0
			c = fcs ? -1 : carried($4, "IPv4 total length exceeds packet length (")
			by += c >= 0 && c < len ? c : len
		} else if (kind == "ipv6" && v6[1] != "") {
			pk++; len = v6[1] + 0
			c = fcs ? -1 : carried($4, "IPv6 payload length exceeds framing length (")
			by += (c >= 0 && c < len ? c : len) + 40
		}
	}
	END { printf "%s\t%.0f\t%.0f\t%.0f\n", name, pk, by, bad }'
done
