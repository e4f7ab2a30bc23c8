#!/bin/sh
# images/bundle.sh: a signed RAUC update bundle of the root file system
# (make bundle).
#
#   sh images/bundle.sh [-r ROOTFS.squashfs] [-v VERSION] [-o OUT.raucb]
#
# Defaults: build/image/rootfs.squashfs (make image), VERSION, and
# build/image/edgedns-VERSION.raucb. The bundle is RAUC's own format
# (verity: a squashfs with the image and a dm-verity hash tree, whose root
# hash is in the manifest, in a CMS signature), signed with RAUC_KEY and
# RAUC_CERT, or with the development key the build generated
# ($CACHE/keys, never in the repo). `rauc install` on the appliance checks
# the signature against /etc/rauc/keyring.pem and refuses anything else.
set -eu
. "$(dirname "$0")/lib.sh"

ROOTFS=$OUT/rootfs.squashfs
BVERSION=$VERSION
BOUT=""
while getopts r:v:o: o; do
	case $o in
	r) ROOTFS=$OPTARG ;;
	v) BVERSION=$OPTARG ;;
	o) BOUT=$OPTARG ;;
	*) die "usage: sh images/bundle.sh [-r ROOTFS.squashfs] [-v VERSION] [-o OUT.raucb]" ;;
	esac
done
[ -n "$BOUT" ] || BOUT=$OUT/edgedns-$BVERSION.raucb
[ -s "$ROOTFS" ] || die "$ROOTFS missing: make image first"
need_tools rauc mksquashfs
signing_setup

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM
mkdir -p "$W/bundle"
ln "$ROOTFS" "$W/bundle/rootfs.squashfs" 2>/dev/null || cp "$ROOTFS" "$W/bundle/rootfs.squashfs"
build=""
[ -r "$(dirname "$ROOTFS")/image.env" ] && build=$(sed -n 's/^IMAGE_KEY=//p' "$(dirname "$ROOTFS")/image.env")
cat > "$W/bundle/manifest.raucm" <<EOF
[update]
compatible=$COMPATIBLE
version=$BVERSION
description=edgedns appliance root file system
build=${build:-unknown}

[bundle]
format=verity

[image.rootfs]
filename=rootfs.squashfs
EOF
system_conf "$W/system.conf"
rm -f "$BOUT"
mkdir -p "$(dirname "$BOUT")"
# the image is compressed already: the bundle's squashfs stores it as is
rauc -c "$W/system.conf" bundle --cert="$SIGN_CERT" --key="$SIGN_KEY" --keyring="$KEYRING" \
	--mksquashfs-args="-noD -noF -noX" "$W/bundle" "$BOUT" > "$W/rauc.log" 2>&1 ||
	{ cat "$W/rauc.log" >&2; die "rauc bundle failed"; }
log "$BOUT: version $BVERSION, $(du -h "$BOUT" | cut -f1), signed by $(openssl x509 -noout -subject -in "$SIGN_CERT" 2>/dev/null | sed 's/^subject=//')"
