#!/bin/sh
# The one place that installs what spanwatch needs on Debian/Ubuntu.
# Used by `make run` (`install-deps.sh run`: what building and the demo
# need), `make test` and .ci/run (everything: the tests' real clients and
# servers too). Idempotent: it only calls apt-get when a package is
# missing, so repeated runs cost a dpkg query.
set -eu

# Building the sensor, the generator and the dashboard, and the demo.
RUN_PKGS="build-essential pkg-config
libpcap-dev libndpi-dev librrd-dev rrdtool libinih-dev libspf2-dev libmicrohttpd-dev
libcurl4-openssl-dev
fonts-dejavu-core"
# The tests: unit framework, oracles (tshark, ndpiReader), real servers
# and clients, the browser, fuzzers and linters, systemd's offline tools
# for the install test, ClickHouse for the scale-out store's tests.
TEST_PKGS="libndpi-bin rrdcached libcmocka-dev tshark tcpdump tcpreplay iproute2
clang libclang-rt-14-dev python3 python3-scapy rsyslog time
chromium
python3-aiosmtpd swaks libnet-ssleay-perl python3-libtorrent
dnsmasq-base cppcheck clang-tidy-14 systemd logrotate groff-base man-db curl
clickhouse-server clickhouse-client"

case ${1:-all} in
run) PKGS=$RUN_PKGS ;;
all) PKGS="$RUN_PKGS $TEST_PKGS" ;;
*) echo "usage: install-deps.sh [run|all]" >&2; exit 2 ;;
esac

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing (run as root or install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends $missing >/dev/null
