/*
 * pcapw.c — see pcapw.h. The stdio buffer is set before libpcap writes its
 * file header, which is why we open the FILE ourselves.
 */
#include "pcapw.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCAPW_BUF (4u << 20)

struct pcapw {
	pcap_t *dead;
	pcap_dumper_t *d;
	FILE *fp;
	char *buf;
	unsigned snaplen;
	uint64_t packets, bytes;
	const char *path;
};

struct pcapw *pcapw_open(const char *path, unsigned snaplen)
{
	struct pcapw *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->path = path;
	w->snaplen = snaplen;
	w->fp = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
	if (!w->fp) {
		fprintf(stderr, "spanwatch-gen: %s: %s\n", path, strerror(errno));
		free(w);
		return NULL;
	}
	w->buf = malloc(PCAPW_BUF);
	if (w->buf)
		setvbuf(w->fp, w->buf, _IOFBF, PCAPW_BUF);
	w->dead = pcap_open_dead(DLT_EN10MB, snaplen ? (int)snaplen : 65535);
	w->d = w->dead ? pcap_dump_fopen(w->dead, w->fp) : NULL;
	if (!w->d) {
		fprintf(stderr, "spanwatch-gen: %s: cannot start a pcap file\n", path);
		if (w->fp != stdout)
			fclose(w->fp);
		if (w->dead)
			pcap_close(w->dead);
		free(w->buf);
		free(w);
		return NULL;
	}
	return w;
}

void pcapw_write(struct pcapw *w, uint64_t ts_us, const uint8_t *frame, size_t len)
{
	struct pcap_pkthdr h;

	h.ts.tv_sec = (time_t)(ts_us / 1000000);
	h.ts.tv_usec = (suseconds_t)(ts_us % 1000000);
	h.len = (bpf_u_int32)len;
	h.caplen = (bpf_u_int32)(w->snaplen && len > w->snaplen ? w->snaplen : len);
	pcap_dump((u_char *)w->d, &h, frame);
	w->packets++;
	w->bytes += len;
}

int pcapw_close(struct pcapw *w)
{
	int rc = 0;

	if (pcap_dump_flush(w->d) != 0 || ferror(w->fp)) {
		fprintf(stderr, "spanwatch-gen: %s: write error\n", w->path);
		rc = -1;
	}
	/* pcap_dump_close closes the FILE, stdout included; that is fine at
	 * the end of the program */
	pcap_dump_close(w->d);
	pcap_close(w->dead);
	free(w->buf);
	free(w);
	return rc;
}

uint64_t pcapw_packets(const struct pcapw *w)
{
	return w->packets;
}

uint64_t pcapw_frame_bytes(const struct pcapw *w)
{
	return w->bytes;
}
