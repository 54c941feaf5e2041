/*
 * kinds.c — the kind registry: name, transport and script of every kind
 * of flow; see kinds.h. The names are the `kind` column of the per-flow
 * truth.
 */
#include "kinds.h"

#include <string.h>

#include "pl_bt.h"
#include "pl_p2p.h"
#include "pl_smtp.h"
#include "pl_web.h"

const struct kind_def kind_defs[K_COUNT] = {
	[K_HTTP] = { "http", TP_TCP, web_http_script },
	[K_TLS] = { "tls", TP_TCP, web_tls_script },
	[K_DNS] = { "dns", TP_UDP, web_dns_script },
	[K_QUIC] = { "quic", TP_UDP, web_quic_script },
	[K_UDP] = { "udp", TP_UDP, web_udp_script },
	[K_BT] = { "bt", TP_TCP, bt_wire_script },
	[K_BT_ENC] = { "bt_enc", TP_TCP, bt_enc_script },
	[K_UTP] = { "utp", TP_UTP, bt_wire_script },
	[K_DHT] = { "dht", TP_UDP, bt_dht_script },
	[K_TRACKER] = { "tracker", TP_TCP, bt_tracker_script },
	[K_EDONKEY] = { "edonkey", TP_TCP, p2p_edonkey_script },
	[K_KAD] = { "kad", TP_UDP, p2p_kad_script },
	[K_GNUTELLA] = { "gnutella", TP_TCP, p2p_gnutella_script },
	[K_SMTP_RELAY_AUTH] = { "smtp_relay_auth", TP_TCP, smtp_script },
	[K_SMTP_RELAY_TLS] = { "smtp_relay_tls", TP_TCP, smtp_script },
	[K_SMTP_AUTH] = { "smtp_auth", TP_TCP, smtp_script },
	[K_SMTP_UNAUTH] = { "smtp_unauth", TP_TCP, smtp_script },
	[K_SMTP_TLS] = { "smtp_tls", TP_TCP, smtp_script },
	[K_SMTP_EXEMPT] = { "smtp_exempt", TP_TCP, smtp_script },
	[K_BT_ENC_BARE] = { "bt_enc_bare", TP_TCP, bt_enc_script },
	[K_UTP_ENC] = { "utp_enc", TP_UTP, bt_enc_script },
};

void kind_rng(const struct flow *f, uint32_t step, struct rng *r)
{
	rng_seed(r, rng_mix(f->seed, step));
}

void kind_msg(struct msg *m, int dir)
{
	memset(m, 0, sizeof(*m));
	m->dir = (uint8_t)dir;
}
