/* machine.c: the machine as sysfs shows it (machine.h). */
#include "hw/machine.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/error.h"
#include "dataplane/profile.h"

/* snprintf for paths: -1 when it does not fit (the caller skips it). */
static int pathf(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pathf(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* First line of a small file, without the newline. 0, or -1 (errno). */
static int read_line(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fgets(out, (int)outlen, f) == NULL) {
		fclose(f);
		out[0] = '\0';
		errno = EINVAL;
		return -1;
	}
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

/* A hex number file ("0x8086"). */
static int read_hex(const char *path, unsigned long *v)
{
	char buf[64], *end;
	if (read_line(path, buf, sizeof(buf)) != 0)
		return -1;
	errno = 0;
	*v = strtoul(buf, &end, 16);
	return buf[0] == '\0' || *end != '\0' || errno != 0 ? -1 : 0;
}

int hw_count_list(const char *list)
{
	int n = 0;
	const char *s = list;
	while (*s != '\0') {
		char *end;
		if (!isdigit((unsigned char)*s))
			return -1;
		unsigned long a = strtoul(s, &end, 10), b = a;
		s = end;
		if (*s == '-') {
			s++;
			if (!isdigit((unsigned char)*s))
				return -1;
			b = strtoul(s, &end, 10);
			s = end;
		}
		if (b < a || b - a > 65536 || n + (b - a + 1) > INT_MAX / 2)
			return -1;
		n += (int)(b - a + 1);
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return -1;
	}
	return n;
}

/* The name a link points to, last component ("vfio-pci"); "" without. */
static void link_base(const char *path, char *out, size_t outlen)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	out[0] = '\0';
	if (n <= 0)
		return;
	target[n] = '\0';
	const char *b = strrchr(target, '/');
	snprintf(out, outlen, "%s", b ? b + 1 : target);
}

/* The first entry of dir (not . or ..), sorted by name; "" without. */
static void first_entry(const char *dir, char *out, size_t outlen)
{
	struct dirent **list;
	out[0] = '\0';
	int n = scandir(dir, &list, NULL, alphasort);
	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		if (out[0] == '\0' && list[i]->d_name[0] != '.' && strlen(list[i]->d_name) < outlen)
			memcpy(out, list[i]->d_name, strlen(list[i]->d_name) + 1);
		free(list[i]);
	}
	free(list);
}

/* The kernel interface of a PCI device: ADDR/net/X, or ADDR/virtioN/net/X. */
static void find_iface(const char *devdir, char *out, size_t outlen)
{
	char path[PATH_MAX];
	pathf(path, sizeof(path), "%s/net", devdir);
	first_entry(path, out, outlen);
	if (out[0] != '\0')
		return;
	DIR *d = opendir(devdir);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && out[0] == '\0') {
		if (strncmp(e->d_name, "virtio", 6) != 0)
			continue;
		pathf(path, sizeof(path), "%s/%s/net", devdir, e->d_name);
		first_entry(path, out, outlen);
	}
	closedir(d);
}

static int cmp_nic(const void *a, const void *b)
{
	return strcmp(((const struct hw_nic *)a)->addr, ((const struct hw_nic *)b)->addr);
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

static int read_pci(struct hw_machine *m, char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	pathf(dir, sizeof(dir), "%s/bus/pci/devices", m->sysfs);
	DIR *d = opendir(dir);
	if (d == NULL) {
		/* a machine without PCI (or a fake tree without NICs) */
		if (errno == ENOENT)
			return ED_OK;
		ed_seterr(err, errlen, "%s: %s", dir, strerror(errno));
		return ED_EIO;
	}
	unsigned cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		struct hw_nic n;
		unsigned long vendor, device, cls;
		memset(&n, 0, sizeof(n));
		if (e->d_name[0] == '.' || !profile_is_pci(e->d_name, n.addr))
			continue;
		pathf(path, sizeof(path), "%s/%s/class", dir, e->d_name);
		if (read_hex(path, &cls) != 0 || (cls >> 16) != 0x02)
			continue;
		pathf(path, sizeof(path), "%s/%s/vendor", dir, e->d_name);
		if (read_hex(path, &vendor) != 0)
			continue;
		pathf(path, sizeof(path), "%s/%s/device", dir, e->d_name);
		if (read_hex(path, &device) != 0)
			continue;
		n.vendor = (uint16_t)vendor;
		n.device = (uint16_t)device;
		n.pci_class = (uint32_t)cls;
		char buf[32];
		pathf(path, sizeof(path), "%s/%s/numa_node", dir, e->d_name);
		n.node = read_line(path, buf, sizeof(buf)) == 0 ? atoi(buf) : -1;
		if (n.node < 0)
			n.node = -1;
		pathf(path, sizeof(path), "%s/%s/driver", dir, e->d_name);
		link_base(path, n.driver, sizeof(n.driver));
		pathf(path, sizeof(path), "%s/%s", dir, e->d_name);
		find_iface(path, n.iface, sizeof(n.iface));
		if (m->nnics == cap) {
			cap = cap ? cap * 2 : 16;
			struct hw_nic *nn = realloc(m->nics, cap * sizeof(*nn));
			if (nn == NULL) {
				closedir(d);
				ed_seterr(err, errlen, "out of memory");
				return ED_ENOMEM;
			}
			m->nics = nn;
		}
		m->nics[m->nnics++] = n;
	}
	closedir(d);
	if (m->nnics > 1)
		qsort(m->nics, m->nnics, sizeof(*m->nics), cmp_nic);
	/* a device without a node on a one-node machine is on node 0 */
	for (unsigned i = 0; i < m->nnics; i++)
		if (m->nics[i].node < 0 && m->nodes == 1)
			m->nics[i].node = 0;
	return ED_OK;
}

int hw_machine_read(const char *sysfs, struct hw_machine *m, char *err, size_t errlen)
{
	char path[PATH_MAX], buf[4096];
	memset(m, 0, sizeof(*m));
	/* every path below is the root and at most a few hundred octets */
	if (strlen(sysfs) > PATH_MAX / 2) {
		ed_seterr(err, errlen, "sysfs root too long");
		return ED_ELIMIT;
	}
	if ((m->sysfs = strdup(sysfs)) == NULL) {
		ed_seterr(err, errlen, "out of memory");
		return ED_ENOMEM;
	}
	pathf(path, sizeof(path), "%s/devices/system/cpu/online", sysfs);
	int n;
	if (read_line(path, buf, sizeof(buf)) != 0) {
		ed_seterr(err, errlen, "%s: %s", path, strerror(errno));
		hw_machine_free(m);
		return ED_EIO;
	}
	if ((n = hw_count_list(buf)) <= 0) {
		ed_seterr(err, errlen, "%s: not a CPU list: '%.64s'", path, buf);
		hw_machine_free(m);
		return ED_EFORMAT;
	}
	m->cpus = (unsigned)n;
	pathf(path, sizeof(path), "%s/devices/system/node/online", sysfs);
	m->nodes = 1;
	if (read_line(path, buf, sizeof(buf)) == 0) {
		if ((n = hw_count_list(buf)) <= 0) {
			ed_seterr(err, errlen, "%s: not a node list", path);
			hw_machine_free(m);
			return ED_EIO;
		}
		m->nodes = (unsigned)n;
	}
	pathf(path, sizeof(path), "%s/devices/system/node/node0", sysfs);
	m->numa_dirs = access(path, F_OK) == 0;
	pathf(path, sizeof(path), "%s/kernel/mm/hugepages", sysfs);
	DIR *d = opendir(path);
	if (d != NULL) {
		struct dirent *e;
		unsigned kb;
		while ((e = readdir(d)) != NULL)
			if (sscanf(e->d_name, "hugepages-%ukB", &kb) == 1 && m->nhuge < HW_SIZES_MAX)
				m->huge_kb[m->nhuge++] = kb;
		closedir(d);
		qsort(m->huge_kb, m->nhuge, sizeof(m->huge_kb[0]), cmp_uint);
	}
	int rc = read_pci(m, err, errlen);
	if (rc != ED_OK)
		hw_machine_free(m);
	return rc;
}

void hw_machine_free(struct hw_machine *m)
{
	free(m->sysfs);
	free(m->nics);
	memset(m, 0, sizeof(*m));
}

const struct hw_nic *hw_machine_nic(const struct hw_machine *m, const char *addr)
{
	for (unsigned i = 0; i < m->nnics; i++)
		if (strcmp(m->nics[i].addr, addr) == 0)
			return &m->nics[i];
	return NULL;
}

int hw_machine_driver(const struct hw_machine *m, const char *addr, char *out, size_t outlen)
{
	char path[PATH_MAX];
	pathf(path, sizeof(path), "%s/bus/pci/devices/%s", m->sysfs, addr);
	if (access(path, F_OK) != 0)
		return ED_ENOENT;
	pathf(path, sizeof(path), "%s/bus/pci/devices/%s/driver", m->sysfs, addr);
	link_base(path, out, outlen);
	return ED_OK;
}

void hw_nic_describe(const struct hw_nic *n, char *out, size_t outlen)
{
	char node[16];
	if (n->node >= 0)
		snprintf(node, sizeof(node), "node %d", n->node);
	else
		snprintf(node, sizeof(node), "node ?");
	snprintf(out, outlen, "%s %04x:%04x (%s%s%s, %s)", n->addr, n->vendor, n->device,
	         n->driver[0] ? n->driver : "no driver", n->iface[0] ? ", " : "", n->iface, node);
}
