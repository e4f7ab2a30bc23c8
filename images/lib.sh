# images/lib.sh: what build.sh, bundle.sh and provision.sh share (sourced).
# POSIX sh; root (chroot, loop-free image assembly, mkfs with owners).

REPO=$(cd "$(dirname "$0")/.." && pwd)
IMAGES=$REPO/images
VERSION=$(cat "$REPO/VERSION")

# Outside the clone, so CI on the same machine and later runs reuse it.
CACHE=${IMAGE_CACHE:-/var/cache/edgedns/image}
OUT=${IMAGE_OUT:-$REPO/build/image}
# The Debian mirror: nothing is downloaded from anywhere else.
MIRROR=${IMAGE_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${IMAGE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
SUITE=bookworm

# The GPT of the disk image (MiB). The slots hold the squashfs of the root
# file system (about 200 MiB today) with room to grow; the data partition
# is the last one, so a bigger disk can give it the rest.
ESP_MIB=64
SLOT_MIB=768
DATA_MIB=256
ESP_LABEL=esp
SLOT_A_LABEL=rootfs-A
SLOT_B_LABEL=rootfs-B
DATA_LABEL=data
# RAUC's compatible string: a bundle for another one is refused.
COMPATIBLE=edgedns-appliance-x86_64

log() {
	printf '%s image: %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

die() {
	printf 'image: error: %s\n' "$*" >&2
	exit 1
}

need_root() {
	[ "$(id -u)" = 0 ] || die "$1 needs root (chroot, mkfs with owners)"
}

need_tools() {
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || die "$t not found: sh tests/deps.sh installs it"
	done
}

# sha256 of stdin, hex.
sha() {
	sha256sum | cut -c1-64
}

# A UUID derived from a key and a name: the same inputs give the same
# disk, partition and file system UUIDs (reproducible images).
uuid_of() {
	printf '%s %s' "$1" "$2" | sha | sed 's/^\(........\)\(....\).\(...\).\(...\)\(............\).*/\1-\2-4\3-8\4-\5/'
}

# The newest commit time of paths in the repo (SOURCE_DATE_EPOCH), or
# a fixed date outside a git checkout.
epoch_of() {
	t=$(git -C "$REPO" log -1 --format=%ct -- "$@" 2>/dev/null || true)
	echo "${t:-1700000000}"
}

# The development signing keys: generated once into the cache, never in
# the repo. A CA (its certificate is the keyring in the image) and a
# signing key with a certificate it issued. RAUC_KEY/RAUC_CERT and
# RAUC_KEYRING replace them with real ones (README, images/README.md).
KEYDIR=${IMAGE_KEYDIR:-$CACHE/keys}
dev_keys() {
	[ -s "$KEYDIR/dev-signing.cert.pem" ] && return 0
	need_tools openssl
	log "development signing keys: generating into $KEYDIR (not for production)"
	mkdir -p "$KEYDIR"
	chmod 700 "$KEYDIR"
	t=$(mktemp -d)
	cat > "$t/ca.cnf" <<-EOF
	[req]
	distinguished_name = dn
	prompt = no
	[dn]
	CN = edgedns development CA (not for production)
	[v3_ca]
	basicConstraints = critical,CA:true
	keyUsage = critical,keyCertSign,cRLSign
	subjectKeyIdentifier = hash
	[v3_leaf]
	basicConstraints = critical,CA:false
	keyUsage = critical,digitalSignature
	extendedKeyUsage = codeSigning
	subjectKeyIdentifier = hash
	authorityKeyIdentifier = keyid
	EOF
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
		-keyout "$t/ca.key" -out "$t/ca.cert" -config "$t/ca.cnf" -extensions v3_ca \
		2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=edgedns development signing key (not for production)" \
		-keyout "$t/signing.key" -out "$t/signing.csr" 2>/dev/null
	openssl x509 -req -in "$t/signing.csr" -CA "$t/ca.cert" -CAkey "$t/ca.key" \
		-CAcreateserial -days 3650 -extfile "$t/ca.cnf" -extensions v3_leaf \
		-out "$t/signing.cert" 2>/dev/null
	install -m 600 "$t/ca.key" "$KEYDIR/dev-ca.key.pem"
	install -m 644 "$t/ca.cert" "$KEYDIR/dev-ca.cert.pem"
	install -m 600 "$t/signing.key" "$KEYDIR/dev-signing.key.pem"
	install -m 644 "$t/signing.cert" "$KEYDIR/dev-signing.cert.pem"
	rm -rf "$t"
}

# The keyring the image trusts and the key and certificate bundles are
# signed with.
signing_setup() {
	if [ -n "${RAUC_KEYRING:-}${RAUC_KEY:-}${RAUC_CERT:-}" ]; then
		[ -n "${RAUC_KEYRING:-}" ] && [ -n "${RAUC_KEY:-}" ] && [ -n "${RAUC_CERT:-}" ] ||
			die "a real key needs all three: RAUC_KEYRING (CA certificate the image trusts), RAUC_KEY (file or PKCS#11 URI), RAUC_CERT"
		KEYRING=$RAUC_KEYRING
		SIGN_KEY=$RAUC_KEY
		SIGN_CERT=$RAUC_CERT
	else
		dev_keys
		KEYRING=$KEYDIR/dev-ca.cert.pem
		SIGN_KEY=$KEYDIR/dev-signing.key.pem
		SIGN_CERT=$KEYDIR/dev-signing.cert.pem
	fi
	[ -r "$KEYRING" ] || die "keyring $KEYRING not readable"
}

# RAUC's system.conf of the image (images/rauc/system.conf) into file $1;
# on the build host it also gives `rauc bundle` and `rauc info` the
# keyring's purpose check (codesign).
system_conf() {
	sed -e "s/@COMPATIBLE@/$COMPATIBLE/" -e "s/@SLOT_A@/$SLOT_A_LABEL/" \
		-e "s/@SLOT_B@/$SLOT_B_LABEL/" "$IMAGES/rauc/system.conf" > "$1"
}

# Run "$@" chrooted into $1 with /proc, /sys and /dev mounted in a mount
# namespace of its own: they go away with it, even when the command fails.
in_root() {
	root=$1
	shift
	unshare --mount --propagation private sh -c '
		r=$1; shift
		mount -t proc proc "$r/proc" && mount -t sysfs sys "$r/sys" &&
		mount --rbind /dev "$r/dev" && mount -t tmpfs tmpfs "$r/run" &&
		mount -t tmpfs tmpfs "$r/tmp" || exit 1
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 \
			SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" "$@"' in_root "$root" "$@"
}

# Partition table of an image: "name start_sector size_sectors" lines.
parts_of() {
	sfdisk -J "$1" | /usr/bin/python3 -c '
import json, sys
t = json.load(sys.stdin)["partitiontable"]
for p in t["partitions"]:
    print(p.get("name", "-"), p["start"], p["size"])'
}
