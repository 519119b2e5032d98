#!/bin/sh
# gpuaas-server prerm: stop the service when the package goes away (not on
# upgrade, where postinst restarts it).
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	systemctl stop gpuaas-server.service >/dev/null 2>&1 || true
	systemctl disable gpuaas-server.service >/dev/null 2>&1 || true
fi
exit 0
