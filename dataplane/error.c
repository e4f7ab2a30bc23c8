/* error.c: messages for the ED_E* codes. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

const char *ed_strerror(int code)
{
	switch (code) {
	case ED_OK: return "ok";
	case ED_ENOMEM: return "out of memory";
	case ED_EIO: return "input/output error";
	case ED_EINVAL: return "invalid argument";
	case ED_EFORMAT: return "malformed data";
	case ED_EVERSION: return "unsupported format version";
	case ED_ECHECKSUM: return "checksum mismatch";
	case ED_ERANGE: return "offset or size out of bounds";
	case ED_ELIMIT: return "limit exceeded";
	case ED_ENOENT: return "not found";
	case ED_EEXIST: return "already exists";
	case ED_ESYNTAX: return "syntax error";
	case ED_EZONE: return "zone check failed";
	case ED_EBUSY: return "busy";
	case ED_ETIMEOUT: return "timed out";
	case ED_ETSIG: return "TSIG failure";
	case ED_ERCODE: return "error RCODE from peer";
	}
	return "unknown error";
}

void ed_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
