"""Fixtures of the image boot test: the image (build/image, make image),
the update bundles the test installs, and the booted guest (imagelab.py).

Skips, saying why, when qemu-system-x86_64 or OVMF is missing, when not
root, or when the image was built without the edgedns package. The
bundles are made from the image's own root file system:

  good.raucb            the same root file system, version VERSION-update,
                        signed with the build's key
  broken.raucb          a root file system whose edgedns-dataplane cannot
                        start (exits 1), signed: installs, fails its trial
  tampered.raucb        good.raucb with 4 bytes of its payload changed
  badsig.raucb          good.raucb with 4 bytes of its CMS signature changed
  untrusted.raucb       the good root file system signed by a CA the
                        appliance does not trust
  unsigned.raucb        good.raucb without its signature

broken's squashfs is cached beside the image ($CACHE/image-KEY/test).
"""

import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import imagelab  # noqa: E402

REPO = imagelab.REPO


def _sigterm(signum, frame):
    # a test run stopped with SIGTERM still tears the guest down
    raise KeyboardInterrupt("SIGTERM")


signal.signal(signal.SIGTERM, _sigterm)
OUT = os.environ.get("IMAGE_OUT", os.path.join(REPO, "build", "image"))
CACHE = os.environ.get("IMAGE_CACHE", "/var/cache/edgedns/image")


def _env(path):
    vals = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k:
                vals[k] = v.strip('"')
    return vals


def _sh(argv, timeout=600, env=None):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d:\n%s" % (" ".join(argv), p.returncode, p.stdout))
    return p.stdout


@pytest.fixture(scope="session")
def image():
    missing = [what for what, ok in (
        ("qemu-system-x86_64 (apt-get install qemu-system-x86)", os.access(imagelab.QEMU,
                                                                        os.X_OK)),
        ("OVMF (apt-get install ovmf): %s" % imagelab.OVMF_CODE,
         os.path.exists(imagelab.OVMF_CODE) and os.path.exists(imagelab.OVMF_VARS)),
    ) if not ok]
    if missing:
        pytest.skip("image boot test skipped: no %s" % ", no ".join(missing))
    if os.geteuid() != 0:
        pytest.skip("image boot test skipped: needs root (network namespace, taps)")
    img = os.path.join(OUT, "edgedns.img")
    if not os.path.exists(img):
        pytest.fail("%s missing: make image (make image-test builds it)" % img)
    info = _env(os.path.join(OUT, "image.env"))
    if "edgedns" not in info.get("DEBS", ""):
        pytest.skip("image boot test skipped: %s was built without the edgedns package "
                    "(IMAGE_NO_DEB=1)" % img)
    info["path"] = img
    info["rootfs"] = os.path.join(OUT, "rootfs.squashfs")
    print("\nimage %s: %s, accel %s" % (info["IMAGE_KEY"], img,
                                       "kvm" if imagelab.kvm_usable() else
                                       "tcg (no usable /dev/kvm: every boot is emulated)"))
    return info


def _broken_rootfs(info, work):
    """The image's root file system with an edgedns-dataplane that exits 1
    (cached per image key)."""
    cdir = os.path.join(CACHE, "image-%s" % info["IMAGE_KEY"], "test")
    out = os.path.join(cdir, "broken.squashfs")
    if os.path.exists(out):
        return out
    os.makedirs(cdir, exist_ok=True)
    tree = os.path.join(work, "broken-root")
    cached = os.path.join(CACHE, "image-%s" % info["IMAGE_KEY"], "root")
    if os.path.isdir(cached):
        _sh(["cp", "-al", cached, tree])
    else:
        _sh(["unsquashfs", "-q", "-d", tree, info["rootfs"]])
    dp = os.path.join(tree, "usr", "sbin", "edgedns-dataplane")
    os.unlink(dp)
    with open(dp, "w") as f:
        f.write("#!/bin/sh\n# image test: a dataplane that cannot start\n"
                "echo 'edgedns-dataplane: cannot start (broken on purpose by the image test)' >&2\n"
                "exit 1\n")
    os.chmod(dp, 0o755)
    _sh(["mksquashfs", tree, out + ".tmp", "-noappend", "-comp", "gzip", "-Xcompression-level",
         "1", "-b", "256K", "-no-progress", "-quiet"], timeout=900)
    os.rename(out + ".tmp", out)
    shutil.rmtree(tree, ignore_errors=True)
    return out


def _untrusted_key(work):
    d = os.path.join(work, "untrusted")
    os.makedirs(d)
    _sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "365", "-subj", "/CN=not the appliance's CA",
         "-addext", "extendedKeyUsage=codeSigning", "-keyout", os.path.join(d, "key.pem"),
         "-out", os.path.join(d, "cert.pem")])
    return os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")


@pytest.fixture(scope="session")
def bundles(image):
    work = tempfile.mkdtemp(prefix="edgedns-image-bundles-")
    try:
        bsh = os.path.join(REPO, "images", "bundle.sh")
        version = image["VERSION"]
        b = {}
        b["good.raucb"] = os.path.join(work, "good.raucb")
        _sh(["sh", bsh, "-r", image["rootfs"], "-v", version + "-update", "-o", b["good.raucb"]])
        b["broken.raucb"] = os.path.join(work, "broken.raucb")
        _sh(["sh", bsh, "-r", _broken_rootfs(image, work), "-v", version + "-broken",
             "-o", b["broken.raucb"]])
        key, cert = _untrusted_key(work)
        env = dict(os.environ, RAUC_KEY=key, RAUC_CERT=cert, RAUC_KEYRING=cert)
        b["untrusted.raucb"] = os.path.join(work, "untrusted.raucb")
        _sh(["sh", bsh, "-r", image["rootfs"], "-v", version + "-untrusted",
             "-o", b["untrusted.raucb"]], env=env)
        good = open(b["good.raucb"], "rb").read()
        (cms_len,) = struct.unpack(">Q", good[-8:])
        cms_at = len(good) - 8 - cms_len
        variants = {
            # 4 bytes in the middle of the root file system image
            "tampered.raucb": (len(good) // 3, b"\xde\xad\xbe\xef"),
            # 4 bytes inside the CMS signature
            "badsig.raucb": (cms_at + cms_len // 2, b"\x00\x11\x22\x33"),
        }
        for name, (off, patch) in variants.items():
            data = bytearray(good)
            data[off:off + len(patch)] = bytes(x ^ 0xff for x in data[off:off + len(patch)])
            b[name] = os.path.join(work, name)
            with open(b[name], "wb") as f:
                f.write(data)
        b["unsigned.raucb"] = os.path.join(work, "unsigned.raucb")
        with open(b["unsigned.raucb"], "wb") as f:
            f.write(good[:cms_at])
        del good
        yield b
    finally:
        shutil.rmtree(work, ignore_errors=True)
