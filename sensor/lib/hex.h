/*
 * hex.h — the value of one hexadecimal digit, for every reader of hex
 * text: the allowlist's info-hashes, the percent-escaped info_hash of a
 * tracker request, a tracker reply's chunk-size line.
 */
#ifndef SPANWATCH_HEX_H
#define SPANWATCH_HEX_H

/* 0-15 for 0-9, a-f and A-F; -1 for any other value (an int, so that
 * a byte and EOF alike can be asked). */
static inline int
hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
