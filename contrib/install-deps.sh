#!/bin/sh
# Installs the Debian 12 packages that secdesk needs, when one is missing.
#   contrib/install-deps.sh build   what `make` needs
#   contrib/install-deps.sh test    what `make check` needs too (servers, tools)
# Runs apt-get as root, or through sudo.
set -eu
what=${1:-build}
BUILD_PKGS="gcc make pkg-config libetpan-dev libsqlite3-dev libpcre2-dev libinih-dev
 libjansson-dev libgnutls28-dev libxml2-dev libuchardet-dev libexttextcat-dev
 libexttextcat-data libpq-dev"
TEST_PKGS="libcmocka-dev dovecot-imapd dovecot-pop3d python3 python3-aiosmtpd
 gnutls-bin isync valgrind mandoc sqlite3 clang libclang-rt-14-dev procps time
 util-linux libsasl2-modules groff-base less postgresql postfix"

case $what in
build) pkgs=$BUILD_PKGS ;;
test) pkgs="$BUILD_PKGS $TEST_PKGS" ;;
*) echo "usage: $0 build|test" >&2; exit 64 ;;
esac

# Postfix replaces the machine's MTA: where another one is installed, the
# Postfix test is skipped (it says so) instead of removing that MTA.
other_mta=""
for p in exim4-base sendmail-bin opensmtpd; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		other_mta=$p
	fi
done
[ -n "$other_mta" ] && pkgs=$(echo "$pkgs" | sed 's/ postfix//')

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "secdesk: installing Debian packages:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "secdesk: need root or sudo to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix without a main.cf: the package installs but the system instance
# never starts (postfix.service needs /etc/postfix/main.cf) and nothing
# binds port 25; the test runs a private instance of its own.
case " $missing " in
*" postfix "*)
	echo "postfix postfix/main_mailer_type select No configuration" |
		$SUDO debconf-set-selections ;;
esac
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Dovecot's package starts a system instance where it can; the tests run
# their own on free loopback ports and never use it.
# PostgreSQL's package likewise makes and starts a "main" cluster; the tests
# run a private server of their own (tests/harness/pg.sh).
