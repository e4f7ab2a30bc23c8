#!/usr/bin/python3
"""Generate the benchmark zones and query mix.

bench.example.   N names: A (and AAAA on every fourth), CNAMEs, delegations
                 with glue.
signed.example.  a smaller zone, signed by run.sh (NSEC), for DO queries.

The query file holds one query per line: "name type do", in the mix
60% A, 10% AAAA, 10% CNAME, 10% NXDOMAIN, 5% referral, 5% DO on the signed
zone. Deterministic (seeded).
"""
import random
import sys


def main():
    out = sys.argv[1]
    names = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    nq = int(sys.argv[3]) if len(sys.argv) > 3 else 1000000
    rnd = random.Random(42)
    n_host = names * 8 // 10
    n_cname = names // 10
    n_deleg = names - n_host - n_cname
    with open(f"{out}/bench.example.zone", "w") as f:
        f.write("$ORIGIN bench.example.\n$TTL 3600\n")
        f.write("@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n")
        f.write("@ NS ns1\n@ NS ns2\nns1 A 192.0.2.1\nns2 A 192.0.2.2\n")
        for i in range(n_host):
            f.write(f"h{i} A 198.51.{(i >> 8) & 255}.{i & 255}\n")
            if i % 4 == 0:
                f.write(f"h{i} AAAA 2001:db8::{i & 0xffff:x}\n")
        for i in range(n_cname):
            f.write(f"c{i} CNAME h{rnd.randrange(n_host)}\n")
        for i in range(n_deleg):
            f.write(f"d{i} NS ns.d{i}\nns.d{i} A 203.0.113.{i & 255}\n")
    n_signed = 10000
    with open(f"{out}/signed.example.zone", "w") as f:
        f.write("$ORIGIN signed.example.\n$TTL 3600\n")
        f.write("@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n")
        for i in range(n_signed):
            f.write(f"s{i} A 192.0.2.{i & 255}\n")
    with open(f"{out}/queries.txt", "w") as f:
        for _ in range(nq):
            r = rnd.random()
            if r < 0.60:
                f.write(f"h{rnd.randrange(n_host)}.bench.example. A 0\n")
            elif r < 0.70:
                f.write(f"h{rnd.randrange(n_host // 4) * 4}.bench.example. AAAA 0\n")
            elif r < 0.80:
                f.write(f"c{rnd.randrange(n_cname)}.bench.example. A 0\n")
            elif r < 0.90:
                f.write(f"nx{rnd.randrange(1 << 30)}.bench.example. A 0\n")
            elif r < 0.95:
                f.write(f"www.d{rnd.randrange(n_deleg)}.bench.example. A 0\n")
            else:
                f.write(f"s{rnd.randrange(n_signed)}.signed.example. A 1\n")


if __name__ == "__main__":
    main()
