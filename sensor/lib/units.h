/*
 * units.h — how operators write numbers, sizes, durations, switches,
 * addresses, ports and names, wherever the sensor reads them (the
 * configuration file, the command line, the subscriber map).
 *
 * Every parser takes a whole NUL-terminated token, rejects trailing
 * garbage, and on failure returns -1 with *why pointing to a static
 * phrase saying what was expected; callers add the file:line and the
 * offending text.
 */
#ifndef SPANWATCH_UNITS_H
#define SPANWATCH_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* An IP address as it travels between modules: family plus the address
 * in network byte order. IPv4 uses the first 4 bytes. */
struct sw_addr {
	int family;		/* AF_INET, AF_INET6; 0 = none */
	uint8_t a[16];
};

/* Longest name units_check_name accepts. */
#define UNITS_NAME_MAX 64

/* A plain decimal number without sign or suffix. 0 ok, -1 bad. */
int units_parse_uint(const char *s, uint64_t *out, const char **why);

/* A size: a decimal number, optionally with a fraction, and an optional
 * suffix k, M, G or T (powers of 1000, as operators count traffic; the
 * case of the letter does not matter). "10G", "1.5M", "500000".
 * The result must be a whole number of bytes. 0 ok, -1 bad. */
int units_parse_size(const char *s, uint64_t *out, const char **why);

/* A duration in seconds: a plain number of seconds or one or more
 * number+unit groups with s, m, h, d ("90", "5m", "1h30m", "2d").
 * 0 ok, -1 bad. */
int units_parse_duration(const char *s, uint64_t *out, const char **why);

/* A switch: yes/no, true/false, on/off, 1/0, in any case.
 * 0 ok (*out 1 or 0), -1 bad. */
int units_parse_bool(const char *s, int *out, const char **why);

/* A TCP/UDP port, 1..65535. 0 ok, -1 bad. */
int units_parse_port(const char *s, uint16_t *out, const char **why);

/* An IPv4 or IPv6 address literal; an IPv6 one may be bracketed
 * ("[2001:db8::1]"). 0 ok, -1 bad. */
int units_parse_addr(const char *s, struct sw_addr *out, const char **why);

/* ADDRESS[:PORT]: "192.0.2.1", "192.0.2.1:53", "2001:db8::1",
 * "[2001:db8::1]:53". *port is set only when a port is given, so the
 * caller presets its default. 0 ok, -1 bad. */
int units_parse_endpoint(const char *s, struct sw_addr *addr, uint16_t *port,
    const char **why);

/* A name that becomes part of a file name (subscribers/NAME.rrd) or a log
 * field: 1..maxlen characters of [A-Za-z0-9._-], not starting with '.'
 * (no ".", "..", hidden files) or '-' (not mistaken for an option by the
 * shell tools an operator points at the file). 0 ok, -1 bad. */
int units_check_name(const char *s, size_t maxlen, const char **why);

/* Writes v the way an operator would write it back: the largest suffix
 * that is exact ("10G", "1500k", "123"). Returns buf. */
char *units_fmt_size(uint64_t v, char *buf, size_t len);

/* Writes seconds as "1h30m", "2d", "45s", "0s". Returns buf. */
char *units_fmt_duration(uint64_t secs, char *buf, size_t len);

#endif
