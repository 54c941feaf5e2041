/*
 * floodgen.c — a SYN flood merged into an ordinary capture, for
 * tests/flood/t_flood.sh (built by the test with cc -O2 ... -lpcap).
 *
 *   floodgen -w OUT.pcap [-r IN.pcap] -n SYNS -s START_US -d SPAN_US
 *            [-v PERMILLE] [-6 PERMILLE] [-S SEED]
 *
 * Writes SYNS TCP SYNs, one per random 5-tuple, at evenly spaced packet
 * times from START_US over SPAN_US microseconds, merged by timestamp with
 * the packets of IN.pcap (copied unchanged; IN must be Ethernet, in time
 * order, as spanwatch-gen writes it). PERMILLE of the SYNs (-v, default
 * 100) go from a random outside address to a victim in 10.200.0.0/16; the
 * rest are transit, -6 PERMILLE of them (default 100) over IPv6. Transit
 * IPv4 addresses avoid every range spanwatch-gen uses (100.64.0.0/10,
 * 192.0.2.0/24, 198.18.0.0/15, 198.51.100.0/24, 203.0.113.0/24) and the
 * victims' /16, so no SYN can fall into a generated flow or a subscriber.
 *
 * The victims' ground truth goes to stdout, one line per victim /20
 * (the test names 10.200.N*16.0/20 "victim-NN"), then a totals line:
 *
 *	victim-NN <TAB> syns <TAB> ip_bytes
 *	# totals syns=N victim_syns=N v6_syns=N in_packets=N out_packets=N
 *
 * Frames: Ethernet II, IPv4 (DF, TTL 64, correct header checksum) or IPv6
 * (hop limit 64), TCP with SYN only, no options, window 1024 and a correct
 * checksum, as a scanner like masscan sends them; IPv4 frames are padded
 * to the Ethernet minimum of 60 bytes (IP bytes 40; IPv6: 60).
 */
#include <pcap/pcap.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NVICTIMS 16

static uint64_t rng_s;

/* splitmix64: small, fast, and good enough for addresses and ports. */
static uint64_t
rnd(void)
{
	uint64_t z = (rng_s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int
in_net(uint32_t a, uint32_t net, int len)
{
	return (a >> (32 - len)) == (net >> (32 - len));
}

/* A random unicast IPv4 address outside every range the test uses. */
static uint32_t
outside4(void)
{
	for (;;) {
		uint32_t a = (uint32_t)rnd();
		unsigned o = a >> 24;

		if (o == 0 || o == 10 || o == 127 || o >= 224)
			continue;
		if (in_net(a, 0x64400000, 10) || in_net(a, 0xc0000200, 24) ||
		    in_net(a, 0xc6120000, 15) || in_net(a, 0xc6336400, 24) ||
		    in_net(a, 0xcb007100, 24))
			continue;
		return a;
	}
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void
put32(unsigned char *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint32_t
sum16(const unsigned char *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static unsigned
fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s & 0xffff;
}

static void
tcp_syn(unsigned char *t, unsigned sport, unsigned dport)
{
	memset(t, 0, 20);
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, (uint32_t)rnd());
	t[12] = 5 << 4;
	t[13] = 0x02;
	put16(t + 14, 1024);
}

/* Builds one SYN into f; returns the frame length. *victim is the victim
 * index or -1 for transit. */
static size_t
syn_frame(unsigned char *f, unsigned v_pm, unsigned v6_pm, int *victim, int *v6)
{
	static const unsigned char mac_dst[6] = { 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01 };
	static const unsigned char mac_src[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };
	unsigned sport = 1024 + (unsigned)(rnd() % 64512), dport = 1 + (unsigned)(rnd() % 65535);
	unsigned r = (unsigned)(rnd() % 1000);

	memcpy(f, mac_dst, 6);
	memcpy(f + 6, mac_src, 6);
	*victim = -1;
	*v6 = 0;
	if (r >= v_pm && rnd() % 1000 < v6_pm) {
		unsigned char *ip = f + 14, *t = ip + 40;
		uint32_t s;

		*v6 = 1;
		put16(f + 12, 0x86dd);
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, 20);
		ip[6] = 6;
		ip[7] = 64;
		/* 2a00::/12 for both ends: never 2001:db8::/32. */
		for (int k = 0; k < 2; k++) {
			unsigned char *a = ip + 8 + 16 * k;
			uint64_t hi = rnd(), lo = rnd();

			hi = (hi & 0x000fffffffffffffULL) | 0x2a00000000000000ULL;
			for (int i = 0; i < 8; i++) {
				a[i] = (unsigned char)(hi >> (56 - 8 * i));
				a[8 + i] = (unsigned char)(lo >> (56 - 8 * i));
			}
		}
		tcp_syn(t, sport, dport);
		s = sum16(ip + 8, 32, 0) + 6 + 20;
		put16(t + 16, fold(sum16(t, 20, s)));
		return 14 + 40 + 20;
	}
	{
		unsigned char *ip = f + 14, *t = ip + 20;
		uint32_t src = outside4(), dst, s;

		if (r < v_pm) {
			dst = 0x0ac80000 | ((uint32_t)rnd() & 0xffff);
			/* Not the /20's network or broadcast-looking .0/.255. */
			if ((dst & 0xff) == 0 || (dst & 0xff) == 255)
				dst ^= 1;
			*victim = (int)((dst >> 12) & 0xf);
		} else
			dst = outside4();
		put16(f + 12, 0x0800);
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, 40);
		put16(ip + 4, (unsigned)(rnd() & 0xffff));
		put16(ip + 6, 0x4000);
		ip[8] = 64;
		ip[9] = 6;
		put32(ip + 12, src);
		put32(ip + 16, dst);
		put16(ip + 10, fold(sum16(ip, 20, 0)));
		tcp_syn(t, sport, dport);
		s = sum16(ip + 12, 8, 0) + 6 + 20;
		put16(t + 16, fold(sum16(t, 20, s)));
		memset(f + 54, 0, 6);
		return 60;
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: floodgen -w OUT.pcap [-r IN.pcap] -n SYNS -s START_US -d SPAN_US "
			"[-v PERMILLE] [-6 PERMILLE] [-S SEED]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *out = NULL, *in = NULL;
	unsigned long long n = 0, start = 0, span = 0, seed = 1;
	unsigned v_pm = 100, v6_pm = 100;
	unsigned long long vsyn[NVICTIMS] = { 0 }, nv = 0, n6 = 0, nin = 0;
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pin = NULL, *pd;
	pcap_dumper_t *dump;
	struct pcap_pkthdr *ih = NULL;
	const u_char *idata = NULL;
	int c, have_in = 0;

	while ((c = getopt(argc, argv, "w:r:n:s:d:v:6:S:")) != -1) {
		switch (c) {
		case 'w': out = optarg; break;
		case 'r': in = optarg; break;
		case 'n': n = strtoull(optarg, NULL, 10); break;
		case 's': start = strtoull(optarg, NULL, 10); break;
		case 'd': span = strtoull(optarg, NULL, 10); break;
		case 'v': v_pm = (unsigned)strtoul(optarg, NULL, 10); break;
		case '6': v6_pm = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'S': seed = strtoull(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (!out || !start || v_pm > 1000 || v6_pm > 1000)
		usage();
	rng_s = seed * 0x2545f4914f6cdd1dULL + 1;

	if (in) {
		if ((pin = pcap_open_offline(in, err)) == NULL) {
			fprintf(stderr, "floodgen: %s\n", err);
			return 1;
		}
		if (pcap_datalink(pin) != DLT_EN10MB) {
			fprintf(stderr, "floodgen: %s: not Ethernet\n", in);
			return 1;
		}
	}
	pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_MICRO);
	if ((dump = pcap_dump_open(pd, out)) == NULL) {
		fprintf(stderr, "floodgen: %s\n", pcap_geterr(pd));
		return 1;
	}
	have_in = pin && pcap_next_ex(pin, &ih, &idata) == 1;
	for (unsigned long long i = 0; i < n || have_in;) {
		unsigned long long t_syn = i < n ? start + (n > 1 ? i * span / (n - 1) : 0) : ~0ULL;
		unsigned long long t_in = have_in ?
		    (unsigned long long)ih->ts.tv_sec * 1000000ULL + (unsigned long long)ih->ts.tv_usec : ~0ULL;

		if (have_in && t_in <= t_syn) {
			pcap_dump((u_char *)dump, ih, idata);
			nin++;
			have_in = pcap_next_ex(pin, &ih, &idata) == 1;
		} else {
			unsigned char f[80];
			struct pcap_pkthdr h;
			int victim, v6;

			h.caplen = h.len = (bpf_u_int32)syn_frame(f, v_pm, v6_pm, &victim, &v6);
			h.ts.tv_sec = (time_t)(t_syn / 1000000ULL);
			h.ts.tv_usec = (suseconds_t)(t_syn % 1000000ULL);
			pcap_dump((u_char *)dump, &h, f);
			if (victim >= 0) {
				vsyn[victim]++;
				nv++;
			}
			n6 += (unsigned long long)v6;
			i++;
		}
	}
	if (pcap_dump_flush(dump) != 0 || ferror(pcap_dump_file(dump))) {
		fprintf(stderr, "floodgen: %s: write error\n", out);
		return 1;
	}
	pcap_dump_close(dump);
	pcap_close(pd);
	if (pin)
		pcap_close(pin);
	for (int v = 0; v < NVICTIMS; v++)
		printf("victim-%02d\t%llu\t%llu\n", v, vsyn[v], vsyn[v] * 40);
	printf("# totals syns=%llu victim_syns=%llu v6_syns=%llu in_packets=%llu out_packets=%llu\n",
	       n, nv, n6, nin, n + nin);
	return 0;
}
