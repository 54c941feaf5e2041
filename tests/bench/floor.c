/*
 * floor.c — the benchmark's floor: the fastest a program can go through a
 * capture with libpcap and nothing else. It reads every packet with
 * pcap_next_ex and touches one byte of each (so the data really reaches
 * the CPU), then prints what it saw. bench.sh compiles it itself:
 *   cc -O2 -o build/bench/floor tests/bench/floor.c -lpcap
 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t packets = 0, bytes = 0;
	unsigned sum = 0;
	pcap_t *p;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: floor FILE.pcap\n");
		return 2;
	}
	p = pcap_open_offline(argv[1], err);
	if (!p) {
		fprintf(stderr, "floor: %s\n", err);
		return 1;
	}
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		packets++;
		bytes += h->len;
		if (h->caplen)
			sum += data[h->caplen - 1];
	}
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "floor: %s\n", pcap_geterr(p));
		return 1;
	}
	pcap_close(p);
	/* printing the sum keeps the compiler from skipping the reads */
	printf("floor packets=%" PRIu64 " frame_bytes=%" PRIu64 " sum=%u\n", packets, bytes, sum);
	return 0;
}
