/*
 * fuzz_common.h — what the libFuzzer targets in tests/fuzz/ share: a
 * quiet sensor log, and the fuzzer's input as a file for the loaders that
 * take a path (config_load, submap_load, allowlist_load).
 *
 * Quiet: the loaders report every bad line, and nearly every input has
 * one, so the messages would cost more than the parsing and bury
 * libFuzzer's own lines. They are still formatted (a bad argument to a
 * format is a bug the fuzzer should see), only into /dev/null: the stdio
 * stream stderr is pointed there, while file descriptor 2, where the
 * sanitizers and libFuzzer write, stays. FUZZ_VERBOSE=1 in the
 * environment keeps the messages, to read what a reproducer does.
 *
 * The file: a memfd, rewritten for every input and opened by its
 * /proc/self/fd path, so that no disk is touched per input.
 */
#ifndef SPANWATCH_FUZZ_COMMON_H
#define SPANWATCH_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Logs at the default verbosity (errors and warnings), into /dev/null
 * unless FUZZ_VERBOSE is set. */
static inline void
fuzz_quiet(void)
{
	const char *v = getenv("FUZZ_VERBOSE");
	FILE *null;

	log_init("spanwatch", 0, 0);
	if (v && *v && *v != '0')
		return;
	if ((null = fopen("/dev/null", "w")) != NULL)
		stderr = null;
}

/* Writes size bytes at data to the input file and returns its path (the
 * same string every time), or aborts: without a file there is no test. */
static inline const char *
fuzz_file(const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;

	if (fd < 0) {
		if ((fd = memfd_create("fuzz-input", 0)) < 0)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0)
		abort();
	for (size_t done = 0; done < size;) {
		ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	return path;
}

/* A file that stays as long as the process, holding text (a subscriber
 * map, an allowlist that a target loads again and again); its path goes
 * to path. Returns path, or aborts. */
static inline const char *
fuzz_fixed_file(const char *text, char path[64])
{
	int fd = memfd_create("fuzz-fixed", 0);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		abort();
	snprintf(path, 64, "/proc/self/fd/%d", fd);
	return path;
}

#endif
