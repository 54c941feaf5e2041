/*
 * watchdog.h — catches a packet that hangs inside nDPI. nDPI 4.2 carries
 * known infinite loops (a 16-bit index wrap in its DNS dissector) that
 * spanwatch cannot patch; when one strikes, the only sane outcome is to
 * keep the evidence, say so, and exit non-zero so that the service
 * manager restarts the sensor.
 *
 * The capture thread brackets each call into nDPI with watchdog_enter()
 * and watchdog_leave(): two relaxed atomic stores, no lock, no syscall.
 * A separate thread looks twice a second.
 */
#ifndef SPANWATCH_WATCHDOG_H
#define SPANWATCH_WATCHDOG_H

#include <stdint.h>

/* Starts the watchdog thread: a call that stays inside nDPI longer than
 * limit_s seconds writes its packet to a raw-IP pcap file in dir (NULL:
 * /var/tmp, else /tmp), logs the file's name and exits the process with
 * status 1. Returns 0, or -1 (logged). limit_s 0 turns it off. */
int watchdog_start(unsigned limit_s, const char *dir);
void watchdog_stop(void);

/* The packet l3[0..len) (an IP datagram) goes into nDPI now. */
void watchdog_enter(const uint8_t *l3, uint32_t len, uint64_t ts_us);
void watchdog_leave(void);

#endif
