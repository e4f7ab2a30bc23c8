#!/usr/bin/python3
"""Turn gen_zone.py's query file ("name type do") into the query file of the
DPDK and XDP benchmarks, in the format dnsgen and kxdpgun both read:
"name type [E|D]" (E: EDNS0, D: EDNS0 with DO, nothing: no EDNS).

usage: mix_queries.py IN OUT [N]

The first N queries (default all) keep their name and type (the gen_zone.py
mix: 60% A, 10% AAAA, 10% CNAME, 10% NXDOMAIN, 5% referral, 5% signed zone).
Those marked DO stay DO; of the others 70% get EDNS0 (payload 1232 in dnsgen,
kxdpgun's own in kxdpgun), a third of those with DO, as validating resolvers
send. Deterministic (seeded).
"""
import random
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    n = int(sys.argv[3]) if len(sys.argv) > 3 else -1
    rnd = random.Random(7)
    with open(sys.argv[1]) as fin, open(sys.argv[2], "w") as fout:
        for i, line in enumerate(fin):
            if i == n:
                break
            name, qtype, dobit = line.split()
            r = rnd.random()
            if dobit == "1" or r < 0.70 / 3:
                flag = " D"
            elif r < 0.70:
                flag = " E"
            else:
                flag = ""
            fout.write(f"{name} {qtype}{flag}\n")


if __name__ == "__main__":
    main()
