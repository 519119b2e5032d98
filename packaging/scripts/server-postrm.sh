#!/bin/sh
# gpuaas-server postrm: forget the unit. Data is never deleted, not even on
# purge: /var/lib/gpuaas, /etc/gpuaas/master.key (without it nothing sealed
# in the database opens again) and the database stay for the operator to
# remove by hand.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ "$1" = purge ]; then
	echo "gpuaas-server: purged; /var/lib/gpuaas, /etc/gpuaas/master.key and the database were kept"
fi
exit 0
