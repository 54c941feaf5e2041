#!/bin/sh
# The one place that installs what spanwatch needs on Debian/Ubuntu.
# Used by `make run`, `make test` and .ci/run. Idempotent: it only calls
# apt-get when a package is missing, so repeated runs cost a dpkg query.
set -eu

PKGS="build-essential pkg-config
libpcap-dev libndpi-dev libndpi-bin librrd-dev rrdtool rrdcached
libinih-dev libcmocka-dev tshark tcpdump tcpreplay iproute2
clang libclang-rt-14-dev python3 libspf2-dev rsyslog time
chromium fonts-dejavu-core
python3-aiosmtpd swaks libnet-ssleay-perl python3-libtorrent
dnsmasq-base cppcheck clang-tidy-14"

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
