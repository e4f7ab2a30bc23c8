#!/bin/sh
# images/provision.sh: factory provisioning of a disk image's data
# partition (before it is written to an appliance's disk, or booted by the
# boot test).
#
#   sh images/provision.sh IMAGE DIR
#
# DIR is the content of the data partition, e.g.
#   DIR/etc/edgedns/control.yaml        -> /etc/edgedns/control.yaml
#   DIR/etc/edgedns/*.secret            -> TSIG secrets, cookie.secret
#   DIR/etc/edgedns/dataplane.env       -> the dataplane's options
#   DIR/etc/edgedns/network/*.network   -> systemd-networkd (management port)
#   DIR/etc/edgedns/ssh/authorized_keys -> root's ssh keys
#   DIR/var/lib/edgedns/snapshots/...   -> zones served before any transfer
# A new data partition is made from the image's empty layout and DIR
# (mkfs.ext4 -d: no loop device, no mount) and written over the image's
# data partition: whatever it held is replaced. Owners and modes of
# secrets are set at every boot (tmpfiles: root:edgedns 0640).
set -eu
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || die "usage: sh images/provision.sh IMAGE DIR"
IMAGE=$1
SRC=$2
[ -f "$IMAGE" ] || die "$IMAGE: no such image"
[ -d "$SRC" ] || die "$SRC: no such directory"
need_root "provisioning"
need_tools sfdisk mkfs.ext4 python3

set -- $(parts_of "$IMAGE" | awk -v l="$DATA_LABEL" '$1 == l { print $2, $3 }')
[ $# -eq 2 ] || die "$IMAGE: no partition named $DATA_LABEL"
start=$1
sectors=$2

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM
mkdir -p "$W/data/etc/edgedns" "$W/data/var/lib/edgedns" "$W/data/log/journal" "$W/data/rauc" \
	"$W/data/ssh"
echo 1 > "$W/data/layout"
cp -a "$SRC/." "$W/data/"
chown -R 0:0 "$W/data"
chmod 700 "$W/data/ssh"
[ ! -d "$W/data/etc/edgedns/ssh" ] || chmod 700 "$W/data/etc/edgedns/ssh"
find "$W/data/etc/edgedns" -name '*.secret' -exec chmod 600 {} +
mkfs.ext4 -q -F -L data -E root_owner=0:0 -d "$W/data" "$W/data.img" "$((sectors / 2))k" >/dev/null
dd if="$W/data.img" of="$IMAGE" bs=512 seek="$start" conv=notrunc,sparse status=none
log "$IMAGE: data partition provisioned from $SRC"
