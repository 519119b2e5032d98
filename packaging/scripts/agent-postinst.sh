#!/bin/sh
# gpuaas-agent postinst: modes and systemd. The node credential in
# /var/lib/gpuaas-agent survives install, upgrade and reinstall.
set -e
case "$1" in
configure)
	chmod 0600 /etc/gpuaas/agent.env
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			systemctl try-restart gpuaas-agent.service >/dev/null || true
		else
			echo "gpuaas-agent: set GPUAAS_SERVER and GPUAAS_JOIN_TOKEN in /etc/gpuaas/agent.env, then: systemctl enable --now gpuaas-agent"
		fi
	fi
	;;
esac
exit 0
