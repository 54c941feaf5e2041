/*
 * test_bytes.c — the checked accessor (bytes.h): every read at the last
 * byte of the view, at its end and one past it, a value that spans the
 * end, offsets near 2^32 (no wrap-around), the sticky error, and the
 * view operations. The view covers the first 8 of 10 constructed bytes,
 * so a read that ignored the length would return the two bytes behind
 * the view (0xf0 0x0d), not 0: the expected values are the constructed
 * bytes, written out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bytes.h"

static const uint8_t buf[10] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xf0, 0x0d };
#define LEN 8u

static struct bytes
view(void)
{
	return bytes_of(buf, LEN);
}

static void
test_u8_boundaries(void **state)
{
	struct bytes b = view();

	assert_int_equal(bytes_u8(&b, 0), 0x01);
	assert_int_equal(bytes_u8(&b, LEN - 1), 0xef);		/* len-1: the last byte */
	assert_int_equal(b.err, 0);
	assert_int_equal(bytes_u8(&b, LEN), 0);			/* len: outside */
	assert_int_equal(b.err, 1);
	b = view();
	assert_int_equal(bytes_u8(&b, LEN + 1), 0);		/* len+1 */
	assert_int_equal(b.err, 1);
	b = view();
	assert_int_equal(bytes_u8(&b, UINT32_MAX), 0);
	assert_int_equal(b.err, 1);
}

static void
test_be_boundaries(void **state)
{
	struct bytes b = view();

	assert_int_equal(bytes_be16(&b, LEN - 2), 0xcdef);	/* ends at len */
	assert_int_equal(bytes_be32(&b, LEN - 4), 0x89abcdefu);
	assert_true(bytes_be64(&b, 0) == 0x0123456789abcdefULL);
	assert_int_equal(b.err, 0);

	/* A value that spans the end: one byte inside, the rest behind it. */
	b = view();
	assert_int_equal(bytes_be16(&b, LEN - 1), 0);
	assert_int_equal(b.err, 1);
	b = view();
	assert_int_equal(bytes_be32(&b, LEN - 3), 0);
	assert_int_equal(b.err, 1);
	b = view();
	assert_true(bytes_be64(&b, 1) == 0);
	assert_int_equal(b.err, 1);

	/* At len and len+1. */
	b = view();
	assert_int_equal(bytes_be16(&b, LEN), 0);
	assert_int_equal(b.err, 1);
	b = view();
	assert_int_equal(bytes_be32(&b, LEN + 1), 0);
	assert_int_equal(b.err, 1);

	/* Offsets whose sum with the width wraps around 2^32. */
	b = view();
	assert_int_equal(bytes_be16(&b, UINT32_MAX), 0);
	assert_int_equal(bytes_be32(&b, UINT32_MAX - 2), 0);
	assert_true(bytes_be64(&b, UINT32_MAX - 6) == 0);
	assert_int_equal(b.err, 1);
}

static void
test_le(void **state)
{
	struct bytes b = view();

	assert_int_equal(bytes_le16(&b, LEN - 2), 0xefcd);
	assert_int_equal(bytes_le32(&b, LEN - 4), 0xefcdab89u);
	assert_int_equal(b.err, 0);
	assert_int_equal(bytes_le16(&b, LEN - 1), 0);
	assert_int_equal(b.err, 1);
	b = view();
	assert_int_equal(bytes_le32(&b, LEN - 2), 0);
	assert_int_equal(b.err, 1);
}

static void
test_sticky(void **state)
{
	struct bytes b = view();

	assert_int_equal(bytes_be16(&b, LEN - 1), 0);
	/* A good read after a bad one still reads, but the error stays. */
	assert_int_equal(bytes_be16(&b, 0), 0x0123);
	assert_int_equal(b.err, 1);
}

static void
test_views(void **state)
{
	struct bytes b = view(), t;

	assert_true(bytes_has(&b, 0, LEN));
	assert_false(bytes_has(&b, 0, LEN + 1));
	assert_true(bytes_has(&b, LEN, 0));
	assert_false(bytes_has(&b, LEN + 1, 0));
	assert_false(bytes_has(&b, 1, UINT32_MAX));
	assert_int_equal(b.err, 0);			/* bytes_has never sets it */

	assert_ptr_equal(bytes_at(&b, 4, 4), buf + 4);
	assert_int_equal(b.err, 0);
	assert_null(bytes_at(&b, 4, 5));
	assert_int_equal(b.err, 1);

	b = view();
	assert_true(bytes_eq(&b, 5, "\xab\xcd\xef", 3));
	assert_false(bytes_eq(&b, 6, "\xcd\xef\xf0", 3));	/* the f0 is behind the view */
	assert_int_equal(b.err, 1);

	b = view();
	t = bytes_from(&b, 6);
	assert_ptr_equal(t.p, buf + 6);
	assert_int_equal(t.len, 2);
	assert_int_equal(bytes_be16(&t, 0), 0xcdef);
	t = bytes_from(&b, LEN);
	assert_int_equal(t.len, 0);
	assert_int_equal(b.err, 0);
	t = bytes_from(&b, LEN + 1);
	assert_int_equal(t.len, 0);
	assert_int_equal(b.err, 1);

	b = view();
	assert_int_equal(bytes_skip(&b, 3), 0);
	assert_int_equal(bytes_u8(&b, 0), 0x67);
	assert_int_equal(b.len, LEN - 3);
	assert_int_equal(bytes_skip(&b, LEN - 2), -1);	/* one more than is left */
	assert_int_equal(b.len, LEN - 3);		/* unchanged */
	assert_int_equal(b.err, 1);
	b = view();
	assert_int_equal(bytes_skip(&b, LEN), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(bytes_u8(&b, 0), 0);
	assert_int_equal(b.err, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u8_boundaries),
		cmocka_unit_test(test_be_boundaries),
		cmocka_unit_test(test_le),
		cmocka_unit_test(test_sticky),
		cmocka_unit_test(test_views),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
