/* xfr.c: SOA query, AXFR and IXFR client: sockets, stream checks, TSIG. */
#include "xfr.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dname.h"
#include "error.h"
#include "tsig.h"
#include "xfr_int.h"

#define MSG_MAX 65535

const char *xfr_why_name(enum xfr_why w)
{
	switch (w) {
	case XFR_WHY_NONE: return "none";
	case XFR_WHY_NETWORK: return "network";
	case XFR_WHY_TIMEOUT: return "timeout";
	case XFR_WHY_CLOSED: return "closed";
	case XFR_WHY_RCODE: return "rcode";
	case XFR_WHY_MALFORMED: return "malformed";
	case XFR_WHY_ID: return "id";
	case XFR_WHY_QUESTION: return "question";
	case XFR_WHY_SERIAL: return "serial";
	case XFR_WHY_OUT_OF_ZONE: return "out-of-zone";
	case XFR_WHY_CLASS: return "class";
	case XFR_WHY_RR_SIZE: return "rr-size";
	case XFR_WHY_MAX_BYTES: return "max-bytes";
	case XFR_WHY_MAX_RRS: return "max-rrs";
	case XFR_WHY_TSIG_UNSIGNED: return "tsig-unsigned";
	case XFR_WHY_TSIG_BADMAC: return "tsig-badmac";
	case XFR_WHY_TSIG_KEY: return "tsig-key";
	case XFR_WHY_TSIG_ALG: return "tsig-alg";
	case XFR_WHY_TSIG_TIME: return "tsig-time";
	case XFR_WHY_TSIG_MALFORMED: return "tsig-malformed";
	case XFR_WHY_PEER_BADSIG: return "peer-badsig";
	case XFR_WHY_PEER_BADKEY: return "peer-badkey";
	case XFR_WHY_PEER_BADTIME: return "peer-badtime";
	case XFR_WHY_PEER_TSIG: return "peer-tsig";
	case XFR_WHY_IXFR: return "ixfr";
	case XFR_WHY_IXFR_APPLY: return "ixfr-apply";
	case XFR_WHY_INTERNAL: return "internal";
	}
	return "?";
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall_s(void)
{
	return (uint64_t)time(NULL);
}

/* RFC 1982: a > b. */
static int serial_gt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}

static void peer_text(const struct sockaddr *sa, socklen_t len, char *out, size_t n)
{
	char host[INET6_ADDRSTRLEN], port[8];
	if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(out, n, "(bad address)");
	else
		snprintf(out, n, "%s@%s", host, port);
}

/* ---- sockets: non-blocking, every wait a poll() up to the deadline ---- */

static int wait_fd(int fd, short ev, uint64_t deadline)
{
	for (;;) {
		uint64_t t = now_ms();
		if (t >= deadline)
			return ED_ETIMEOUT;
		struct pollfd p = { .fd = fd, .events = ev };
		int r = poll(&p, 1, (int)(deadline - t > 60000 ? 60000 : deadline - t));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return ED_EIO;
	}
}

static int sock_open(const struct sockaddr *sa, socklen_t len, int type, uint64_t deadline)
{
	int fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ED_EIO;
	if (connect(fd, sa, len) != 0) {
		if (errno != EINPROGRESS) {
			close(fd);
			return ED_EIO;
		}
		int rc = wait_fd(fd, POLLOUT, deadline), e = 0;
		socklen_t el = sizeof(e);
		if (rc == 0 && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e != 0)) {
			errno = e ? e : errno;
			rc = ED_EIO;
		}
		if (rc != 0) {
			close(fd);
			return rc;
		}
	}
	return fd;
}

static int send_all(int fd, const uint8_t *b, size_t n, uint64_t deadline)
{
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w > 0) {
			b += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return ED_EIO;
		int rc = wait_fd(fd, POLLOUT, deadline);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* n octets or an error; 1 when the peer closed first. */
static int recv_all(int fd, uint8_t *b, size_t n, uint64_t deadline)
{
	while (n > 0) {
		ssize_t r = recv(fd, b, n, 0);
		if (r > 0) {
			b += r;
			n -= (size_t)r;
			continue;
		}
		if (r == 0)
			return 1;
		if (errno != EAGAIN && errno != EINTR)
			return ED_EIO;
		int rc = wait_fd(fd, POLLIN, deadline);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- the query ---- */

struct query {
	uint8_t wire[512 + TSIG_RR_MAX];
	size_t len;
	uint16_t id;
	uint8_t apex[255];
	size_t apex_len;
	ldns_rdf *apex_rdf;
	uint16_t qtype;
	char zone[256];
	struct tsig_key key;
	int signed_;
	struct tsig_chain chain;
};

/* EDNS UDP payload size of the SOA query (the DNS flag day 2020 value). */
#define EDNS_UDP_SIZE 1232

static int query_build(struct query *q, const char *zone, uint16_t qtype,
                       int with_soa, uint32_t serial, int edns,
                       const struct xfr_tsig *tsig, char *err, size_t errlen)
{
	memset(q, 0, sizeof(*q));
	q->apex_rdf = ldns_dname_new_frm_str(zone);
	if (q->apex_rdf == NULL || ldns_rdf_size(q->apex_rdf) > 255) {
		ed_seterr(err, errlen, "bad zone name \"%s\"", zone);
		return ED_EINVAL;
	}
	ldns_dname2canonical(q->apex_rdf);
	snprintf(q->zone, sizeof(q->zone), "%s", zone);
	q->apex_len = ldns_rdf_size(q->apex_rdf);
	memcpy(q->apex, ldns_rdf_data(q->apex_rdf), q->apex_len);
	if (tsig) {
		if (tsig_key_init(&q->key, tsig->name, tsig->algorithm, tsig->secret,
		                  tsig->secret_len) != 0) {
			ed_seterr(err, errlen, "bad TSIG key \"%s\" (algorithm %s)",
			          tsig->name ? tsig->name : "", tsig->algorithm ? tsig->algorithm : "");
			return ED_EINVAL;
		}
		q->signed_ = 1;
	}
	q->qtype = qtype;
	q->id = (uint16_t)(ldns_get_random() & 0xffff);
	uint8_t *w = q->wire;
	put16(w, q->id);
	put16(w + 2, 0);          /* opcode QUERY, no RD */
	put16(w + 4, 1);
	put16(w + 6, 0);
	put16(w + 8, with_soa ? 1 : 0);
	put16(w + 10, 0);
	size_t p = 12;
	memcpy(w + p, q->apex, q->apex_len);
	p += q->apex_len;
	put16(w + p, qtype);
	put16(w + p + 2, LDNS_RR_CLASS_IN);
	p += 4;
	if (with_soa) {
		/* RFC 1995 3: only the serial of our SOA matters. */
		put16(w + p, 0xc00c);
		put16(w + p + 2, LDNS_RR_TYPE_SOA);
		put16(w + p + 4, LDNS_RR_CLASS_IN);
		put32(w + p + 6, 0);
		put16(w + p + 10, 22);
		p += 12;
		w[p++] = 0;       /* MNAME . */
		w[p++] = 0;       /* RNAME . */
		put32(w + p, serial);
		memset(w + p + 4, 0, 16);
		p += 20;
	}
	if (edns) {
		/* OPT: root owner, version 0, no flags; one empty EXPIRE option
		 * (RFC 7314 2). Before the TSIG RR, which tsig_sign() appends. */
		w[p++] = 0;
		put16(w + p, LDNS_RR_TYPE_OPT);
		put16(w + p + 2, EDNS_UDP_SIZE);
		put32(w + p + 4, 0);
		put16(w + p + 8, 4);
		put16(w + p + 10, XFR_EDNS_EXPIRE);
		put16(w + p + 12, 0);
		p += 14;
		put16(w + 10, 1);
	}
	q->len = p;
	if (q->signed_ && tsig_sign(&q->key, &q->chain, q->wire, &q->len,
	                            sizeof(q->wire), wall_s()) != 0) {
		ed_seterr(err, errlen, "cannot sign the query with TSIG key %s", tsig->name);
		return ED_EINVAL;
	}
	return 0;
}

static void query_free(struct query *q)
{
	ldns_rdf_deep_free(q->apex_rdf);
	q->apex_rdf = NULL;
}

static const char *rcode_name(uint8_t rc, char *buf, size_t n)
{
	ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, rc);
	if (t)
		snprintf(buf, n, "%s", t->name);
	else
		snprintf(buf, n, "RCODE%u", rc);
	return buf;
}

/* TSIG outcome to reason; 0 when verified. */
static int tsig_check(struct query *q, const uint8_t *m, size_t len, unsigned msgno,
                      enum xfr_why *why, const char *peer, char *err, size_t errlen)
{
	struct tsig_info ti;
	char en[32];
	enum tsig_status s = tsig_verify(&q->key, &q->chain, m, len, wall_s(), &ti);
	switch (s) {
	case TSIG_OK:
		return 0;
	case TSIG_UNSIGNED:
		*why = XFR_WHY_TSIG_UNSIGNED;
		ed_seterr(err, errlen, "%s: TSIG: message %u of the answer is not signed "
		          "(key %s expected)", peer, msgno, q->key.name_text);
		break;
	case TSIG_MALFORMED:
		*why = XFR_WHY_TSIG_MALFORMED;
		ed_seterr(err, errlen, "%s: TSIG: malformed TSIG RR in message %u", peer, msgno);
		break;
	case TSIG_WRONG_KEY:
		*why = XFR_WHY_TSIG_KEY;
		ed_seterr(err, errlen, "%s: TSIG: message %u signed with key %s, expected %s",
		          peer, msgno, ti.key, q->key.name_text);
		break;
	case TSIG_WRONG_ALG:
	case TSIG_TRUNCATED_MAC:
		*why = XFR_WHY_TSIG_ALG;
		ed_seterr(err, errlen, "%s: TSIG: message %u: %s", peer, msgno,
		          s == TSIG_WRONG_ALG ? "signed with another algorithm than the key's"
		                              : "truncated MAC not accepted");
		break;
	case TSIG_BADMAC:
		*why = XFR_WHY_TSIG_BADMAC;
		ed_seterr(err, errlen, "%s: TSIG: MAC of message %u does not verify with key %s "
		          "(wrong secret, or altered in transit)", peer, msgno, q->key.name_text);
		break;
	case TSIG_BADTIME:
		*why = XFR_WHY_TSIG_TIME;
		ed_seterr(err, errlen, "%s: TSIG: message %u signed at %llu, our clock %llu, "
		          "fudge %u", peer, msgno, (unsigned long long)ti.time_signed,
		          (unsigned long long)wall_s(), ti.fudge);
		break;
	case TSIG_PEER_ERROR:
		*why = ti.error == TSIG_E_BADSIG ? XFR_WHY_PEER_BADSIG :
		       ti.error == TSIG_E_BADKEY ? XFR_WHY_PEER_BADKEY :
		       ti.error == TSIG_E_BADTIME ? XFR_WHY_PEER_BADTIME : XFR_WHY_PEER_TSIG;
		ed_seterr(err, errlen, "%s: TSIG: the primary refused our key %s: %s%s", peer,
		          q->key.name_text, tsig_error_name(ti.error, en, sizeof(en)),
		          ti.error == TSIG_E_BADKEY ? " (key name unknown there)" :
		          ti.error == TSIG_E_BADSIG ? " (secret differs)" :
		          ti.error == TSIG_E_BADTIME ? " (clocks differ)" : "");
		break;
	}
	return ED_ETSIG;
}

/* Checks shared by every answer: ID, QR, opcode, TSIG, RCODE, question.
 * need_q: the question must be there (first message). */
static int check_header(struct query *q, const uint8_t *m, size_t len, ldns_pkt *pkt,
                        unsigned msgno, int need_q, enum xfr_why *why, uint8_t *rcode,
                        const char *peer, char *err, size_t errlen)
{
	char rn[32];
	if (get16(m) != q->id) {
		*why = XFR_WHY_ID;
		ed_seterr(err, errlen, "%s: message %u has ID %u, the query had %u%s", peer,
		          msgno, get16(m), q->id, msgno > 1 ? " (ID changed mid-stream)" : "");
		return ED_EFORMAT;
	}
	if (!(m[2] & 0x80) || ((m[2] >> 3) & 0xf) != 0) {
		*why = XFR_WHY_MALFORMED;
		ed_seterr(err, errlen, "%s: message %u is not a response to a QUERY", peer, msgno);
		return ED_EFORMAT;
	}
	uint8_t rc = m[3] & 0xf;
	*rcode = rc;
	if (q->signed_) {
		int t = tsig_check(q, m, len, msgno, why, peer, err, errlen);
		/* An error RCODE without TSIG is reported as the RCODE. */
		if (t != 0 && !(rc != 0 && *why == XFR_WHY_TSIG_UNSIGNED))
			return t;
		if (t != 0)
			*why = XFR_WHY_NONE;
	}
	if (rc != 0) {
		*why = XFR_WHY_RCODE;
		ed_seterr(err, errlen, "%s: the primary answered %s", peer, rcode_name(rc, rn, sizeof(rn)));
		return ED_ERCODE;
	}
	size_t qd = ldns_rr_list_rr_count(ldns_pkt_question(pkt));
	if (qd > 1 || (qd == 0 && need_q)) {
		*why = XFR_WHY_QUESTION;
		ed_seterr(err, errlen, "%s: message %u has %zu questions", peer, msgno, qd);
		return ED_EFORMAT;
	}
	if (qd == 1) {
		ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
		if (ldns_dname_compare(ldns_rr_owner(qr), q->apex_rdf) != 0 ||
		    ldns_rr_get_type(qr) != q->qtype || ldns_rr_get_class(qr) != LDNS_RR_CLASS_IN) {
			char *s = ldns_rr2str(qr);
			*why = XFR_WHY_QUESTION;
			ed_seterr(err, errlen, "%s: message %u: question changed to %s", peer,
			          msgno, s ? s : "?");
			free(s);
			return ED_EFORMAT;
		}
	}
	return 0;
}

/* Largest RDATA among the answer RRs of m (the walk is bounds-checked;
 * ldns parsed the same message already). */
static size_t max_rdlen(const uint8_t *m, size_t len)
{
	size_t p = 12, best = 0;
	for (unsigned i = 0; i < get16(m + 4); i++) {
		p = dname_skip_wire(m, len, p, 1);
		if (p == 0 || len - p < 4)
			return 0;
		p += 4;
	}
	for (unsigned i = 0; i < get16(m + 6); i++) {
		p = dname_skip_wire(m, len, p, 1);
		if (p == 0 || len - p < 10)
			return best;
		size_t rdl = get16(m + p + 8);
		if (rdl > best)
			best = rdl;
		p += 10 + rdl;
		if (p > len)
			return best;
	}
	return best;
}

/* ---- SOA query ---- */

int xfr_opt_parse(const uint8_t *m, size_t len, struct xfr_opt *o)
{
	memset(o, 0, sizeof(*o));
	if (len < 12)
		return -1;
	size_t p = 12;
	for (unsigned i = 0; i < get16(m + 4); i++) {
		p = dname_skip_wire(m, len, p, 1);
		if (p == 0 || len - p < 4)
			return -1;
		p += 4;
	}
	unsigned rrs = (unsigned)get16(m + 6) + get16(m + 8);
	for (unsigned i = 0; i < rrs + get16(m + 10); i++) {
		size_t owner = p;
		p = dname_skip_wire(m, len, p, 1);
		if (p == 0 || len - p < 10)
			return -1;
		size_t rdl = get16(m + p + 8), rd = p + 10;
		if (len - rd < rdl)
			return -1;
		if (i >= rrs && get16(m + p) == LDNS_RR_TYPE_OPT) {
			if (m[owner] != 0)
				return -1;
			o->present = 1;
			o->udp_size = get16(m + p + 2);
			o->ext_rcode = m[p + 4];
			o->version = m[p + 5];
			for (size_t q = rd; q < rd + rdl;) {
				if (rd + rdl - q < 4)
					return -1;
				uint16_t code = get16(m + q), ol = get16(m + q + 2);
				if (rd + rdl - q - 4 < ol)
					return -1;
				if (code == XFR_EDNS_EXPIRE && ol == 4 && !o->has_expire) {
					o->has_expire = 1;
					o->expire = (uint32_t)get16(m + q + 4) << 16 | get16(m + q + 6);
				}
				q += 4u + ol;
			}
			return 0;
		}
		p = rd + rdl;
	}
	return 0;
}

/* Send q over UDP, again over TCP when the answer is truncated; the answer
 * (n octets, its ID the query's) in buf. */
static int soa_exchange(struct query *q, const struct sockaddr *primary, socklen_t len,
                        uint64_t deadline, uint8_t *buf, size_t *np,
                        struct xfr_soa_info *info, const char *peer, const char *zone,
                        char *err, size_t errlen)
{
	size_t n = 0;
	struct tsig_chain c0 = q->chain;
	int fd = sock_open(primary, len, SOCK_DGRAM, deadline), rc;
	if (fd < 0) {
		rc = fd;
		goto net;
	}
	rc = send_all(fd, q->wire, q->len, deadline);
	while (rc == 0) {
		ssize_t r = recv(fd, buf, MSG_MAX, 0);
		if (r >= 12 && get16(buf) == q->id) {
			n = (size_t)r;
			break;
		}
		if (r < 0 && errno != EAGAIN && errno != EINTR) {
			rc = ED_EIO;
			break;
		}
		rc = wait_fd(fd, POLLIN, deadline); /* other datagrams ignored */
	}
	if (rc == 0 && (buf[2] & 0x02)) {     /* TC: again over TCP */
		close(fd);
		info->tcp = 1;
		q->chain = c0;
		fd = sock_open(primary, len, SOCK_STREAM, deadline);
		if (fd < 0) {
			rc = fd;
			goto net;
		}
		uint8_t hdr[2];
		put16(hdr, (uint16_t)q->len);
		rc = send_all(fd, hdr, 2, deadline);
		if (rc == 0)
			rc = send_all(fd, q->wire, q->len, deadline);
		if (rc == 0)
			rc = recv_all(fd, hdr, 2, deadline);
		if (rc == 0) {
			n = get16(hdr);
			rc = n < 12 ? 1 : recv_all(fd, buf, n, deadline);
		}
		if (rc == 1) {
			close(fd);
			info->why = XFR_WHY_CLOSED;
			ed_seterr(err, errlen, "%s: TCP connection closed before the SOA answer", peer);
			return ED_EIO;
		}
	}
net:;
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (rc != 0) {
		info->why = rc == ED_ETIMEOUT ? XFR_WHY_TIMEOUT : XFR_WHY_NETWORK;
		ed_seterr(err, errlen, "%s: %s query for %s: %s%s%s", peer,
		          q->qtype == LDNS_RR_TYPE_SOA ? "SOA" : "apex", zone,
		          rc == ED_ETIMEOUT ? "no answer in time" : "network error",
		          rc == ED_ETIMEOUT ? "" : ": ", rc == ED_ETIMEOUT ? "" : strerror(e));
		return rc;
	}
	*np = n;
	return 0;
}

/* One query for (zone, qtype) to the primary, as xfr_soa_query()
 * describes; on success *pktp is the checked answer (caller frees) and
 * q->apex_rdf the apex (caller runs query_free()). */
static int apex_query(const struct sockaddr *primary, socklen_t len, const char *zone,
                      uint16_t qtype, const struct xfr_tsig *tsig, unsigned timeout_ms,
                      struct query *qp, ldns_pkt **pktp, struct xfr_soa_info *info,
                      const char *peer, char *err, size_t errlen)
{
	uint64_t deadline = now_ms() + (timeout_ms ? timeout_ms : 5000);
	struct query q;
	int edns = 1;
	int rc = query_build(&q, zone, qtype, 0, 0, edns, tsig, err, errlen);
	if (rc != 0) {
		info->why = XFR_WHY_INTERNAL;
		query_free(&q);
		return rc;
	}
	uint8_t *buf = malloc(MSG_MAX + 2);
	ldns_pkt *pkt = NULL;
	size_t n = 0;
	struct xfr_opt opt;
	memset(&opt, 0, sizeof(opt));
	if (buf == NULL) {
		rc = ED_ENOMEM;
		info->why = XFR_WHY_INTERNAL;
		goto out;
	}
	for (;;) {
		rc = soa_exchange(&q, primary, len, deadline, buf, &n, info, peer, zone, err,
		                  errlen);
		if (rc != 0)
			goto out;
		if (xfr_opt_parse(buf, n, &opt) != 0)
			memset(&opt, 0, sizeof(opt));
		/* A primary without EDNS (RFC 6891 7: FORMERR) or without
		 * version 0 (BADVERS, RCODE 16): once more without EDNS. */
		uint8_t hrc = buf[3] & 0xf;
		if (!edns || (buf[2] & 0x80) == 0 ||
		    !(hrc == LDNS_RCODE_FORMERR ||
		      (opt.present && ((unsigned)opt.ext_rcode << 4 | hrc) == 16)))
			break;
		query_free(&q);
		edns = 0;
		info->edns_fallback = 1;
		info->tcp = 0;
		rc = query_build(&q, zone, qtype, 0, 0, edns, tsig, err, errlen);
		if (rc != 0) {
			info->why = XFR_WHY_INTERNAL;
			goto out;
		}
	}
	if (ldns_wire2pkt(&pkt, buf, n) != LDNS_STATUS_OK) {
		info->why = XFR_WHY_MALFORMED;
		ed_seterr(err, errlen, "%s: malformed answer to the %s query", peer,
		          qtype == LDNS_RR_TYPE_SOA ? "SOA" : "apex");
		rc = ED_EFORMAT;
		goto out;
	}
	rc = check_header(&q, buf, n, pkt, 1, 1, &info->why, &info->rcode, peer, err, errlen);
	if (rc != 0)
		goto out;
	info->tsig_verified = q.signed_;
	info->aa = (buf[2] & 0x04) != 0;
	if (edns && opt.has_expire) {
		info->expire.valid = 1;
		info->expire.seconds = opt.expire;
	}
	*pktp = pkt;
	*qp = q;
	free(buf);
	return 0;
out:
	ldns_pkt_free(pkt);
	free(buf);
	query_free(&q);
	return rc;
}

uint64_t xfr_soa_hash(const ldns_rr *soa)
{
	uint64_t h = 0xcbf29ce484222325ull;   /* FNV-1a */
	ldns_buffer *b = ldns_buffer_new(512);
	if (b == NULL)
		return 0;
	if (ldns_rdf2buffer_wire_canonical(b, ldns_rr_owner(soa)) == LDNS_STATUS_OK)
		for (size_t i = 0; i < ldns_rr_rd_count(soa); i++)
			if (ldns_rdf2buffer_wire_canonical(b, ldns_rr_rdf(soa, i)) != LDNS_STATUS_OK)
				break;
	const uint8_t *d = ldns_buffer_begin(b);
	for (size_t i = 0; i < ldns_buffer_position(b); i++)
		h = (h ^ d[i]) * 0x100000001b3ull;
	ldns_buffer_free(b);
	return h;
}

int xfr_soa_query(const struct sockaddr *primary, socklen_t len, const char *zone,
                  const struct xfr_tsig *tsig, unsigned timeout_ms,
                  uint32_t *serial, struct xfr_soa_info *info,
                  char *err, size_t errlen)
{
	struct xfr_soa_info scratch;
	if (info == NULL)
		info = &scratch;
	ldns_rr_list *rrs = NULL;
	int rc = xfr_apex_query(primary, len, zone, LDNS_RR_TYPE_SOA, tsig, timeout_ms, &rrs, info,
	                        err, errlen);
	if (rc != 0)
		return rc;
	const ldns_rr *soa = NULL;
	for (size_t i = 0; soa == NULL && i < ldns_rr_list_rr_count(rrs); i++)
		if (ldns_rr_rd_count(ldns_rr_list_rr(rrs, i)) == 7)
			soa = ldns_rr_list_rr(rrs, i);
	if (soa == NULL) {
		char peer[INET6_ADDRSTRLEN + 16];
		peer_text(primary, len, peer, sizeof(peer));
		info->why = XFR_WHY_MALFORMED;
		info->expire.valid = 0;
		ed_seterr(err, errlen, "%s: no SOA for %s in the answer", peer, zone);
		ldns_rr_list_deep_free(rrs);
		return ED_EFORMAT;
	}
	info->serial = ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
	info->soa_hash = xfr_soa_hash(soa);
	if (serial)
		*serial = info->serial;
	ldns_rr_list_deep_free(rrs);
	return 0;
}

int xfr_apex_query(const struct sockaddr *primary, socklen_t len, const char *zone,
                   uint16_t qtype, const struct xfr_tsig *tsig, unsigned timeout_ms,
                   ldns_rr_list **rrs, struct xfr_soa_info *info, char *err, size_t errlen)
{
	struct xfr_soa_info scratch;
	if (info == NULL)
		info = &scratch;
	memset(info, 0, sizeof(*info));
	*rrs = NULL;
	if (err && errlen)
		err[0] = 0;
	char peer[INET6_ADDRSTRLEN + 16];
	peer_text(primary, len, peer, sizeof(peer));
	struct query q;
	ldns_pkt *pkt = NULL;
	int rc = apex_query(primary, len, zone, qtype, tsig, timeout_ms, &q, &pkt, info, peer,
	                    err, errlen);
	if (rc != 0)
		return rc;
	ldns_rr_list *out = ldns_rr_list_new();
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	for (size_t i = 0; out != NULL && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != qtype ||
		    ldns_dname_compare(ldns_rr_owner(rr), q.apex_rdf) != 0)
			continue;
		ldns_rr *c = ldns_rr_clone(rr);
		if (c == NULL || !ldns_rr_list_push_rr(out, c)) {
			ldns_rr_free(c);
			ldns_rr_list_deep_free(out);
			out = NULL;
		}
	}
	ldns_pkt_free(pkt);
	query_free(&q);
	if (out == NULL) {
		info->why = XFR_WHY_INTERNAL;
		ed_seterr(err, errlen, "%s: out of memory", peer);
		return ED_ENOMEM;
	}
	*rrs = out;
	return 0;
}

/* ---- the transfer ---- */

enum st { S_FIRST, S_IXFR_SECOND, S_AXFR, S_DEL, S_ADD, S_DONE };

struct xfr {
	struct query q;
	struct xfr_limits lim;
	struct xfr_result *out;
	const char *peer;
	char *err;
	size_t errlen;
	enum st st;
	uint32_t serial;         /* of the first SOA */
	uint32_t ours;           /* IXFR: our serial */
	ldns_rr *first_soa;
	unsigned extra_after_done;
};

static int fail(struct xfr *x, int rc, enum xfr_why why, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct xfr *x, int rc, enum xfr_why why, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->out->why = why;
	ed_seterr(x->err, x->errlen, "%s: %s of %s: %s", x->peer,
	          x->q.qtype == LDNS_RR_TYPE_IXFR ? "IXFR" : "AXFR", x->q.zone, msg);
	return rc;
}

uint32_t xfr_soa_serial(const ldns_rr *rr)
{
	return ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
}

static int push(ldns_rr_list **l, ldns_rr *rr)
{
	if (*l == NULL && (*l = ldns_rr_list_new()) == NULL)
		return ED_ENOMEM;
	return ldns_rr_list_push_rr(*l, rr) ? 0 : ED_ENOMEM;
}

static int diff_new(struct xfr *x, uint32_t from)
{
	struct xfr_result *o = x->out;
	struct xfr_diff *d = realloc(o->diffs, (o->ndiffs + 1) * sizeof(*d));
	if (d == NULL)
		return ED_ENOMEM;
	o->diffs = d;
	memset(&d[o->ndiffs], 0, sizeof(*d));
	d[o->ndiffs].from = from;
	o->ndiffs++;
	return 0;
}

/* One answer RR through the state machine; takes rr (frees it when it is
 * not kept). */
static int take_rr(struct xfr *x, ldns_rr *rr)
{
	struct xfr_result *o = x->out;
	int is_soa = ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA;
	if (is_soa && (ldns_rr_rd_count(rr) != 7 ||
	               ldns_dname_compare(ldns_rr_owner(rr), x->q.apex_rdf) != 0)) {
		ldns_rr_free(rr);
		return fail(x, ED_EFORMAT, XFR_WHY_MALFORMED, "SOA not at the apex");
	}
	uint32_t s = is_soa ? xfr_soa_serial(rr) : 0;
	int rc = 0;
	struct xfr_diff *d = o->ndiffs ? &o->diffs[o->ndiffs - 1] : NULL;
	switch (x->st) {
	case S_FIRST:
		if (!is_soa) {
			ldns_rr_free(rr);
			return fail(x, ED_EFORMAT, XFR_WHY_MALFORMED, "first RR is not the SOA");
		}
		x->serial = s;
		o->serial = s;
		x->st = x->q.qtype == LDNS_RR_TYPE_IXFR ? S_IXFR_SECOND : S_AXFR;
		x->first_soa = rr;
		return 0;
	case S_IXFR_SECOND:
		if (!is_soa) {
			x->st = S_AXFR;
			o->kind = XFR_KIND_AXFR;
			return push(&o->zone, rr);
		}
		if (s == x->serial) {       /* AXFR-style, the zone is its SOA only */
			ldns_rr_free(rr);
			o->kind = XFR_KIND_AXFR;
			x->st = S_DONE;
			return 0;
		}
		if (s != x->ours) {
			ldns_rr_free(rr);
			return fail(x, ED_EFORMAT, XFR_WHY_IXFR, "second SOA has serial %u, "
			            "neither ours (%u) nor the new one (%u)", s, x->ours, x->serial);
		}
		o->kind = XFR_KIND_IXFR;
		if ((rc = diff_new(x, s)) != 0)
			break;
		x->st = S_DEL;
		return push(&o->diffs[o->ndiffs - 1].del, rr);
	case S_AXFR:
		if (!is_soa)
			return push(&o->zone, rr);
		ldns_rr_free(rr);
		if (s != x->serial)
			return fail(x, ED_EFORMAT, XFR_WHY_SERIAL, "SOA serial %u in the middle of "
			            "the transfer of serial %u", s, x->serial);
		x->st = S_DONE;
		return 0;
	case S_DEL:
		if (!is_soa)
			return push(&d->del, rr);
		d->to = s;
		x->st = S_ADD;
		return push(&d->add, rr);
	case S_ADD:
		if (!is_soa)
			return push(&d->add, rr);
		if (s == x->serial && d->to == x->serial) {
			ldns_rr_free(rr);
			x->st = S_DONE;
			return 0;
		}
		if (s != d->to) {
			ldns_rr_free(rr);
			return fail(x, ED_EFORMAT, XFR_WHY_IXFR, "diff from serial %u follows the "
			            "diff to serial %u", s, d->to);
		}
		if ((rc = diff_new(x, s)) != 0)
			break;
		x->st = S_DEL;
		return push(&o->diffs[o->ndiffs - 1].del, rr);
	case S_DONE:
		ldns_rr_free(rr);
		return fail(x, ED_EFORMAT, XFR_WHY_SERIAL, "records after the final SOA");
	}
	ldns_rr_free(rr);
	return rc;
}

static int take_msg(struct xfr *x, const uint8_t *m, size_t len)
{
	struct xfr_result *o = x->out;
	unsigned msgno = (unsigned)o->messages;
	ldns_pkt *pkt = NULL;
	if (len < 12 || ldns_wire2pkt(&pkt, m, len) != LDNS_STATUS_OK)
		return fail(x, ED_EFORMAT, XFR_WHY_MALFORMED, "message %u is malformed", msgno);
	enum xfr_why why = XFR_WHY_NONE;
	int rc = check_header(&x->q, m, len, pkt, msgno, msgno == 1, &why, &o->rcode,
	                      x->peer, x->err, x->errlen);
	if (rc != 0) {
		o->why = why;
		ldns_pkt_free(pkt);
		return rc;
	}
	if (x->q.signed_)
		o->tsig_verified++;
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t n = ldns_rr_list_rr_count(an);
	size_t big = max_rdlen(m, len);
	if (big > x->lim.max_rr_size) {
		ldns_pkt_free(pkt);
		return fail(x, ED_ELIMIT, XFR_WHY_RR_SIZE, "an RR of message %u has %zu octets "
		            "of RDATA, the limit is %u", msgno, big, x->lim.max_rr_size);
	}
	if (o->rrs + n > x->lim.max_rrs) {
		ldns_pkt_free(pkt);
		return fail(x, ED_ELIMIT, XFR_WHY_MAX_RRS, "more than %llu RRs",
		            (unsigned long long)x->lim.max_rrs);
	}
	if (n == 0 && x->st == S_FIRST) {
		ldns_pkt_free(pkt);
		return fail(x, ED_EFORMAT, XFR_WHY_MALFORMED, "the first message has no answer");
	}
	/* The RRs change hands: the packet frees only its list. */
	ldns_rr **rrs = malloc((n ? n : 1) * sizeof(*rrs));
	if (rrs == NULL) {
		ldns_pkt_free(pkt);
		return fail(x, ED_ENOMEM, XFR_WHY_INTERNAL, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		rrs[i] = ldns_rr_list_rr(an, i);
	ldns_rr_list_set_rr_count(an, 0);
	ldns_pkt_free(pkt);
	o->rrs += n;
	size_t i = 0;
	for (; i < n && rc == 0; i++) {
		ldns_rr *rr = rrs[i];
		const ldns_rdf *own = ldns_rr_owner(rr);
		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
			rc = fail(x, ED_EFORMAT, XFR_WHY_CLASS, "RR of class %u", ldns_rr_get_class(rr));
			ldns_rr_free(rr);
		} else if (ldns_dname_compare(own, x->q.apex_rdf) != 0 &&
		           !ldns_dname_is_subdomain(own, x->q.apex_rdf)) {
			char *s = ldns_rdf2str(own);
			rc = fail(x, ED_EFORMAT, XFR_WHY_OUT_OF_ZONE, "owner %s is not in the zone",
			          s ? s : "?");
			free(s);
			ldns_rr_free(rr);
		} else {
			rc = take_rr(x, rr);
		}
	}
	for (; i < n; i++)
		ldns_rr_free(rrs[i]);
	free(rrs);
	if (rc == 0 && x->st == S_IXFR_SECOND && !serial_gt(x->serial, x->ours)) {
		/* A lone SOA not newer than ours: up to date (RFC 1995 2). */
		o->kind = XFR_KIND_UPTODATE;
		x->st = S_DONE;
	}
	return rc;
}

static int xfr_run(struct xfr *x, const struct sockaddr *primary, socklen_t len)
{
	struct xfr_result *o = x->out;
	uint64_t deadline = now_ms() + x->lim.timeout_ms;
	int fd = sock_open(primary, len, SOCK_STREAM, deadline);
	if (fd < 0)
		return fail(x, fd, fd == ED_ETIMEOUT ? XFR_WHY_TIMEOUT : XFR_WHY_NETWORK,
		            "connect: %s", fd == ED_ETIMEOUT ? "timed out" : strerror(errno));
	uint8_t *buf = malloc(MSG_MAX);
	int rc = buf ? 0 : ED_ENOMEM;
	uint8_t hdr[2];
	put16(hdr, (uint16_t)x->q.len);
	if (rc == 0)
		rc = send_all(fd, hdr, 2, deadline);
	if (rc == 0)
		rc = send_all(fd, x->q.wire, x->q.len, deadline);
	if (rc != 0) {
		rc = rc == ED_ENOMEM ? fail(x, rc, XFR_WHY_INTERNAL, "out of memory")
		                     : fail(x, rc, rc == ED_ETIMEOUT ? XFR_WHY_TIMEOUT : XFR_WHY_NETWORK,
		                            "sending the query: %s", rc == ED_ETIMEOUT ? "timed out"
		                            : strerror(errno));
	}
	while (rc == 0 && x->st != S_DONE) {
		int r = recv_all(fd, hdr, 2, deadline);
		size_t ml = r == 0 ? get16(hdr) : 0;
		if (r == 0 && o->bytes + 2 + ml > x->lim.max_bytes) {
			rc = fail(x, ED_ELIMIT, XFR_WHY_MAX_BYTES, "more than %llu octets",
			          (unsigned long long)x->lim.max_bytes);
			break;
		}
		if (r == 0)
			r = recv_all(fd, buf, ml, deadline);
		if (r == 1) {
			rc = fail(x, ED_EFORMAT, XFR_WHY_CLOSED, "connection closed after %llu "
			          "messages, before the final SOA (truncated)",
			          (unsigned long long)o->messages);
		} else if (r != 0) {
			rc = fail(x, r, r == ED_ETIMEOUT ? XFR_WHY_TIMEOUT : XFR_WHY_NETWORK,
			          "%s after %llu messages, %llu octets",
			          r == ED_ETIMEOUT ? "timed out" : strerror(errno),
			          (unsigned long long)o->messages, (unsigned long long)o->bytes);
		} else {
			o->bytes += 2 + ml;
			o->messages++;
			rc = take_msg(x, buf, ml);
		}
	}
	free(buf);
	close(fd);
	return rc;
}

static void limits_fill(struct xfr_limits *l, const struct xfr_limits *in)
{
	if (in)
		*l = *in;
	else
		memset(l, 0, sizeof(*l));
	if (!l->max_bytes)
		l->max_bytes = XFR_DEFAULT_MAX_BYTES;
	if (!l->max_rrs)
		l->max_rrs = XFR_DEFAULT_MAX_RRS;
	if (!l->max_rr_size)
		l->max_rr_size = XFR_DEFAULT_MAX_RR_SIZE;
	if (!l->timeout_ms)
		l->timeout_ms = XFR_DEFAULT_TIMEOUT_MS;
}

void xfr_result_free(struct xfr_result *r)
{
	if (r == NULL)
		return;
	xfr_shared_drop(r->zone, &r->shared);
	for (size_t i = 0; i < r->ndiffs; i++) {
		ldns_rr_list_deep_free(r->diffs[i].del);
		ldns_rr_list_deep_free(r->diffs[i].add);
	}
	free(r->diffs);
	memset(r, 0, sizeof(*r));
}

int xfr_fetch(const struct sockaddr *primary, socklen_t len, const char *zone,
              ldns_rr_type type, uint32_t current_serial,
              const struct xfr_tsig *tsig, const struct xfr_limits *limits,
              struct xfr_result *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = 0;
	if (primary == NULL || zone == NULL ||
	    (type != LDNS_RR_TYPE_AXFR && type != LDNS_RR_TYPE_IXFR)) {
		out->why = XFR_WHY_INTERNAL;
		ed_seterr(err, errlen, "xfr_fetch: bad arguments");
		return ED_EINVAL;
	}
	char peer[INET6_ADDRSTRLEN + 16];
	peer_text(primary, len, peer, sizeof(peer));
	struct xfr x;
	memset(&x, 0, sizeof(x));
	x.out = out;
	x.peer = peer;
	x.err = err;
	x.errlen = errlen;
	x.ours = current_serial;
	limits_fill(&x.lim, limits);
	int rc = query_build(&x.q, zone, (uint16_t)type, type == LDNS_RR_TYPE_IXFR,
	                     current_serial, 0, tsig, err, errlen);
	if (rc != 0) {
		out->why = XFR_WHY_INTERNAL;
		query_free(&x.q);
		return rc;
	}
	out->kind = XFR_KIND_AXFR;
	rc = xfr_run(&x, primary, len);
	if (rc == 0 && out->kind != XFR_KIND_UPTODATE && out->kind != XFR_KIND_IXFR) {
		/* The zone: the first SOA, then the RRs in the order received. */
		ldns_rr_list *z = ldns_rr_list_new();
		if (z == NULL || !ldns_rr_list_push_rr(z, x.first_soa) ||
		    (out->zone && !ldns_rr_list_cat(z, out->zone))) {
			ldns_rr_list_free(z);
			rc = fail(&x, ED_ENOMEM, XFR_WHY_INTERNAL, "out of memory");
		} else {
			x.first_soa = NULL;
			ldns_rr_list_free(out->zone);  /* its RRs moved to z */
			out->zone = z;
		}
	}
	if (rc != 0 || out->kind != XFR_KIND_AXFR) {
		ldns_rr_list_deep_free(out->zone);
		out->zone = NULL;
	}
	if (rc != 0) {
		for (size_t i = 0; i < out->ndiffs; i++) {
			ldns_rr_list_deep_free(out->diffs[i].del);
			ldns_rr_list_deep_free(out->diffs[i].add);
		}
		free(out->diffs);
		out->diffs = NULL;
		out->ndiffs = 0;
		out->kind = XFR_KIND_NONE;
	}
	ldns_rr_free(x.first_soa);
	query_free(&x.q);
	return rc;
}
