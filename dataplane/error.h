/* error.h: the one error convention of edgedns: 0 or a negative ED_E* code. */
#ifndef EDGEDNS_ERROR_H
#define EDGEDNS_ERROR_H

#include <stddef.h>

enum {
	ED_OK = 0,
	ED_ENOMEM = -1,    /* out of memory */
	ED_EIO = -2,       /* a system call failed; errno says more */
	ED_EINVAL = -3,    /* bad argument */
	ED_EFORMAT = -4,   /* malformed file or message */
	ED_EVERSION = -5,  /* unsupported format version */
	ED_ECHECKSUM = -6, /* content checksum mismatch */
	ED_ERANGE = -7,    /* offset or size out of bounds */
	ED_ELIMIT = -8,    /* a configured or format limit was exceeded */
	ED_ENOENT = -9,    /* no such item */
	ED_EEXIST = -10,   /* item already present */
	ED_ESYNTAX = -11,  /* zone file syntax error */
	ED_EZONE = -12,    /* zone content fails a semantic check */
	ED_EBUSY = -13,    /* resource in use */
	ED_ETIMEOUT = -14, /* a network peer did not answer in time */
	ED_ETSIG = -15,    /* TSIG: unsigned, not verified, or refused by the
	                      peer (BADSIG, BADKEY, BADTIME) */
	ED_ERCODE = -16,   /* the peer answered with an error RCODE */
};

/* Message for an ED_E* code (never NULL). */
const char *ed_strerror(int code);

/* printf into err (errlen octets, always terminated); nothing when err is
 * NULL or errlen 0. For the err/errlen out-parameters of our APIs. */
void ed_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
