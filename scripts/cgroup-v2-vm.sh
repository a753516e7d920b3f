#!/usr/bin/env bash
# Runs test binaries as root inside a throw-away cgroup v2 guest: qemu (TCG) boots the newest
# Debian kernel from /boot with `cgroup_no_v1=all` and an initramfs holding busybox, the test
# binaries and their shared libraries. The host may run cgroup v1; the guest runs pure v2.
#
# Usage:
#   scripts/cgroup-v2-vm.sh                       build and run the skiff-cgroups tests
#   scripts/cgroup-v2-vm.sh -p skiff-runtime ...  build and run the tests of these crates
#   scripts/cgroup-v2-vm.sh BINARY...             run these test executables as they are
# Environment:
#   TEST_ARGS   arguments for every test binary (default: --test-threads=1, the guest has
#               2 slow CPUs and the OOM tests are easier to read one at a time)
#   VM_TIMEOUT  seconds before the guest is given up (default 900)
#   VM_MEMORY   guest memory in MiB (default 1024)
#   KEEP_VM_DIR keep the initramfs work directory (printed) for debugging
#   VM_EXTRA    more files for the guest, copied to the same absolute paths with their shared
#               libraries (e.g. the skiff binary that runtime tests find through
#               CARGO_BIN_EXE_skiff: "$PWD/target/debug/skiff")
#   VM_MODULES  kernel modules to load, in order (default: a ramdisk and ext4 for the io
#               tests: "brd crc16 crc32c_generic mbcache jbd2 ext4")
#
# Needs: qemu-system-x86, cpio, jq, a kernel in /boot and its modules in /lib/modules,
# /bin/busybox (busybox-static).
# Exit status: 0 if every binary passed in the guest, 1 otherwise. The guest prints
# "SKIFF-VM-RESULT: PASS" or "SKIFF-VM-RESULT: FAIL" as its last line.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
test_args=${TEST_ARGS:---test-threads=1}
vm_timeout=${VM_TIMEOUT:-900}
vm_memory=${VM_MEMORY:-1024}
vm_modules=${VM_MODULES:-brd crc16 crc32c_generic mbcache jbd2 ext4}

# --- the test binaries ------------------------------------------------------------------
packages=()
binaries=()
while [ $# -gt 0 ]; do
    case $1 in
        -p) packages+=("$2"); shift 2 ;;
        -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
        *) binaries+=("$(realpath "$1")"); shift ;;
    esac
done
if [ ${#binaries[@]} -eq 0 ] && [ ${#packages[@]} -eq 0 ]; then
    packages=(skiff-cgroups)
fi
if [ ${#packages[@]} -gt 0 ]; then
    pargs=()
    for p in "${packages[@]}"; do pargs+=(-p "$p"); done
    echo "building the tests of ${packages[*]}" >&2
    mapfile -t built < <(cd "$repo" && cargo test "${pargs[@]}" --no-run --message-format=json \
        | jq -r 'select(.reason == "compiler-artifact" and .profile.test == true
                        and .executable != null) | .executable')
    binaries+=("${built[@]}")
fi
[ ${#binaries[@]} -gt 0 ] || { echo "no test binaries to run" >&2; exit 1; }

# --- kernel ---------------------------------------------------------------------------
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
[ -n "$kernel" ] || { echo "no kernel in /boot (apt-get install linux-image-amd64)" >&2; exit 1; }
kver=${kernel#/boot/vmlinuz-}

# --- initramfs --------------------------------------------------------------------------
work=$(mktemp -d /tmp/skiff-v2-vm.XXXXXX)
if [ -z "${KEEP_VM_DIR:-}" ]; then
    trap 'rm -rf "$work"' EXIT
else
    echo "work directory: $work" >&2
fi
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,tests,modules,etc}
cp /bin/busybox "$root/bin/busybox"

# Copies a file and the shared libraries it loads, at the same paths.
copy_with_libs() {
    local src=$1 dst=$2
    cp "$src" "$dst"
    ldd "$src" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do
        [ -e "$root$lib" ] || { mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; }
    done
}
names=()
for b in "${binaries[@]}"; do
    name=$(basename "$b")
    copy_with_libs "$b" "$root/tests/$name"
    strip --strip-debug "$root/tests/$name" 2>/dev/null || true
    names+=("$name")
done
for f in ${VM_EXTRA:-}; do
    f=$(realpath "$f")
    mkdir -p "$root$(dirname "$f")"
    copy_with_libs "$f" "$root$f"
done
# Modules go in uncompressed (busybox insmod), numbered in load order.
n=0
for m in $vm_modules; do
    ko=$(find "/lib/modules/$kver" -name "$m.ko*" 2>/dev/null | head -n 1 || true)
    [ -n "$ko" ] || { echo "module $m not found for $kver; tests may fail" >&2; continue; }
    n=$((n + 1))
    dst=$root/modules/$(printf '%02d' $n)-$m.ko
    case $ko in
        *.ko) cp "$ko" "$dst" ;;
        *.ko.xz) xz -dc "$ko" >"$dst" ;;
        *.ko.zst) zstd -qdc "$ko" >"$dst" ;;
    esac
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"

cat >"$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin HOME=/ RUST_BACKTRACE=1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
for m in /modules/*.ko; do
    case \$m in
        *-brd.ko) insmod \$m rd_nr=1 rd_size=65536 ;;
        *) insmod \$m ;;
    esac || echo "guest: cannot load \$m"
done
# The 64 MiB ramdisk with ext2 on /var/tmp (TMPDIR): a block device for the io tests
# (io.max, and io.stat of O_DIRECT writes to a file in TMPDIR).
if [ -b /dev/ram0 ]; then
    mkdir -p /var/tmp
    mke2fs -q /dev/ram0 >/dev/null && mount -t ext2 /dev/ram0 /var/tmp && export TMPDIR=/var/tmp
fi
echo "guest: \$(uname -r), cgroup controllers: \$(cat /sys/fs/cgroup/cgroup.controllers)"
status=0
for t in ${names[*]}; do
    echo "=== running \$t $test_args"
    /tests/\$t $test_args || status=1
done
if [ \$status = 0 ]; then echo "SKIFF-VM-RESULT: PASS"; else echo "SKIFF-VM-RESULT: FAIL"; fi
poweroff -f; reboot -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio"

# --- boot -------------------------------------------------------------------------------
# KVM hangs in this project's nested VM; TCG is slower but boots in about ten seconds.
echo "booting $kernel with ${#names[@]} test binaries (${names[*]})" >&2
log=$work/console.log
set +e
timeout "$vm_timeout" qemu-system-x86_64 -accel tcg -m "$vm_memory" -smp 2 \
    -kernel "$kernel" -initrd "$work/initramfs.cpio" \
    -append "console=ttyS0 cgroup_no_v1=all panic=-1 quiet" \
    -nographic -no-reboot </dev/null | tee "$log"
qemu_status=${PIPESTATUS[0]}
set -e
if grep -q '^SKIFF-VM-RESULT: PASS' "$log"; then
    exit 0
fi
if [ "$qemu_status" = 124 ]; then
    echo "the guest did not finish within ${vm_timeout}s" >&2
fi
echo "cgroup v2 guest: FAIL" >&2
exit 1
