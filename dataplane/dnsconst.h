/* dnsconst.h: the DNS numbers edgedns uses (RR types, classes, rcodes). */
#ifndef EDGEDNS_DNSCONST_H
#define EDGEDNS_DNSCONST_H

/* RR types (IANA "Resource Record (RR) TYPEs"). */
enum {
	T_A = 1, T_NS = 2, T_MD = 3, T_MF = 4, T_CNAME = 5, T_SOA = 6,
	T_MB = 7, T_MG = 8, T_MR = 9, T_PTR = 12, T_MINFO = 14, T_MX = 15,
	T_TXT = 16, T_RP = 17, T_AFSDB = 18, T_RT = 21, T_SIG = 24, T_PX = 26,
	T_AAAA = 28, T_NXT = 30, T_SRV = 33, T_NAPTR = 35, T_KX = 36, T_A6 = 38,
	T_DNAME = 39, T_OPT = 41, T_DS = 43, T_RRSIG = 46, T_NSEC = 47,
	T_DNSKEY = 48, T_NSEC3 = 50, T_NSEC3PARAM = 51,
	T_IXFR = 251, T_AXFR = 252, T_ANY = 255,
};

/* Classes. */
enum { C_IN = 1, C_CH = 3, C_ANY = 255 };

/* Response codes; 16 and up travel in the OPT record (RFC 6891). */
enum {
	RC_NOERROR = 0, RC_FORMERR = 1, RC_SERVFAIL = 2, RC_NXDOMAIN = 3,
	RC_NOTIMP = 4, RC_REFUSED = 5, RC_YXDOMAIN = 6, RC_NOTAUTH = 9,
	RC_BADVERS = 16, RC_BADCOOKIE = 23,
};

#endif
