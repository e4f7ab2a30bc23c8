/* daemon.c: version line, one-instance lock, systemd notifications. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "error.h"

void daemon_version(const char *name)
{
	printf("%s (edgedns) %s\n", name, EDGEDNS_VERSION);
}

/* The pid the holder wrote into the lock file, or 0. */
static long holder_pid(int fd)
{
	char buf[32];
	/* the holder writes right after it locks: a start that races it may
	 * find the file empty for a moment */
	for (int i = 0; i < 20; i++) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			char *end;
			long pid = strtol(buf, &end, 10);
			if (end != buf && pid > 0)
				return pid;
		}
		struct timespec ts = { 0, 5 * 1000000L };
		nanosleep(&ts, NULL);
	}
	return 0;
}

int daemon_lock(const char *path, const char *name, int *fd, char *err, size_t errlen)
{
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (f < 0) {
		ed_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return ED_EIO;
	}
	if (flock(f, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		if (e == EWOULDBLOCK) {
			long pid = holder_pid(f);
			if (pid > 0)
				ed_seterr(err, errlen, "another %s (pid %ld) holds %s", name, pid, path);
			else
				ed_seterr(err, errlen, "another %s (pid unknown) holds %s", name, path);
			close(f);
			return ED_EBUSY;
		}
		ed_seterr(err, errlen, "%s: lock: %s", path, strerror(e));
		close(f);
		return ED_EIO;
	}
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(f, 0) != 0 || pwrite(f, buf, (size_t)n, 0) != n) {
		ed_seterr(err, errlen, "%s: %s", path, strerror(errno));
		close(f);
		return ED_EIO;
	}
	*fd = f;
	return 0;
}

void daemon_notify(const char *fmt, ...)
{
	/* cheap when not under systemd: no formatting, no socket */
	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sd_notify(0, msg);
}

uint64_t daemon_watchdog_usec(void)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}

uint64_t daemon_monotonic_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
