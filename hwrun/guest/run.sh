#!/usr/bin/env bash
# run.sh boots a Debian kernel under qemu (software CPU, no KVM needed) with two
# Soft-RoCE (rxe) devices on a veth pair and runs test binaries built on the host
# inside it. See README.md beside this file.
#
# Usage: run.sh --kernel 6.1|6.12 [options] [--] BINARY [ARGS...] [';' BINARY [ARGS...]]...
#
# Exit codes: the tests' exit status (0 = all passed, else the first failing
# command's code) when the guest ran them; 2 usage; 3 skipped (a needed package
# could not be installed or downloaded: CI should report "skipped" and go on);
# 4 the guest did not report a result (boot failure, hang, timeout).
set -Eeuo pipefail

# Pinned kernel packages (the newest served when this was written). When the
# pinned one is no longer served, the script falls back, loudly, to the package
# the meta-package depends on.
PIN_61=linux-image-6.1.0-57-amd64
META_61=linux-image-amd64
PIN_612=linux-image-6.12.117+deb12-amd64
META_612=linux-image-6.12-amd64

PACKAGES=(qemu-system-x86 busybox-static cpio xz-utils zstd libibverbs-dev
	ibverbs-providers ibverbs-utils perftest iproute2)
# Modules in load order (the .deb has no modules.dep).
MODULES=(crc32_generic udp_tunnel ip6_udp_tunnel ib_core ib_uverbs rdma_rxe veth)
# Userland copied into the guest, besides busybox.
GUEST_BINS=(/usr/bin/ip /usr/bin/rdma /usr/bin/ibv_devinfo /usr/bin/ib_atomic_lat
	/usr/bin/ib_read_lat /usr/bin/ib_write_lat)
PROVIDER=/usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav34.so
MARKER=RDMASIM-GUEST-RESULT

EXIT_USAGE=2
EXIT_SKIP=3
EXIT_INFRA=4

KERNEL=
QEMU_TIMEOUT=600
TEST_TIMEOUT=300
BOOT_TIMEOUT=120
BOOT_TRIES=3
MEM=2048
KEEP_LOG=
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/rdmasim-guest

usage() {
	cat >&2 <<USAGE
usage: $0 --kernel 6.1|6.12 [options] [--] BINARY [ARGS...] [';' BINARY [ARGS...]]...
  Boots a Debian kernel under qemu (TCG) with Soft-RoCE devices rxe0/rxe1 on a
  veth pair and runs each BINARY (built on the host) in the guest, in order.
options:
  --kernel 6.1|6.12     which Debian kernel to boot (required)
  --timeout SECS        bound on the whole qemu run (default $QEMU_TIMEOUT)
  --test-timeout SECS   bound on each command in the guest (default $TEST_TIMEOUT)
  --boot-timeout SECS   kill and retry a boot not ready by then (default $BOOT_TIMEOUT)
  --boot-tries N        boot attempts (default $BOOT_TRIES)
  --mem MB              guest memory (default $MEM)
  --cache DIR           where kernels are kept (default $CACHE)
  --log FILE            keep the guest console log in FILE
exit: the tests' status; $EXIT_USAGE usage; $EXIT_SKIP skipped (packages unavailable); $EXIT_INFRA no result from the guest
USAGE
	exit $EXIT_USAGE
}

say() { printf 'run.sh: %s\n' "$*" >&2; }
# skip prints one loud line and exits with the "skipped" code.
skip() {
	printf '\nrun.sh: SKIPPED: %s\n' "$*" >&2
	exit $EXIT_SKIP
}
die() {
	printf '\nrun.sh: FAILED: %s\n' "$*" >&2
	exit $EXIT_INFRA
}

# Any command that fails unexpectedly says where, and counts as "no result".
on_err() {
	local rc=$1 line=$2
	# a subshell that already said why passes its code up unchanged
	case $rc in $EXIT_SKIP | $EXIT_INFRA) exit $rc ;; esac
	printf '\nrun.sh: FAILED: unexpected error at line %s (exit %s)\n' "$line" "$rc" >&2
	exit $EXIT_INFRA
}
trap 'on_err $? $LINENO' ERR

now() { date +%s.%N; }
PHASE_T=
PHASES=()
phase_start() { PHASE_T=$(now); }
phase_end() {
	local d
	d=$(awk -v a="$PHASE_T" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
	PHASES+=("$1=${d}s")
	say "phase $1: ${d}s"
}

while [ $# -gt 0 ]; do
	case $1 in
	--kernel) KERNEL=${2:-}; shift 2 || usage ;;
	--timeout) QEMU_TIMEOUT=${2:-}; shift 2 || usage ;;
	--test-timeout) TEST_TIMEOUT=${2:-}; shift 2 || usage ;;
	--boot-timeout) BOOT_TIMEOUT=${2:-}; shift 2 || usage ;;
	--boot-tries) BOOT_TRIES=${2:-}; shift 2 || usage ;;
	--mem) MEM=${2:-}; shift 2 || usage ;;
	--cache) CACHE=${2:-}; shift 2 || usage ;;
	--log) KEEP_LOG=${2:-}; shift 2 || usage ;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) say "unknown option $1"; usage ;;
	*) break ;;
	esac
done
case $KERNEL in
6.1) PIN=$PIN_61 META=$META_61 ;;
6.12) PIN=$PIN_612 META=$META_612 ;;
*) say "--kernel must be 6.1 or 6.12"; usage ;;
esac
[ $# -gt 0 ] || { say "no test binary given"; usage; }
for n in "$QEMU_TIMEOUT" "$TEST_TIMEOUT" "$MEM" "$BOOT_TIMEOUT" "$BOOT_TRIES"; do
	[[ $n =~ ^[0-9]+$ ]] || { say "not a number: $n"; usage; }
done

# Split the remaining words into commands at ';'.
CMDS=()    # each entry: quoted command line for the guest's sh
TBINS=()   # host paths of the test binaries
cur=()
flush() {
	[ ${#cur[@]} -gt 0 ] || return 0
	local bin=${cur[0]} line w
	[ -f "$bin" ] || { say "no such file: $bin"; exit $EXIT_USAGE; }
	[ -x "$bin" ] || { say "not executable: $bin"; exit $EXIT_USAGE; }
	for w in "${TBINS[@]}"; do
		if [ "$(basename "$w")" = "$(basename "$bin")" ] && [ "$w" != "$(realpath "$bin")" ]; then
			say "two test binaries named $(basename "$bin")"
			exit $EXIT_USAGE
		fi
	done
	TBINS+=("$(realpath "$bin")")
	line="/t/$(basename "$bin")"
	for w in "${cur[@]:1}"; do
		line+=" '${w//\'/\'\\\'\'}'"
	done
	CMDS+=("$line")
	cur=()
}
for w in "$@"; do
	if [ "$w" = ";" ]; then flush; else cur+=("$w"); fi
done
flush
[ ${#CMDS[@]} -gt 0 ] || usage

# ---- phase: install ------------------------------------------------------
phase_start
need_install=
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		need_install+=" $p"
	fi
done
if [ -n "$need_install" ]; then
	command -v apt-get >/dev/null || skip "missing packages:$need_install, and no apt-get to install them"
	SUDO=
	if [ "$(id -u)" != 0 ]; then
		sudo -n true 2>/dev/null || skip "missing packages:$need_install; not root and no password-less sudo"
		SUDO="sudo -n"
	fi
	say "installing:$need_install"
	timeout 300 $SUDO apt-get update -q >&2 ||
		skip "apt-get update failed or timed out; cannot install:$need_install"
	UPDATED=1
	DEBIAN_FRONTEND=noninteractive timeout 600 $SUDO apt-get install -y -q \
		--no-install-recommends "${PACKAGES[@]}" >&2 ||
		skip "apt-get install failed or timed out:$need_install"
fi
for f in "${GUEST_BINS[@]}" "$PROVIDER" /etc/libibverbs.d/rxe.driver /bin/busybox; do
	[ -e "$f" ] || skip "installed packages lack $f"
done
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found after install"
phase_end install

# ---- phase: download -----------------------------------------------------
phase_start
mkdir -p "$CACHE" || die "cannot create cache dir $CACHE"
served() { apt-cache show "$1" >/dev/null 2>&1 && [ -n "$(apt-cache madison "$1" 2>/dev/null)" ]; }
PKG=$PIN
if ! served "$PKG" && [ -z "${UPDATED:-}" ] && [ "$(id -u)" = 0 ]; then
	say "$PKG unknown to apt: running apt-get update"
	timeout 300 apt-get update -q >&2 || say "apt-get update failed or timed out"
fi
if ! served "$PKG"; then
	fb=$(apt-cache depends "$META" 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
	[ -n "$fb" ] || skip "pinned kernel $PIN is not served and meta-package $META names none (run apt-get update?)"
	printf '\nrun.sh: WARNING: pinned kernel package %s is no longer served; falling back to %s (named by %s). Update the pin in %s.\n\n' \
		"$PIN" "$fb" "$META" "$0" >&2
	PKG=$fb
fi
KDIR=$CACHE/$PKG
# One run at a time fills the cache.
exec 9>"$CACHE/.lock"
flock -w 900 9 || die "another run holds $CACHE/.lock"
if [ ! -f "$KDIR/.complete" ]; then
	WORK=$(mktemp -d "$CACHE/.dl.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT
	say "downloading $PKG"
	(cd "$WORK" && timeout 600 apt-get download "$PKG" >&2) ||
		skip "apt-get download $PKG failed or timed out"
	deb=$(ls "$WORK"/*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || skip "apt-get download $PKG produced no .deb"
	mkdir "$WORK/x"
	timeout 300 dpkg-deb --fsys-tarfile "$deb" |
		timeout 300 tar -x -C "$WORK/x" --wildcards './boot/vmlinuz-*' \
			$(printf ' ./lib/modules/*/%s.ko*' $(for m in "${MODULES[@]}"; do
				case $m in
				crc32_generic) echo kernel/crypto/$m ;;
				udp_tunnel) echo kernel/net/ipv4/$m ;;
				ip6_udp_tunnel) echo kernel/net/ipv6/$m ;;
				ib_core | ib_uverbs) echo kernel/drivers/infiniband/core/$m ;;
				rdma_rxe) echo kernel/drivers/infiniband/sw/rxe/$m ;;
				veth) echo kernel/drivers/net/$m ;;
				esac
			done)) || die "unpacking $deb failed"
	mkdir "$WORK/k"
	mv "$WORK"/x/boot/vmlinuz-* "$WORK/k/vmlinuz"
	for m in "${MODULES[@]}"; do
		f=$(find "$WORK/x/lib/modules" -name "$m.ko*" | head -1)
		[ -n "$f" ] || die "$PKG lacks module $m"
		case $f in
		*.ko.xz) timeout 60 xz -dc "$f" >"$WORK/k/$m.ko" ;;
		*.ko.zst) timeout 60 zstd -qdc "$f" >"$WORK/k/$m.ko" ;;
		*.ko) cp "$f" "$WORK/k/$m.ko" ;;
		*) die "unknown module format: $f" ;;
		esac || die "decompressing $f failed"
	done
	# An xz-compressed bzImage decompresses slowly under TCG: boot the inner
	# vmlinux (PVH entry) instead. Find it at each xz magic until one is ELF.
	if LC_ALL=C grep -q -aP '\xfd7zXZ\x00' "$WORK/k/vmlinuz"; then
		for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$WORK/k/vmlinuz" | cut -d: -f1); do
			tail -c +$((off + 1)) "$WORK/k/vmlinuz" | timeout 120 xz -dc 2>/dev/null >"$WORK/k/vmlinux" || true
			if [ "$(head -c 4 "$WORK/k/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
				break
			fi
			rm -f "$WORK/k/vmlinux"
		done
	fi
	echo "$PKG" >"$WORK/k/package"
	touch "$WORK/k/.complete"
	rm -rf "$KDIR"
	mv -T "$WORK/k" "$KDIR" || die "cannot move kernel into $KDIR"
	rm -rf "$WORK"
	trap - EXIT
fi
exec 9>&-
BOOT=$KDIR/vmlinuz
[ -f "$KDIR/vmlinux" ] && BOOT=$KDIR/vmlinux
say "kernel $PKG ($(basename "$BOOT"))"
phase_end download

# ---- phase: initramfs ----------------------------------------------------
phase_start
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rdmasim-guest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
R=$TMP/root
mkdir -p "$R"/{usr/bin,usr/lib/x86_64-linux-gnu,usr/lib64,proc,sys,dev,tmp,t,etc/libibverbs.d,lib/modules}
ln -s usr/bin "$R/bin"
ln -s usr/bin "$R/sbin"
ln -s bin "$R/usr/sbin"
ln -s ../usr/lib/x86_64-linux-gnu "$R/lib/x86_64-linux-gnu"
ln -s usr/lib64 "$R/lib64"
cp /bin/busybox "$R/usr/bin/busybox"
for a in $(/bin/busybox --list); do
	[ "$a" = busybox ] || ln -sf busybox "$R/usr/bin/$a"
done
# copy_libs DEST FILE...: every library ldd names, at the path it names.
copy_libs() {
	local dest=$1 f l
	shift
	for f in "$@"; do
		# a static binary has no libraries: ldd fails there, which is fine
		{ ldd "$f" 2>/dev/null || true; } | awk '/=> \//{print $3} /^\t\//{print $1}'
	done | sort -u | while read -r l; do
		case $l in
		/lib/* | /lib64/*) t=/usr$l ;;
		*) t=$l ;;
		esac
		# store under /usr: the guest reaches it through /lib/x86_64-linux-gnu and /lib64 links
		mkdir -p "$dest$(dirname "$t")"
		[ -e "$dest$t" ] || cp -L "$l" "$dest$t"
	done
}
for b in "${GUEST_BINS[@]}"; do
	rm -f "$R$b"
	cp -L "$b" "$R$b"
done
mkdir -p "$R$(dirname $PROVIDER)"
cp -L "$PROVIDER" "$R$PROVIDER"
cp /etc/libibverbs.d/rxe.driver "$R/etc/libibverbs.d/"
copy_libs "$R" "${GUEST_BINS[@]}" "$PROVIDER"
[ -e "$R/lib64/ld-linux-x86-64.so.2" ] || die "dynamic loader missing from guest image"
for m in "${MODULES[@]}"; do cp "$KDIR/$m.ko" "$R/lib/modules/"; done

cat >"$R/init" <<INIT
#!/bin/sh
export PATH=/usr/bin:/t
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
result() { echo; echo "$MARKER rc=\$1 \$2"; sync; poweroff -f; sleep 5; exit 1; }
for m in ${MODULES[*]}; do
	insmod /lib/modules/\$m.ko || result 4 "insmod-\$m"
done
/usr/bin/ip link set lo up
/usr/bin/ip link add veth0 type veth peer name veth1 || result 4 veth
for d in veth0 veth1; do
	echo 0 >/proc/sys/net/ipv6/conf/\$d/accept_dad
	/usr/bin/ip link set \$d up
done
/usr/bin/rdma link add rxe0 type rxe netdev veth0 || result 4 rxe0
/usr/bin/rdma link add rxe1 type rxe netdev veth1 || result 4 rxe1
i=0
until [ \$(/usr/bin/rdma link show | grep -c 'state ACTIVE') -ge 2 ]; do
	i=\$((i+1)); [ \$i -le 100 ] || result 4 rxe-not-active
	sleep 0.1
done
/usr/bin/rdma link show
echo "guest: ready (\$(cut -d' ' -f1 /proc/uptime)s since boot)"
rc=0
while IFS= read -r line; do
	echo "guest: run \$line"
	t0=\$(cut -d' ' -f1 /proc/uptime)
	eval "timeout $TEST_TIMEOUT \$line"
	c=\$?
	echo "guest: exit \$c (\$(awk -v a=\$t0 -v b=\$(cut -d' ' -f1 /proc/uptime) 'BEGIN{printf "%.1f", b-a}') s)"
	[ \$c -eq 0 ] || [ \$rc -ne 0 ] || rc=\$c
done </t/cmds
# rxe's counters that moved (retransmissions show as completer_retry_err on
# the requester and duplicate_request on the responder)
grep -H . /sys/class/infiniband/*/ports/1/hw_counters/* 2>/dev/null | grep -v ':0\$' |
	sed -e 's|^/sys/class/infiniband/|guest: counter |' -e 's|/ports/1/hw_counters/| |' || true
result \$rc done
INIT
chmod 755 "$R/init"

# The test binaries travel in a second archive appended to the first.
T=$TMP/tests
mkdir -p "$T/t"
for b in "${TBINS[@]}"; do cp -L "$b" "$T/t/"; done
printf '%s\n' "${CMDS[@]}" >"$T/t/cmds"
copy_libs "$T" "${TBINS[@]}"
(cd "$R" && find . -print0 | LC_ALL=C sort -z | timeout 120 cpio --null -o -H newc --quiet) >"$TMP/initrd" ||
	die "building the base archive failed"
# Pad to 512 bytes so that the second archive starts 4-byte aligned.
sz=$(stat -c %s "$TMP/initrd")
pad=$(((512 - sz % 512) % 512))
head -c "$pad" /dev/zero >>"$TMP/initrd"
(cd "$T" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | timeout 120 cpio --null -o -H newc --quiet) >>"$TMP/initrd" ||
	die "building the test archive failed"
say "initramfs $(($(stat -c %s "$TMP/initrd") / 1024 / 1024)) MiB, commands: ${#CMDS[@]}"
phase_end initramfs

# ---- phases: boot, test --------------------------------------------------
LOG=$TMP/console.log
# mawk reads a pipe in blocks unless told otherwise: the ready time needs lines.
AWKI=()
awk -W version 2>&1 | grep -q mawk && AWKI=(-W interactive)
# boot_once runs qemu once, streaming the console. It kills qemu when the guest
# is not ready within BOOT_TIMEOUT seconds (a TCG boot can stall for good, seen
# once in a few dozen boots) and then returns 1 so that the caller can retry.
boot_once() {
	rm -f "$TMP/ready" "$TMP/qemu.pid" "$TMP/qrc" "$LOG"
	(
		trap - ERR
		set +e
		timeout --kill-after=10 "$QEMU_TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -m "$MEM" \
			-nic none -nographic -no-reboot -pidfile "$TMP/qemu.pid" \
			-kernel "$BOOT" -initrd "$TMP/initrd" \
			-append "console=ttyS0 quiet panic=-1 rdinit=/init cryptomgr.notests" </dev/null 2>&1
		echo $? >"$TMP/qrc"
	) | awk "${AWKI[@]}" -v f="$TMP/ready" -v lf="$LOG" '
		{ gsub(/\r/, ""); print > lf; fflush(lf) }
		/^guest: ready/ && !seen { "date +%s.%N" | getline t; close("date +%s.%N"); print t > f; close(f); seen = 1 }
		{ print; fflush() }' &
	local pipe=$! start=$SECONDS stalled=
	while kill -0 "$pipe" 2>/dev/null; do
		if [ ! -s "$TMP/ready" ] && [ $((SECONDS - start)) -ge "$BOOT_TIMEOUT" ] && [ -s "$TMP/qemu.pid" ]; then
			stalled=1
			kill "$(cat "$TMP/qemu.pid")" 2>/dev/null || true
			break
		fi
		sleep 0.5
	done
	wait "$pipe" || true
	qrc=$(cat "$TMP/qrc" 2>/dev/null || echo "?")
	if [ -n "$stalled" ]; then
		say "the guest was not ready within ${BOOT_TIMEOUT}s: qemu killed"
		return 1
	fi
	return 0
}
phase_start
T_BOOT=$PHASE_T
attempt=1
until boot_once; do
	if [ "$attempt" -ge "$BOOT_TRIES" ]; then
		[ -z "$KEEP_LOG" ] || cp "$LOG" "$KEEP_LOG"
		die "the guest did not boot in $BOOT_TRIES attempts of ${BOOT_TIMEOUT}s (kernel $PKG)"
	fi
	attempt=$((attempt + 1))
	printf '\nrun.sh: WARNING: boot stalled; retrying (attempt %d of %d)\n\n' "$attempt" "$BOOT_TRIES" >&2
	phase_start
	T_BOOT=$PHASE_T
done
[ -z "$KEEP_LOG" ] || cp "$LOG" "$KEEP_LOG"
if [ -s "$TMP/ready" ]; then
	PHASE_T=$T_BOOT
	t_ready=$(cat "$TMP/ready")
	d=$(awk -v a="$T_BOOT" -v b="$t_ready" 'BEGIN{printf "%.1f", b-a}')
	PHASES+=("boot=${d}s")
	say "phase boot: ${d}s (qemu start to two ACTIVE rxe devices)"
	PHASE_T=$t_ready
	phase_end test
else
	phase_end boot
fi
res=$(grep -a "^$MARKER rc=" "$LOG" | tail -1 || true)
if [ -z "$res" ]; then
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		die "qemu timed out after ${QEMU_TIMEOUT}s without a result (kernel $PKG)"
	fi
	die "the guest gave no result (qemu exit $qrc, kernel $PKG); console log above"
fi
rc=$(sed -n "s/^$MARKER rc=\([0-9]*\).*/\1/p" <<<"$res")
why=$(sed -n "s/^$MARKER rc=[0-9]* *//p" <<<"$res")
[ "$why" = done ] || die "guest setup failed at: $why (kernel $PKG)"
say "kernel $PKG: tests exit $rc; phases: ${PHASES[*]}"
exit "$rc"
