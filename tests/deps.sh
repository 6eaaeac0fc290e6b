#!/bin/sh
# Installs, with apt-get and without questions, the Debian packages that
# building postoffice and running its tests need, and only those missing:
#   gcc, make, libc6-dev     the build (plain GNU Makefile, C11)
#   libcrypt-dev             crypt(3) for {CRYPT} users (-lcrypt)
#   libcmocka-dev            the unit tests
#   python3                  the end-to-end tests and poplib
#   curl, fetchmail, mpop    the real POP3 clients of tests/e2e
#   openssl                  a SHA-512 crypt hash for {CRYPT} test users
#                            when Python has no crypt module (3.13+)
#   dovecot-pop3d            the server make bench and make bench-smoke
#                            measure postoffice against (tests/bench)
#   man-db                   man -l, to check the manual pages render
#   procmail                 a real delivery agent sharing the mbox locks
#   clang, libclang-rt-14-dev  libFuzzer for make fuzz-run
#   systemd                  systemd-socket-activate, for the socket
#                            activation tests (tests/e2e/test_ops_socketact.py)
#   haproxy                  a real PROXY protocol v1/v2 sender in front of
#                            postoffice (tests/e2e/test_ops_proxy.py)
#   stunnel4                 a real TLS terminator for POP3S on port 995
#                            (tests/e2e/test_ops_stunnel.py)
#   faketime                 a fast clock for the daemon, so the idle timer
#                            (600 s at least) can be seen to end a session
#                            (tests/e2e/test_privileges.py)
# Exits non-zero if anything cannot be installed.
set -eu

PACKAGES="gcc make libc6-dev libcrypt-dev libcmocka-dev python3 curl fetchmail mpop openssl dovecot-pop3d man-db clang libclang-rt-14-dev systemd haproxy procmail stunnel4 faketime"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "deps: everything is installed: $PACKAGES"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "deps: missing:$missing; not root and no sudo: install them by hand" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps: missing:$missing"
echo "deps: running ${SUDO:+$SUDO }apt-get update"
$SUDO apt-get update -q
echo "deps: running ${SUDO:+$SUDO }apt-get install -y --no-install-recommends$missing"
# shellcheck disable=SC2086 # the list is meant to split into words
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
echo "deps: installed:$missing"
