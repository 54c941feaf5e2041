/*
 * allowlist.h — the torrent allowlist ([p2p] allowlist, SPEC "What is
 * counted"): info-hashes of legitimate torrents (a Linux distribution's
 * ISO) whose bytes are counted as bt_allow_* and never alerted.
 *
 * The file has one torrent per line, "HEX40 LABEL": the 20-byte SHA-1
 * info-hash of BEP 3 as 40 hexadecimal digits (either case), then
 * optionally blanks and a free-text label for the operator. Blank lines
 * and lines whose first non-blank character is '#' are comments, and so
 * is anything after " #" on a line.
 *
 * Like the subscriber map, the list decides who is alerted, so every
 * doubtful line is an error and the whole file is refused (a reload keeps
 * the old list). Messages name the line, never the info-hash: hashes are
 * not logged (they say what a subscriber downloads).
 *
 * A list is immutable once loaded; lookups are a binary search over a
 * sorted array, 20 bytes per torrent.
 */
#ifndef SPANWATCH_ALLOWLIST_H
#define SPANWATCH_ALLOWLIST_H

#include <stddef.h>
#include <stdint.h>

/* More torrents than this in one file is an error: memory stays bounded
 * (20 MB at the limit). */
#define ALLOWLIST_MAX 1000000
/* Longest line accepted, without its newline. */
#define ALLOWLIST_LINE_MAX 1024
#define ALLOWLIST_HASH_LEN 20

struct allowlist;

/* Reads the list at path. Every bad line is logged through log_err as
 * "path:line: message" (not 40 hex digits, a bad character, a duplicate,
 * a line too long), up to 200 of them; an unreadable file as
 * "path: reason". Returns the list, or NULL if anything was wrong. An
 * empty file is an empty list. */
struct allowlist *allowlist_load(const char *path);

/* Parses one line (without its newline) as the loader does. Returns 1 and
 * fills hash for a torrent line, 0 for a comment or blank line, -1 for a
 * bad line with *why set to a static phrase. */
int allowlist_parse_line(const char *line, uint8_t hash[ALLOWLIST_HASH_LEN], const char **why);

/* Frees the list; NULL is fine. */
void allowlist_free(struct allowlist *al);

/* 1 when hash (20 bytes, need not be aligned) is on the list, else 0; a
 * NULL list is empty. */
int allowlist_has(const struct allowlist *al, const uint8_t *hash);

/* Torrents on the list (0 for NULL). */
size_t allowlist_count(const struct allowlist *al);

#endif
