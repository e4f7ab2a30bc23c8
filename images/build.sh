#!/bin/sh
# images/build.sh: the appliance's bootable x86-64 disk image (make image).
#
#   DEB="build/deb/edgedns_0.9.0_amd64.deb ..." sh images/build.sh
#
# From Debian 12 packages only, fetched from the Debian mirror (MIRROR):
#
# 1. base: mmdebstrap --variant=minbase of bookworm with
#    images/packages.list, cached in $CACHE/base-<key> (key: the package
#    list, this script, the mirror), so CI on the same machine and later
#    runs reuse it;
# 2. root file system: a copy of the base, our .deb files installed
#    (their dependencies from the base, else from the mirror),
#    images/overlay/ on top, RAUC's system.conf and keyring, a small
#    initramfs, kernel modules and files no appliance needs removed; then
#    a squashfs image of it (rootfs.squashfs: what a slot holds and a
#    bundle carries);
# 3. disk: a GPT with the ESP (GRUB's EFI binary from grub-mkimage,
#    images/grub/grub.cfg, the grubenv), slot A (rootfs.squashfs), slot B
#    (empty until the first update) and the data partition (an empty
#    ext4: the initramfs makes its layout at the first boot, and grows it
#    to the end of a bigger disk), all made as files (mksquashfs,
#    mkfs.vfat + mtools, mkfs.ext4) and
#    written into the image at their offsets: no loop device, no mount, no
#    running system.
#
# Everything in steps 2-3 is keyed by its inputs (base key, the .deb files,
# images/, VERSION, the keyring): $CACHE/image-<key> is reused when nothing
# changed. SOURCE_DATE_EPOCH, UUIDs and file system seeds come from the
# inputs, so the same inputs give the same bytes (images/README.md).
#
# Output in $OUT (build/image): edgedns.img (the disk, sparse),
# rootfs.squashfs, packages.txt (every package and version), image.env
# (key, version, sizes, build time).
set -eu
. "$(dirname "$0")/lib.sh"

need_root "make image"
need_tools mmdebstrap mksquashfs mkfs.vfat mcopy mmd mkfs.ext4 sfdisk grub-mkimage \
	grub-editenv grub-script-check unshare python3 faketime
[ -d /usr/lib/grub/x86_64-efi ] || die "/usr/lib/grub/x86_64-efi missing: apt-get install grub-efi-amd64-bin"

DEBS=""
for d in ${DEB:-}; do
	[ -f "$d" ] || die "DEB: $d is not a file"
	DEBS="$DEBS $(cd "$(dirname "$d")" && pwd)/$(basename "$d")"
done
if [ -z "$DEBS" ]; then
	[ "${IMAGE_NO_DEB:-0}" = 1 ] ||
		die "no .deb: run make deb first, or DEB=path/edgedns_*.deb (IMAGE_NO_DEB=1 builds the image without edgedns)"
	log "warning: no .deb given (IMAGE_NO_DEB=1): an image without edgedns"
fi
signing_setup
t_start=$(date +%s)
mkdir -p "$CACHE" "$OUT"

# ---- 1. the base (cached) ---------------------------------------------------
PKGLIST=$(grep -v '^[[:space:]]*#' "$IMAGES/packages.list" | tr -s ' \t' '\n\n' | grep -v '^$' |
	sort -u | tr '\n' ',' | sed 's/,$//')
BASE_EPOCH=$(epoch_of images/packages.list)
BASE_KEY=$(printf '%s\n' "$PKGLIST" "$MIRROR" "$SECURITY_MIRROR" "$SUITE" "$BASE_EPOCH" \
	"$(sed -n '/^# ---- 1\./,/^# ---- 2\./p' "$0")" | sha | cut -c1-16)
BASE=$CACHE/base-$BASE_KEY

build_base() {
	log "base $BASE_KEY: mmdebstrap $SUITE (minbase + $(echo "$PKGLIST" | tr ',' '\n' | wc -l) packages) from $MIRROR"
	rm -rf "$BASE.tmp"
	mkdir -p "$BASE.tmp"
	# docs, man pages and locales are not on an appliance; copyrights are
	SOURCE_DATE_EPOCH=$BASE_EPOCH mmdebstrap --variant=minbase --mode=root --format=directory \
		--include="$PKGLIST" \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-include=/usr/share/locale/locale.alias' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--skip=cleanup/apt/lists \
		"$SUITE" "$BASE.tmp/root" \
		"deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" \
		"deb $SECURITY_MIRROR $SUITE-security main" > "$BASE.tmp/mmdebstrap.log" 2>&1 ||
		{ tail -30 "$BASE.tmp/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $BASE.tmp/mmdebstrap.log)"; }
	mv "$BASE.tmp" "$BASE"
	# the newest two bases stay in the cache
	ls -dt "$CACHE"/base-* 2>/dev/null | tail -n +3 | while read -r old; do
		[ "$old" = "$BASE" ] || rm -rf "$old"
	done
}
# ---- 2. root file system ----------------------------------------------------
if [ -d "$BASE/root" ]; then
	log "base $BASE_KEY: cached ($BASE)"
else
	build_base
fi

IMAGE_EPOCH=$(epoch_of images VERSION)
IMAGE_KEY=$(
	{
		echo "$BASE_KEY $IMAGE_EPOCH $VERSION $ESP_MIB $SLOT_MIB $DATA_MIB"
		for d in $DEBS; do sha256sum < "$d"; done
		sha256sum < "$KEYRING"
		(cd "$REPO" && find images -type f ! -name '*.md' | LC_ALL=C sort | xargs sha256sum)
		(cd "$REPO" && find images/overlay | LC_ALL=C sort | xargs stat -c '%n %A')
	} | sha | cut -c1-16)
IMG=$CACHE/image-$IMAGE_KEY
export SOURCE_DATE_EPOCH=$IMAGE_EPOCH

publish() {
	# hard links when the cache and the output share a file system
	for f in edgedns.img rootfs.squashfs packages.txt image.env; do
		rm -f "$OUT/$f"
		ln "$IMG/$f" "$OUT/$f" 2>/dev/null || cp --sparse=always "$IMG/$f" "$OUT/$f"
	done
	# the newest few images stay in the cache
	ls -dt "$CACHE"/image-* 2>/dev/null | tail -n +5 | while read -r old; do
		[ "$old" = "$IMG" ] || rm -rf "$old"
	done
}

if [ -s "$IMG/edgedns.img" ] && [ -s "$IMG/image.env" ]; then
	log "image $IMAGE_KEY: cached ($IMG)"
	touch "$IMG"
	publish
	log "$OUT/edgedns.img: $(du -h --apparent-size "$OUT/edgedns.img" | cut -f1) ($(du -h "$OUT/edgedns.img" | cut -f1) allocated), in $(( $(date +%s) - t_start )) s"
	exit 0
fi

W=$CACHE/work-$$
trap 'rm -rf "$W"' EXIT INT TERM
rm -rf "$W"
mkdir -p "$W"
R=$W/root
log "image $IMAGE_KEY: root file system (copy of the base)"
cp -a --reflink=auto "$BASE/root" "$R"

# our packages, with whatever they need that the base does not have
if [ -n "$DEBS" ]; then
	mkdir -p "$R/tmp/debs"
	for d in $DEBS; do cp "$d" "$R/tmp/debs/"; done
	log "installing $(cd "$R/tmp/debs" && echo *)"
	printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"
	chmod 755 "$R/usr/sbin/policy-rc.d"
	# /tmp is a tmpfs inside in_root: the packages go through /var/tmp
	mv "$R/tmp/debs" "$R/var/tmp/debs"
	# dpkg alone when the base has every dependency (no download: the
	# usual case, images/packages.list lists them); else apt fetches the
	# rest from the mirror
	if ! in_root "$R" sh -c 'dpkg -i /var/tmp/debs/*.deb' > "$W/apt.log" 2>&1; then
		log "dependencies not all in the base: apt-get update and install from $MIRROR"
		in_root "$R" sh -c 'apt-get update -q && apt-get install -y -q -f --no-install-recommends' \
			>> "$W/apt.log" 2>&1 || { tail -30 "$W/apt.log" >&2; die "installing the .deb failed"; }
	fi
	rm -rf "$R/var/tmp/debs" "$R/usr/sbin/policy-rc.d"
fi

log "overlay, RAUC, initramfs"
cp -a "$IMAGES/overlay/." "$R/"
chown -R 0:0 "$R/etc/initramfs-tools" "$R/usr/lib/edgedns-image"
system_conf "$R/etc/rauc/system.conf"
install -m 644 "$KEYRING" "$R/etc/rauc/keyring.pem"
echo "$VERSION" > "$R/usr/lib/edgedns-image/version"
cat > "$R/etc/os-release.edgedns" <<EOF
EDGEDNS_VERSION=$VERSION
EDGEDNS_IMAGE_KEY=$IMAGE_KEY
EOF
mv "$R/etc/os-release.edgedns" "$R/usr/lib/edgedns-image/image.env"

# /etc/edgedns, /var/lib/edgedns and /etc/machine-id are mount points
# (edgedns-data); what the package put into /etc/edgedns (the sample
# config) stays readable beside it
if [ -d "$R/etc/edgedns" ] && [ -n "$(ls -A "$R/etc/edgedns")" ]; then
	mkdir -p "$R/usr/share/edgedns"
	rm -rf "$R/usr/share/edgedns/package-etc"
	mv "$R/etc/edgedns" "$R/usr/share/edgedns/package-etc"
	# secrets are the operator's (the postinst made a random cookie secret)
	rm -f "$R"/usr/share/edgedns/package-etc/*.secret*
fi
mkdir -p "$R/etc/edgedns" "$R/var/lib/edgedns" "$R/data" "$R/boot/efi"
: > "$R/etc/machine-id"
# host keys are per appliance (edgedns-ssh-keys, on /data)
rm -f "$R"/etc/ssh/ssh_host_*

KVER=$(ls "$R/usr/lib/modules" | sort -V | tail -1)
# kernel modules an appliance never loads (sound, graphics, media,
# wireless, bluetooth, staging, exotic file systems): a third of the size
while read -r m; do
	case $m in ''|'#'*) continue ;; esac
	rm -rf "$R/usr/lib/modules/$KVER/kernel/$m"
done < "$IMAGES/modules-prune.list"

in_root "$R" sh -c "
	set -e
	depmod -a $KVER
	rm -f /boot/initrd.img-*
	update-initramfs -c -k $KVER >/dev/null
	systemctl enable edgedns-slot-check.service edgedns-ssh-keys.service \
		edgedns-network-config.service systemd-networkd.service >/dev/null 2>&1
	if [ -e /lib/systemd/system/edgedns.target ]; then
		systemctl enable edgedns.target edgedns-data-owners.service >/dev/null 2>&1
	fi
	# dpdk.service (the dpdk package's boot-time binding and hugepages):
	# edgedns-setup does that, from the hardware profile
	systemctl disable getty@tty1.service apt-daily.timer apt-daily-upgrade.timer \
		dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service dpdk.service \
		>/dev/null 2>&1 || true
	systemctl mask systemd-machine-id-commit.service >/dev/null 2>&1
" > "$W/chroot.log" 2>&1 || { cat "$W/chroot.log" >&2; die "configuring the root file system failed"; }
grep -i 'warning\|error' "$W/chroot.log" >&2 || true

# GRUB reads the kernel and the initramfs from the slot under fixed names
mv "$R/boot/vmlinuz-$KVER" "$R/boot/vmlinuz"
mv "$R/boot/initrd.img-$KVER" "$R/boot/initrd.img"
rm -f "$R/boot/System.map-$KVER" "$R/vmlinuz" "$R/vmlinuz.old" "$R/initrd.img" "$R/initrd.img.old"

# the package list, then what only the build needed
in_root "$R" dpkg-query -W -f '${Package} ${Version} ${Architecture}\n' | LC_ALL=C sort > "$W/packages.txt"
cp "$W/packages.txt" "$R/usr/lib/edgedns-image/packages.txt"
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb \
	"$R"/var/cache/debconf/*-old "$R"/var/lib/dpkg/*-old "$R"/etc/*- "$R"/var/log/* \
	"$R"/var/cache/ldconfig/aux-cache "$R"/var/lib/dbus/machine-id "$R"/tmp/* "$R"/var/tmp/* \
	"$R"/root/.bash_history "$R"/run/* "$R"/etc/resolv.conf
: > "$R/etc/resolv.conf"

log "rootfs.squashfs"
env -u SOURCE_DATE_EPOCH mksquashfs "$R" "$W/rootfs.squashfs" -noappend -comp gzip -Xcompression-level 4 -b 256K -reproducible \
	-mkfs-time "$SOURCE_DATE_EPOCH" -all-time "$SOURCE_DATE_EPOCH" -no-progress -quiet \
	-processors "$(nproc)" >/dev/null
rootfs_size=$(stat -c %s "$W/rootfs.squashfs")
[ "$rootfs_size" -le $((SLOT_MIB * 1048576)) ] ||
	die "rootfs.squashfs is $rootfs_size bytes: more than a slot ($SLOT_MIB MiB)"

# ---- 3. the disk ------------------------------------------------------------
log "ESP: GRUB, grub.cfg, grubenv"
mkdir -p "$W/esp/EFI/BOOT"
grub-mkimage -O x86_64-efi -p /EFI/BOOT -o "$W/esp/EFI/BOOT/BOOTX64.EFI" \
	part_gpt fat squash4 xzio gzio normal configfile linux echo test regexp loadenv \
	serial terminal reboot halt sleep ls cat true
sed -e "s/@SLOT_A@/$SLOT_A_LABEL/" -e "s/@SLOT_B@/$SLOT_B_LABEL/" "$IMAGES/grub/grub.cfg" \
	> "$W/esp/EFI/BOOT/grub.cfg"
grub-script-check "$W/esp/EFI/BOOT/grub.cfg" || die "images/grub/grub.cfg: GRUB cannot parse it"
grub-editenv "$W/esp/EFI/BOOT/grubenv" create
# a fresh disk boots A; B is empty until the first update makes it good
grub-editenv "$W/esp/EFI/BOOT/grubenv" set ORDER="A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0
volid=$(printf '%s' "$IMAGE_KEY" | cut -c1-8)
rm -f "$W/esp.img"
# FAT keeps the time of every entry it makes, and mkfs.vfat and mtools
# read the clock: a frozen one (faketime) makes the ESP reproducible
at() {
	MTOOLS_SKIP_CHECK=1 TZ=UTC faketime "$(date -u -d "@$SOURCE_DATE_EPOCH" '+%Y-%m-%d %H:%M:%S')" "$@"
}
at mkfs.vfat -C -F 32 -S 512 -s 1 -n ESP -i "$volid" "$W/esp.img" $((ESP_MIB * 1024)) >/dev/null
at mmd -i "$W/esp.img" ::/EFI ::/EFI/BOOT
for f in BOOTX64.EFI grub.cfg grubenv; do
	at mcopy -i "$W/esp.img" "$W/esp/EFI/BOOT/$f" "::/EFI/BOOT/$f"
done

# an empty ext4: its layout is made at the first boot (edgedns-data), and
# files copied in with mkfs.ext4 -d would bring their ctime along
log "data partition (empty)"
data_uuid=$(uuid_of "$IMAGE_KEY" data-fs)
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mkfs.ext4 -q -F -L data -U "$data_uuid" \
	-E "hash_seed=$(uuid_of "$IMAGE_KEY" data-hash),root_owner=0:0" \
	"$W/data.img" "${DATA_MIB}M" >/dev/null

log "edgedns.img: GPT"
mib=1048576
esp_start=1
a_start=$((esp_start + ESP_MIB))
b_start=$((a_start + SLOT_MIB))
data_start=$((b_start + SLOT_MIB))
total=$((data_start + DATA_MIB + 1))
rm -f "$W/edgedns.img"
truncate -s $((total * mib)) "$W/edgedns.img"
# GPT type GUIDs: EFI System; Linux root (x86-64) for the slots; Linux
# data for /data (not "/var" or "/srv": nothing must mount it by type)
sfdisk -q --no-reread --no-tell-kernel "$W/edgedns.img" <<EOF
label: gpt
label-id: $(uuid_of "$IMAGE_KEY" disk)
unit: sectors
first-lba: 2048
start=$((esp_start * 2048)), size=$((ESP_MIB * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$(uuid_of "$IMAGE_KEY" esp), name="$ESP_LABEL"
start=$((a_start * 2048)), size=$((SLOT_MIB * 2048)), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$(uuid_of "$IMAGE_KEY" slot-a), name="$SLOT_A_LABEL"
start=$((b_start * 2048)), size=$((SLOT_MIB * 2048)), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$(uuid_of "$IMAGE_KEY" slot-b), name="$SLOT_B_LABEL"
start=$((data_start * 2048)), size=$((DATA_MIB * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$(uuid_of "$IMAGE_KEY" data), name="$DATA_LABEL"
EOF
dd if="$W/esp.img" of="$W/edgedns.img" bs=1M seek=$esp_start conv=notrunc,sparse status=none
dd if="$W/rootfs.squashfs" of="$W/edgedns.img" bs=1M seek=$a_start conv=notrunc,sparse status=none
dd if="$W/data.img" of="$W/edgedns.img" bs=1M seek=$data_start conv=notrunc,sparse status=none

t_end=$(date +%s)
cat > "$W/image.env" <<EOF
IMAGE_KEY=$IMAGE_KEY
BASE_KEY=$BASE_KEY
VERSION=$VERSION
SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH
DEBS="$(for d in $DEBS; do basename "$d"; done | tr '\n' ' ')"
KERNEL=$KVER
ROOTFS_BYTES=$rootfs_size
DISK_BYTES=$(stat -c %s "$W/edgedns.img")
DISK_ALLOCATED_BYTES=$(( $(stat -c %b "$W/edgedns.img") * 512 ))
BUILD_SECONDS=$((t_end - t_start))
EDGEDNS_IMG_SHA256=$(sha256sum < "$W/edgedns.img" | cut -c1-64)
EOF
rm -rf "$IMG"
mkdir -p "$IMG"
for f in edgedns.img rootfs.squashfs packages.txt image.env; do
	mv "$W/$f" "$IMG/$f"
done
# the root file system tree stays for the boot test's variants
mv "$R" "$IMG/root"
publish
log "$OUT/edgedns.img: $(du -h --apparent-size "$OUT/edgedns.img" | cut -f1) ($(du -h "$OUT/edgedns.img" | cut -f1) allocated), rootfs.squashfs $((rootfs_size / mib)) MiB, in $((t_end - t_start)) s"
