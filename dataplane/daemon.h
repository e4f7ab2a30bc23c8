/* daemon.h: what the edgedns programs share at start-up and with systemd:
 * the version line, the one-instance lock, and the sd_notify(3) protocol
 * (libsystemd).
 *
 * No DPDK, no threads of its own, no allocation. The notify calls do
 * nothing when the process was not started with NOTIFY_SOCKET (by hand, in
 * tests): behaviour without systemd is unchanged. Each is one datagram:
 * never on a packet path (a main loop or a timer calls them).
 */
#ifndef EDGEDNS_DAEMON_H
#define EDGEDNS_DAEMON_H

#include <stddef.h>
#include <stdint.h>

/* The product's one version: the VERSION file, given by the Makefile. */
#ifndef EDGEDNS_VERSION
#define EDGEDNS_VERSION "unknown"
#endif

/* Print "NAME (edgedns) VERSION\n" on stdout (the answer to -V and
 * --version of every program). */
void daemon_version(const char *name);

/* The one-instance lock: a non-blocking flock() on path (created mode 0644
 * when missing, never removed, so two starts can never lock two different
 * files), with our pid written into it for the next one's message. On
 * success *fd is the descriptor (close-on-exec): keep it open for the life
 * of the process, the lock goes with it. Returns 0; ED_EBUSY when another
 * process holds it, with err "another NAME (pid N) holds PATH" (the pid it
 * wrote; "pid unknown" when none yet); ED_EIO when the file cannot be
 * opened or locked (err says why). */
int daemon_lock(const char *path, const char *name, int *fd, char *err, size_t errlen);

/* Send a notification to the service manager: newline-separated
 * assignments ("READY=1", "STATUS=...", "WATCHDOG=1", "RELOADING=1",
 * "STOPPING=1"). Any thread. Nothing without NOTIFY_SOCKET. */
void daemon_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The service's watchdog interval in microseconds (WatchdogSec=, through
 * WATCHDOG_USEC and WATCHDOG_PID), or 0 when there is none: then nothing
 * needs sending. Keep-alives ("WATCHDOG=1") are due at least every half of
 * it. */
uint64_t daemon_watchdog_usec(void);

/* CLOCK_MONOTONIC in microseconds, as RELOADING=1's MONOTONIC_USEC wants it. */
uint64_t daemon_monotonic_usec(void);

#endif
