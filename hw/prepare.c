/* prepare.c: hugepages, binds and hw.env (prepare.h). */
#include "hw/prepare.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dataplane/error.h"

extern char **environ;

#define VFIO "vfio-pci"

/* ---- the plan ----------------------------------------------------------- */

struct resolve_ctx {
	const struct hw_choice *c;
	const struct hw_machine *m;
};

static unsigned found_nics(const struct hw_match *mt)
{
	unsigned n = 0;
	for (unsigned i = 0; i < mt->nnic; i++)
		n += mt->nic[i] >= 0;
	return n;
}

/* ${nicN...} from the NICs the match took. */
static int resolve(void *arg, unsigned nic, enum profile_nic_field f, char *out, size_t outlen,
                   char *err, size_t errlen)
{
	const struct resolve_ctx *x = arg;
	const struct hw_match *mt = &x->c->match;
	if (nic == 0 || nic > mt->nnic || mt->nic[nic - 1] < 0) {
		snprintf(err, errlen, "nic%u: not on this machine (%u of the match's %u NICs found)",
		         nic, found_nics(mt), mt->nnic);
		return -1;
	}
	const struct hw_nic *n = &x->m->nics[mt->nic[nic - 1]];
	if (f == PROFILE_NIC_PCI) {
		snprintf(out, outlen, "%s", n->addr);
		return 0;
	}
	if (n->iface[0] == '\0') {
		snprintf(err, errlen, "nic%u %s has no kernel interface (driver: %s)", nic, n->addr,
		         n->driver[0] ? n->driver : "none");
		return -1;
	}
	snprintf(out, outlen, "%s", n->iface);
	return 0;
}

/* Whether the profile's EAL arguments allow-list addr already. */
static bool eal_allows(const struct profile *p, const char *addr)
{
	for (unsigned i = 0; i < p->neal; i++) {
		const char *w = p->eal[i], *v = NULL;
		if ((strcmp(w, "-a") == 0 || strcmp(w, "-w") == 0 || strcmp(w, "--allow") == 0 ||
		     strcmp(w, "--pci-whitelist") == 0) &&
		    i + 1 < p->neal)
			v = p->eal[i + 1];
		else if (strncmp(w, "--allow=", 8) == 0)
			v = w + 8;
		else if ((strncmp(w, "-a", 2) == 0 || strncmp(w, "-w", 2) == 0) && w[2] != '\0' &&
		         w[2] != '-')
			v = w + 2;
		char canon[HW_ADDR_LEN];
		if (v != NULL && profile_is_pci(v, canon) && strcmp(canon, addr) == 0)
			return true;
	}
	return false;
}

static void size_text(unsigned kb, char *out, size_t outlen)
{
	if (kb >= 1048576 && kb % 1048576 == 0)
		snprintf(out, outlen, "%uG", kb / 1048576);
	else if (kb >= 1024 && kb % 1024 == 0)
		snprintf(out, outlen, "%uM", kb / 1024);
	else
		snprintf(out, outlen, "%ukB", kb);
}

static int plan_huge(const struct profile_hugepages *h, const struct hw_machine *m,
                     struct hw_huge *out, char *err, size_t errlen)
{
	char sz[16];
	size_text(h->size_kb, sz, sizeof(sz));
	bool offered = false;
	char sizes[128] = "";
	for (unsigned i = 0; i < m->nhuge; i++) {
		char s[16];
		size_text(m->huge_kb[i], s, sizeof(s));
		size_t o = strlen(sizes);
		snprintf(sizes + o, sizeof(sizes) - o, "%s%s", o ? ", " : "", s);
		offered |= m->huge_kb[i] == h->size_kb;
	}
	if (!offered) {
		ed_seterr(err, errlen, "hugepages: this kernel offers no %s pages (offered: %s)", sz,
		          sizes[0] ? sizes : "none");
		return ED_ENOENT;
	}
	out->size_kb = h->size_kb;
	out->count = h->count;
	out->node = h->numa_node;
	if (h->numa_node == PROFILE_NODE_ANY || (!m->numa_dirs && h->numa_node == 0)) {
		snprintf(out->path, sizeof(out->path),
		         "%s/kernel/mm/hugepages/hugepages-%ukB/nr_hugepages", m->sysfs, h->size_kb);
		return ED_OK;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/devices/system/node/node%d", m->sysfs, h->numa_node);
	if (!m->numa_dirs || access(dir, F_OK) != 0) {
		ed_seterr(err, errlen, "hugepages: no NUMA node %d on this machine (%u node%s)",
		          h->numa_node, m->nodes, m->nodes == 1 ? "" : "s");
		return ED_ENOENT;
	}
	ed_seterr(out->path, sizeof(out->path), "%s/hugepages/hugepages-%ukB/nr_hugepages", dir,
	          h->size_kb);
	return ED_OK;
}

int hw_plan_make(const struct hw_choice *c, const struct hw_machine *m, const char *how,
                 struct hw_plan *plan, char *err, size_t errlen)
{
	const struct profile *p = &c->profile;
	memset(plan, 0, sizeof(*plan));
	if (c->path[0] == '/') {
		snprintf(plan->profile_path, sizeof(plan->profile_path), "%s", c->path);
	} else {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			ed_seterr(err, errlen, "getcwd: %s", strerror(errno));
			return ED_EIO;
		}
		const char *rel = strncmp(c->path, "./", 2) == 0 ? c->path + 2 : c->path;
		if ((size_t)snprintf(plan->profile_path, sizeof(plan->profile_path), "%s/%s", cwd,
		                     rel) >= sizeof(plan->profile_path)) {
			ed_seterr(err, errlen, "%s: path too long", c->path);
			return ED_ELIMIT;
		}
	}
	const char *b = strrchr(c->path, '/');
	ed_seterr(plan->model, sizeof(plan->model), "%s", p->model ? p->model : b ? b + 1 : c->path);
	ed_seterr(plan->how, sizeof(plan->how), "%s", how ? how : "");
	plan->vfio = p->driver == PROFILE_DRIVER_VFIO;
	struct resolve_ctx x = { c, m };
	for (unsigned i = 0; i < p->nports; i++) {
		struct hw_port *hp = &plan->ports[plan->nports++];
		if (profile_port_expand(p->ports[i], resolve, &x, hp->arg, sizeof(hp->arg), err,
		                        errlen) != 0)
			return ED_ENOENT;
		if (!profile_is_pci(hp->arg, hp->pci))
			continue;
		if (hw_machine_nic(m, hp->pci) == NULL) {
			ed_seterr(err, errlen, "port %s: no such NIC on this machine", hp->pci);
			return ED_ENOENT;
		}
		if (!eal_allows(p, hp->pci)) {
			plan->eal[plan->neal++] = "-a";
			plan->eal[plan->neal++] = hp->arg;
		}
	}
	for (unsigned i = 0; i < p->nhuge; i++) {
		int rc = plan_huge(&p->huge[i], m, &plan->huge[plan->nhuge++], err, errlen);
		if (rc != ED_OK)
			return rc;
	}
	return ED_OK;
}

/* ---- hw.env ------------------------------------------------------------- */

static bool env_safe(const char *w)
{
	if (*w == '\0')
		return false;
	for (; *w != '\0'; w++)
		if (!((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z') || (*w >= '0' && *w <= '9') ||
		      strchr("._,:=/@+%-", *w) != NULL))
			return false;
	return true;
}

struct buf {
	char *s;
	size_t len, o;
	bool full;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->s + b->o, b->len - b->o, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->len - b->o)
		b->full = true;
	else
		b->o += (size_t)n;
}

static int word(struct buf *b, const char *w, char *err, size_t errlen)
{
	if (!env_safe(w)) {
		ed_seterr(err, errlen,
		          "'%s' cannot go into EDGEDNS_HW_OPTS (only letters, digits and ._,:=/@+%%- "
		          "are safe there)",
		          w);
		return ED_EINVAL;
	}
	put(b, "%s%s", b->s[b->o - 1] == '"' ? "" : " ", w);
	return ED_OK;
}

int hw_plan_env(const struct hw_plan *plan, char *out, size_t outlen, char *err, size_t errlen)
{
	struct buf b = { out, outlen, 0, false };
	int rc;
	put(&b, "# Written by edgedns-setup at boot for edgedns-dataplane.service; do not edit.\n");
	put(&b, "# Hardware profile %s: %s.\n", plan->model, plan->how);
	put(&b, "EDGEDNS_HW_OPTS=\"");
	if ((rc = word(&b, "--profile", err, errlen)) != ED_OK ||
	    (rc = word(&b, plan->profile_path, err, errlen)) != ED_OK)
		return rc;
	for (unsigned i = 0; i < plan->nports; i++)
		if ((rc = word(&b, "--port", err, errlen)) != ED_OK ||
		    (rc = word(&b, plan->ports[i].arg, err, errlen)) != ED_OK)
			return rc;
	if ((rc = word(&b, "--", err, errlen)) != ED_OK)
		return rc;
	for (unsigned i = 0; i < plan->neal; i++)
		if ((rc = word(&b, plan->eal[i], err, errlen)) != ED_OK)
			return rc;
	put(&b, "\"\n");
	if (b.full) {
		ed_seterr(err, errlen, "EDGEDNS_HW_OPTS: longer than %zu octets", outlen);
		return ED_ELIMIT;
	}
	return ED_OK;
}

/* ---- carrying it out ------------------------------------------------------ */

static void say(const struct hw_ops *ops, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct hw_ops *ops, const char *fmt, ...)
{
	if (ops->say == NULL)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ops->say(ops->arg, msg);
}

static int read_uint(const char *path, unsigned *v)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	int ok = fscanf(f, "%u", v) == 1;
	fclose(f);
	if (!ok)
		errno = EINVAL;
	return ok ? 0 : -1;
}

static int reserve(const struct hw_huge *h, const struct hw_ops *ops, bool dry_run, char *err,
                   size_t errlen)
{
	char sz[16], where[32], cmdline[96];
	size_text(h->size_kb, sz, sizeof(sz));
	if (h->node == PROFILE_NODE_ANY) {
		snprintf(where, sizeof(where), "in total");
		snprintf(cmdline, sizeof(cmdline), "hugepagesz=%s hugepages=%u", sz, h->count);
	} else {
		snprintf(where, sizeof(where), "on node %d", h->node);
		snprintf(cmdline, sizeof(cmdline), "hugepagesz=%s hugepages=%d:%u", sz, h->node,
		         h->count);
	}
	unsigned have;
	if (read_uint(h->path, &have) != 0) {
		ed_seterr(err, errlen, "hugepages: %s: %s", h->path, strerror(errno));
		return ED_EIO;
	}
	if (have >= h->count) {
		say(ops, "hugepages: %u x %s %s: reserved already (%u)", h->count, sz, where, have);
		return ED_OK;
	}
	if (dry_run) {
		say(ops, "hugepages: would reserve %u x %s %s (now %u): write %u to %s", h->count, sz,
		    where, have, h->count, h->path);
		return ED_OK;
	}
	char text[32];
	snprintf(text, sizeof(text), "%u\n", h->count);
	if (ops->write_file(ops->arg, h->path, text) != 0) {
		ed_seterr(err, errlen, "hugepages: %u x %s %s: write %s: %s", h->count, sz, where,
		          h->path, strerror(errno));
		return ED_EIO;
	}
	unsigned got;
	if (read_uint(h->path, &got) != 0) {
		ed_seterr(err, errlen, "hugepages: %s: %s", h->path, strerror(errno));
		return ED_EIO;
	}
	if (got < h->count) {
		ed_seterr(err, errlen,
		          "hugepages: asked for %u x %s %s, the kernel gave %u (not enough free "
		          "contiguous memory: reserve them on the kernel command line, %s)",
		          h->count, sz, where, got, cmdline);
		return ED_ELIMIT;
	}
	say(ops, "hugepages: %u x %s %s reserved (were %u)", h->count, sz, where, have);
	return ED_OK;
}

/* argv for messages: "dpdk-devbind.py -b vfio-pci 0000:3b:00.0". */
static void argv_text(char *const argv[], char *out, size_t outlen)
{
	size_t o = 0;
	out[0] = '\0';
	for (int i = 0; argv[i] != NULL && o < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? " " : "", argv[i]);
}

static int run(const struct hw_ops *ops, char *const argv[], char *err, size_t errlen)
{
	char cmd[512];
	argv_text(argv, cmd, sizeof(cmd));
	int rc = ops->run(ops->arg, argv);
	if (rc == 0)
		return ED_OK;
	if (rc < 0)
		ed_seterr(err, errlen, "%s: could not run: %s", cmd, strerror(errno));
	else
		ed_seterr(err, errlen, "%s: exit status %d", cmd, rc);
	return ED_EIO;
}

/* vfio-pci needs the device in an IOMMU group, or vfio's no-IOMMU mode. */
static int iommu_ok(const struct hw_machine *m, const char *addr, char *err, size_t errlen)
{
	char path[PATH_MAX], buf[8] = "";
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/iommu_group", m->sysfs, addr);
	if (access(path, F_OK) == 0)
		return ED_OK;
	snprintf(path, sizeof(path), "%s/module/vfio/parameters/enable_unsafe_noiommu_mode",
	         m->sysfs);
	FILE *f = fopen(path, "r");
	if (f != NULL) {
		if (fgets(buf, sizeof(buf), f) == NULL)
			buf[0] = '\0';
		fclose(f);
	}
	if (buf[0] == 'Y' || buf[0] == '1')
		return ED_OK;
	ed_seterr(err, errlen,
	          "%s: vfio-pci needs an IOMMU and the device is in no IOMMU group (turn it on: "
	          "VT-d/AMD-Vi in the firmware, intel_iommu=on iommu=pt on the kernel command line)",
	          addr);
	return ED_ENOENT;
}

static int bind_ports(const struct hw_plan *plan, const struct hw_machine *m,
                      const struct hw_ops *ops, bool dry_run, char *err, size_t errlen)
{
	bool loaded = false;
	for (unsigned i = 0; i < plan->nports; i++) {
		const char *addr = plan->ports[i].pci;
		char drv[HW_NAME_LEN];
		if (addr[0] == '\0')
			continue;
		if (hw_machine_driver(m, addr, drv, sizeof(drv)) != ED_OK) {
			ed_seterr(err, errlen, "port %s: no such PCI device", addr);
			return ED_ENOENT;
		}
		if (strcmp(drv, VFIO) == 0) {
			say(ops, "%s: bound to " VFIO " already", addr);
			continue;
		}
		char *modprobe[] = { (char *)ops->modprobe, VFIO, NULL };
		char *devbind[] = { (char *)ops->devbind, "-b", VFIO, (char *)addr, NULL };
		char cmd[512];
		if (dry_run) {
			if (!loaded) {
				argv_text(modprobe, cmd, sizeof(cmd));
				say(ops, "would run: %s", cmd);
			}
			loaded = true;
			argv_text(devbind, cmd, sizeof(cmd));
			say(ops, "%s: would run: %s (now %s)", addr, cmd, drv[0] ? drv : "no driver");
			continue;
		}
		int rc;
		if (!loaded && (rc = run(ops, modprobe, err, errlen)) != ED_OK)
			return rc;
		loaded = true;
		if ((rc = iommu_ok(m, addr, err, errlen)) != ED_OK)
			return rc;
		if ((rc = run(ops, devbind, err, errlen)) != ED_OK)
			return rc;
		char now[HW_NAME_LEN];
		hw_machine_driver(m, addr, now, sizeof(now));
		if (strcmp(now, VFIO) != 0) {
			ed_seterr(err, errlen,
			          "%s: still %s%s after %s -b " VFIO " (an interface that is up with "
			          "routes is refused: take it down)",
			          addr, now[0] ? "bound to " : "without a driver", now, ops->devbind);
			return ED_EIO;
		}
		say(ops, "%s: bound to " VFIO " (was %s)", addr, drv[0] ? drv : "no driver");
	}
	return ED_OK;
}

int hw_prepare(const struct hw_plan *plan, const struct hw_machine *m, const struct hw_ops *ops,
               bool dry_run, char *err, size_t errlen)
{
	for (unsigned i = 0; i < plan->nhuge; i++) {
		int rc = reserve(&plan->huge[i], ops, dry_run, err, errlen);
		if (rc != ED_OK)
			return rc;
	}
	if (plan->vfio)
		return bind_ports(plan, m, ops, dry_run, err, errlen);
	return ED_OK;
}

/* ---- the real effects ------------------------------------------------------ */

int hw_sys_write(void *arg, const char *path, const char *text)
{
	(void)arg;
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = strlen(text);
	ssize_t w = write(fd, text, n);
	int e = w < 0 ? errno : EIO;
	if (close(fd) != 0 && w == (ssize_t)n)
		return -1;
	if (w != (ssize_t)n) {
		errno = e;
		return -1;
	}
	return 0;
}

int hw_sys_run(void *arg, char *const argv[])
{
	(void)arg;
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int hw_write_file_atomic(const char *path, const char *text, char *err, size_t errlen)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	/* mkdir -p */
	for (char *c = dir + 1;; c++) {
		if (*c != '/' && *c != '\0')
			continue;
		char keep = *c;
		*c = '\0';
		int rc = mkdir(dir, 0755);
		*c = keep;
		if (rc != 0 && errno != EEXIST) {
			ed_seterr(err, errlen, "%s: %s", dir, strerror(errno));
			return ED_EIO;
		}
		if (keep == '\0')
			break;
	}
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		ed_seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		return ED_EIO;
	}
	size_t n = strlen(text);
	if (fchmod(fd, 0644) != 0 || write(fd, text, n) != (ssize_t)n || fsync(fd) != 0) {
		ed_seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return ED_EIO;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		ed_seterr(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return ED_EIO;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return ED_OK;
}
