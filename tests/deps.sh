#!/bin/sh
# Install the Debian 12 packages edgedns builds and tests with: every program
# a test calls comes from a package named here (dpdk-telemetry.py: dpdk-dev;
# make deb and tests/package: debhelper, dpkg-dev, lintian, man-db, and
# systemd for systemd-analyze, systemd-sysusers and systemd-tmpfiles; the
# image build and its boot test: mmdebstrap to qemu-system-x86).
# Idempotent: does nothing when everything is already there.
set -e
PKGS="build-essential clang pkg-config make
libdpdk-dev dpdk dpdk-dev libldns-dev ldnsutils libssl-dev nettle-dev libxxhash-dev
libcmocka-dev valgrind bc libclang-rt-14-dev
knot knot-dnsutils nsd
python3 python3-pytest python3-dnspython iproute2 procps socat
libsodium-dev libyaml-dev libevent-dev libjansson-dev dnsperf iputils-ping ethtool
libsystemd-dev
bird2"
PKGS="$PKGS
debhelper dpkg-dev fakeroot lintian man-db systemd libsystemd-dev"
PKGS="$PKGS
mmdebstrap squashfs-tools dosfstools mtools fdisk e2fsprogs grub-efi-amd64-bin grub-common
rauc faketime ovmf qemu-system-x86 qemu-utils openssh-client"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: need root to apt-get install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q || true
apt-get install -y -q --no-install-recommends $missing
# knot's, nsd's and bird2's packages start their services; the tests start
# their own.
if command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now knot >/dev/null 2>&1 || true
	systemctl disable --now nsd >/dev/null 2>&1 || true
	systemctl disable --now bird >/dev/null 2>&1 || true
fi
