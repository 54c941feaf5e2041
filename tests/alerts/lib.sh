# lib.sh — sourced by tests/alerts/t_*.sh: builds alertdrv (alertdrv.c)
# against the variant's library, with the Makefile's flags, into $T.
# Needs TOP, T and SW_VARIANT (opt or san); exits 77 if the library of
# that variant is not built.

build_driver() {
	v=${SW_VARIANT:-opt}
	lib="$TOP/build/$v/libspanwatch.a"
	if [ ! -f "$lib" ]; then
		echo "SKIP: $lib not built (make units / make VARIANT=$v units)"
		exit 77
	fi
	san=""
	[ "$v" = san ] && san="-fsanitize=address,undefined -fno-omit-frame-pointer"
	# shellcheck disable=SC2046
	cc -std=c11 -Wall -Wextra -Werror -Wformat=2 -Wshadow -D_GNU_SOURCE -g -O1 $san \
		$(cd "$TOP" && make -s --no-print-directory print-cppflags) \
		-o "$T/alertdrv" "$TOP/tests/alerts/alertdrv.c" "$lib" \
		$(cd "$TOP" && make -s --no-print-directory print-ldlibs) -pthread ||
		{ echo "FAIL: cannot build alertdrv"; exit 1; }
}
