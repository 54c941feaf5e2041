#!/bin/sh
# variants: opt
# Issue 16: no module reaches into another concern's room. Every
# #include "name.h" of sensor/, collectors/ and graphs/ is resolved to the
# folder that holds name.h (the Makefile puts every folder on the include
# path, so the name alone does not say where a header lives), then:
#  - a concern's folder (collectors/smtp, collectors/p2p, any other
#    collectors/NAME/) includes no header of another concern's folder;
#  - collectors/ top (volume, health, the registry) none of a concern's;
#  - sensor/ (any depth) none of a concern's, and of collectors/ top only
#    collector.h, collector_desc.h and registry.h (the interface);
#  - graphs/ only its own headers, sensor/lib/, and what the sensor shares
#    with it on purpose: the RRD schema (rrdschema.h), the descriptors
#    (collector_desc.h, config_key.h, registry.h) and config.h (it reads
#    the sensor's configuration file);
#  - a private header NAME_int.h only from files named NAME*.
# Prints each violation as file:line and fails if there is one.
cd "$TOP" || exit 1
map=$(mktemp)
trap 'rm -f "$map"' EXIT
find sensor collectors graphs -name '*.h' | awk -F/ '{
	n = $NF; d = $0; sub("/[^/]*$", "", d)
	if (n in seen) printf "DUP %s %s %s\n", n, seen[n], d
	seen[n] = d; printf "H %s %s\n", n, d }' >"$map"
if grep -q '^DUP' "$map"; then
	echo "FAIL: one header name in two folders (an include is ambiguous):"
	grep '^DUP' "$map"
	exit 1
fi
files=$(find sensor collectors graphs -name '*.[ch]' | sort)
# shellcheck disable=SC2086 # file names have no spaces
out=$(grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' $files | awk -v map="$map" '
function room(d) {
	if (d ~ /^collectors\/[^\/]+$/) return "concern:" d
	if (d ~ /^collectors\/[^\/]+\//) { sub("^collectors/", "", d); sub("/.*", "", d); return "concern:collectors/" d }
	if (d == "collectors") return "collectors"
	if (d ~ /^sensor\/lib/) return "lib"
	if (d ~ /^sensor/) return "sensor"
	if (d ~ /^graphs/) return "graphs"
	return "other"
}
BEGIN { while ((getline l < map) > 0) { split(l, a, " "); dir[a[2]] = a[3] } }
{
	split($0, p, ":"); file = p[1]; line = p[2]
	h = $0; sub(/^[^"]*"/, "", h); sub(/".*/, "", h)
	if (!(h in dir)) next		# a system or generated header
	fd = file; sub("/[^/]*$", "", fd)
	fr = room(fd); hr = room(dir[h]); base = file; sub(".*/", "", base)
	bad = ""
	if (h ~ /_int\.h$/) {
		stem = h; sub(/_int\.h$/, "", stem)
		if (index(base, stem) != 1) bad = "private header of " stem
	}
	if (fr ~ /^concern:/ && hr ~ /^concern:/ && fr != hr) bad = "another concern"
	if ((fr == "collectors" || fr == "sensor" || fr == "lib") && hr ~ /^concern:/) bad = "a concern'"'"'s room"
	if ((fr == "sensor" || fr == "lib") && hr == "collectors" &&
	    h != "collector.h" && h != "collector_desc.h" && h != "registry.h") bad = "collectors/ beyond its interface"
	if (fr == "lib" && hr != "lib") bad = "sensor/lib includes outside itself"
	if (fr == "graphs" && hr != "graphs" && hr != "lib" && h != "rrdschema.h" &&
	    h != "collector_desc.h" && h != "config_key.h" && h != "registry.h" &&
	    h != "config.h") bad = "graphs/ beyond what the sensor shares with it"
	if (bad != "") printf "%s:%s: includes %s (%s): %s\n", file, line, h, dir[h], bad
}')
n=$(printf '%s' "$out" | grep -c .)
echo "rooms: $(echo "$files" | wc -l) files, $n includes across rooms"
[ "$n" -eq 0 ] && exit 0
printf 'FAIL: %s\n' "$out" | sed '2,$s/^/FAIL: /'
exit 1
