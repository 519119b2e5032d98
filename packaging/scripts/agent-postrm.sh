#!/bin/sh
# gpuaas-agent postrm: forget the unit; the node credential in
# /var/lib/gpuaas-agent is kept even on purge (revoke it from the console).
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
