/*
 * floor.c — the benchmark's floor: the fastest a program can go through a
 * capture with libpcap and nothing else. It reads every packet with
 * pcap_next_ex and touches one byte of each (so the data really reaches
 * the CPU), then prints what it saw. bench.sh compiles it itself:
 *   cc -O2 -o build/bench/floor tests/bench/floor.c -lpcap
 *
 * pcap_open_offline reads through stdio with the file's block size, 4 KiB:
 * a read(2) per few packets. Where a system call is dear (a virtual
 * machine with page-table isolation), that alone can make the loop five
 * times slower than the data, so "-b" reads through a 1 MiB buffer
 * (pcap_fopen_offline on a FILE given one by setvbuf) for the floor that
 * is the data's own.
 */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	static char buf[1 << 20];
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t packets = 0, bytes = 0;
	unsigned sum = 0;
	pcap_t *p;
	int rc, big = argc == 3 && strcmp(argv[1], "-b") == 0;
	FILE *f;

	if (argc != 2 && !big) {
		fprintf(stderr, "usage: floor [-b] FILE.pcap\n");
		return 2;
	}
	if (big) {
		if ((f = fopen(argv[2], "rb")) == NULL) {
			fprintf(stderr, "floor: %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		setvbuf(f, buf, _IOFBF, sizeof buf);
		p = pcap_fopen_offline(f, err);
	} else
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
