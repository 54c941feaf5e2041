/*
 * fuzz_spf.c — libFuzzer target for what spanwatch itself reads on the
 * SPF path (collectors/smtp/spf_dns.c, collectors/smtp/spf_cache.c): DNS answers from
 * whoever runs a sender's domain, parsed into libspf2's record sets
 * (spf_dns_parse: rcodes, A/AAAA lengths, TXT character-strings, MX and
 * PTR names with compression, the SOA MINIMUM of negative answers), the
 * terms of the SPF records in them that authorise nearly everyone
 * (spf_broad_terms, collectors/smtp/spf_broad.c), the domain check
 * (spf_dns_name_ok) and cache keys (spf_cache_key) of names from packets.
 *
 * Input: byte 0 picks the query type (low 3 bits) and the form (bit 3):
 * raw, the rest is the DNS message as it came; or built, the rest
 * describes a message (byte 1: flags and rcode, byte 2: count fudge, then
 * records of [section/type byte, ttl byte, rdlen byte, rdata]) so that
 * the fuzzer reaches well-formed sections quickly and then breaks them.
 * The first 64 bytes after byte 0 are also tried as a domain name.
 * Checks after every call: a record set always comes back, its herrno
 * is one of the four, it never holds more records than the answer
 * section, every string in it ends within its buffer; a TXT record's
 * broad terms count the same with and without the rewrite, the rewrite
 * fits the bound spf_broad.h gives and holds no broad term itself.
 *
 * Seeds are built in: a corpus directory named on the command line that
 * does not exist is created with them (one per record type, a negative
 * answer, a raw message), so the target needs no seed script; an
 * existing directory is never written to here.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isensor \
 *       tests/fuzz/fuzz_spf.c collectors/smtp/spf_dns.c collectors/smtp/spf_cache.c collectors/smtp/spf_broad.c sensor/lib/log.c \
 *       -lspf2 -lresolv -pthread -o fuzz_spf
 *   ./fuzz_spf -max_total_time=60
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <spf2/spf.h>

#include "spf_broad.h"
#include "spf_cache.h"
#include "spf_dns.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Built-form seeds (see build()): byte 0 the query type, then flags and
 * rcode, count fudge, records. */
static const struct {
	const char *name;
	size_t len;
	const char *bytes;
} seeds[] = {
	{ "txt", 26, "\x03\x00\x00\x03,\x0e\x0dv=spf1 ip4:1 \x03\x10\x03\x02-a" },
	{ "txt-broad", 77, "\x03\x00\x00\x03,GFv=spf1 +all ip4:0.0.0.0/1 ip6:2000::/3 a/8 mx//0 exists:x.example -all" },
	{ "a", 17, "\x00\x00\x00\x05\x10\x04\x01x\xc0\x0c\x00,\x04\xc0\x00\x02\x01" },
	{ "aaaa", 22, "\x01\x00\x00\x01,\x10 \x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01" },
	{ "mx", 13, "\x02\x00\x00\x02,\x07\x00\x0a\x02mx\xc0\x0c" },
	{ "ptr", 11, "\x04\x00\x00\x04,\x05\x02hp\xc0\x0c" },
	{ "nxdomain", 30, "\x03" "0\x00\x86\x10\x18\xc0\x0c\xc0\x0c\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00*" },
	{ "raw", 42, "\x0b\x12" "4\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\x01q\x07" "example\x00\x00\x10\x00\x01\xc0\x0c\x00\x10\x00\x01\x00\x00\x00<\x00\x02\x01x" },
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	for (int i = 1; i < *argc; i++) {
		const char *dir = (*argv)[i];
		char path[4096];

		if (dir[0] == '-' || mkdir(dir, 0755) < 0)
			continue;	/* an option, or it exists */
		for (size_t k = 0; k < sizeof seeds / sizeof *seeds; k++) {
			FILE *fp;

			snprintf(path, sizeof path, "%s/seed-%s", dir, seeds[k].name);
			if ((fp = fopen(path, "wb")) != NULL) {
				fwrite(seeds[k].bytes, 1, seeds[k].len, fp);
				fclose(fp);
			}
		}
	}
	return 0;
}

static const int qtypes[8] = {
	ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_txt, ns_t_ptr, ns_t_txt, ns_t_soa, ns_t_cname,
};

static const uint16_t rtypes[8] = {
	ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_txt, ns_t_ptr, ns_t_cname, ns_t_soa, 99,
};

/* A message for "q.example" built from the description at d. */
static size_t
build(uint8_t *m, size_t cap, int qtype, const uint8_t *d, size_t n)
{
	static const uint8_t qname[] = "\x01q\x07" "example";
	size_t o = 0, i = 2;
	unsigned cnt[2] = { 0, 0 };

	if (n < 2)
		return 0;
	m[o++] = 0xab; m[o++] = 0xcd;
	m[o++] = 0x81 | (d[0] & 0x02);			/* QR, RD, maybe TC */
	m[o++] = 0x80 | (d[0] >> 4);			/* RA, rcode */
	m[o++] = 0; m[o++] = 1;
	o += 6;						/* counts, below */
	memcpy(m + o, qname, sizeof qname);
	o += sizeof qname;
	m[o++] = (uint8_t)(qtype >> 8); m[o++] = (uint8_t)qtype;
	m[o++] = 0; m[o++] = 1;
	/* Answers first, then authority: a record of the other section
	 * ends the answers. */
	for (int sec = 0; sec < 2; sec++) {
		while (i + 3 <= n) {
			unsigned s = d[i] >> 7, len = d[i + 2];

			if ((int)s != sec)
				break;
			if (i + 3 + len > n || o + 12 + len > cap)
				return o;
			uint16_t t = rtypes[d[i] & 7];
			m[o++] = 0xc0; m[o++] = 0x0c;
			m[o++] = (uint8_t)(t >> 8); m[o++] = (uint8_t)t;
			m[o++] = 0; m[o++] = (d[i] & 0x40) ? 3 : 1;	/* IN, or CHAOS */
			m[o++] = 0; m[o++] = 0; m[o++] = d[i + 1] >> 4; m[o++] = d[i + 1];
			m[o++] = 0; m[o++] = (uint8_t)len;
			memcpy(m + o, d + i + 3, len);
			o += len;
			i += 3 + len;
			cnt[sec]++;
		}
	}
	/* Counts as built, or off by a little (d[1]). */
	cnt[0] += (d[1] & 3) == 1;
	cnt[1] += (d[1] & 3) == 2;
	m[6] = 0; m[7] = (uint8_t)cnt[0];
	m[8] = 0; m[9] = (uint8_t)cnt[1];
	m[10] = 0; m[11] = (d[1] & 3) == 3;
	return o;
}

static void
check_set(SPF_dns_rr_t *rr, int type, const uint8_t *msg, size_t len)
{
	if (!rr)
		abort();	/* only when out of memory */
	if (rr->herrno != NETDB_SUCCESS && rr->herrno != HOST_NOT_FOUND && rr->herrno != NO_DATA &&
	    rr->herrno != TRY_AGAIN)
		abort();
	if (rr->num_rr < 0 || (len >= 8 && rr->num_rr > (msg[6] << 8 | msg[7])))
		abort();
	if (rr->herrno != NETDB_SUCCESS && rr->num_rr != 0)
		abort();
	for (int i = 0; i < rr->num_rr; i++) {
		if (type == ns_t_txt || type == ns_t_mx || type == ns_t_ptr) {
			if (!memchr(rr->rr[i]->txt, '\0', rr->rr_buf_len[i]))
				abort();
		} else if (type == ns_t_a && rr->rr_buf_len[i] < 4) {
			abort();
		} else if (type == ns_t_aaaa && rr->rr_buf_len[i] < 16) {
			abort();
		}
	}
}

/* Broad terms of each TXT record (spf_broad.h), for both families. */
static void
check_broad(const SPF_dns_rr_t *rr)
{
	static char out[8192 * 3 / 2 + 2];

	for (int i = 0; i < rr->num_rr; i++) {
		const char *txt = rr->rr[i]->txt;
		size_t need = strlen(txt) * 3 / 2 + 2;

		if (need > sizeof out)
			continue;
		for (int fam = 4; fam <= 6; fam += 2) {
			int n = spf_broad_terms(txt, fam, NULL, 0);

			if (n < 0 || spf_broad_terms(txt, fam, out, need) != n ||
			    !memchr(out, '\0', need) || spf_broad_terms(out, fam, NULL, 0) != 0)
				abort();
		}
	}
}

static void
check_name(const uint8_t *d, size_t n)
{
	char name[65];
	struct spf_key k;
	uint8_t addr[16] = { 0 };

	if (n > 64)
		n = 64;
	memcpy(name, d, n);
	name[n] = '\0';
	if (spf_dns_name_ok(name)) {
		size_t len = strlen(name);

		if (len == 0 || len > SPF_NAME_MAX + 1 || strchr(name, '@') || strchr(name, ' '))
			abort();
	}
	spf_cache_key(&k, 4, addr, name);
	if (!memchr(k.domain, '\0', sizeof k.domain))
		abort();
	for (const char *p = k.domain; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t msg[8192];
	uint32_t ttl;
	size_t len;

	if (size < 1)
		return 0;
	int type = qtypes[data[0] & 7];
	check_name(data + 1, size - 1);
	if (data[0] & 8) {
		len = size - 1 < sizeof msg ? size - 1 : sizeof msg;
		memcpy(msg, data + 1, len);
	} else {
		len = build(msg, sizeof msg, type, data + 1, size - 1);
	}
	SPF_dns_rr_t *rr = spf_dns_parse(NULL, "q.example", type, msg, len, &ttl);
	check_set(rr, type, msg, len);
	if (type == ns_t_txt && rr->herrno == NETDB_SUCCESS)
		check_broad(rr);
	SPF_dns_rr_free(rr);
	return 0;
}
