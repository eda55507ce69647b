#!/bin/sh
# Sets a machine up to run secdesk as a service (`make install-service`):
#  - the system user and group $SERVICE_USER (default secdesk), no login;
#  - $LOCALSTATEDIR/lib/secdesk, mode 0750, owned by that user: the store;
#  - the systemd units of contrib/systemd in $UNITDIR, with the paths of
#    this install; none is enabled (README, "Deploying", says which to).
# Run as root. With DESTDIR set (a package build) it only installs files:
# the user is the package's postinst's business.
set -eu
: "${DESTDIR:=}"
: "${BINDIR:=/usr/local/bin}"
: "${DATADIR:=/usr/local/share}"
: "${SYSCONFDIR:=/etc}"
: "${LOCALSTATEDIR:=/var}"
: "${UNITDIR:=/usr/local/lib/systemd/system}"
: "${SERVICE_USER:=secdesk}"
here=$(cd "$(dirname "$0")" && pwd)
state=$LOCALSTATEDIR/lib/secdesk
nologin=/usr/sbin/nologin
[ -x "$nologin" ] || nologin=/bin/false

if [ "$(id -u)" -ne 0 ]; then
	echo "secdesk: install-service must run as root (it creates a user)" >&2
	exit 77
fi
if [ -z "$DESTDIR" ] && ! id "$SERVICE_USER" >/dev/null 2>&1; then
	getent group "$SERVICE_USER" >/dev/null 2>&1 || groupadd --system "$SERVICE_USER"
	useradd --system --gid "$SERVICE_USER" --home-dir "$state" --no-create-home \
		--shell "$nologin" --comment "secdesk inquiry desk" "$SERVICE_USER"
	echo "secdesk: created the system user $SERVICE_USER"
fi
install -d -m 0750 "$DESTDIR$state"
if id "$SERVICE_USER" >/dev/null 2>&1; then
	chown "$SERVICE_USER:$(id -gn "$SERVICE_USER")" "$DESTDIR$state"
fi
install -d -m 0755 "$DESTDIR$UNITDIR"
for f in "$here"/systemd/*.service "$here"/systemd/*.timer; do
	sed -e "s|/usr/local/bin/secdesk|$BINDIR/secdesk|g" \
		-e "s|/usr/local/share/secdesk|$DATADIR/secdesk|g" \
		-e "s|/etc/secdesk|$SYSCONFDIR/secdesk|g" \
		-e "s|/var/lib/secdesk|$state|g" \
		-e "s|^User=secdesk$|User=$SERVICE_USER|" \
		-e "s|^Group=secdesk$|Group=$SERVICE_USER|" "$f" >"$DESTDIR$UNITDIR/$(basename "$f")"
	chmod 0644 "$DESTDIR$UNITDIR/$(basename "$f")"
done
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
fi
echo "secdesk: store folder $state (0750, $SERVICE_USER), units in $UNITDIR (not enabled)"
