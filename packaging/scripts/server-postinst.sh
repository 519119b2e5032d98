#!/bin/sh
# gpuaas-server postinst: the service user, the master key (once), file
# modes, and systemd. Never touches data: /var/lib/gpuaas, the database and
# an existing key stay as they are on install, upgrade and reinstall.
set -e
case "$1" in
configure)
	if ! getent passwd gpuaas >/dev/null; then
		adduser --system --group --home /var/lib/gpuaas --no-create-home --quiet gpuaas
	fi
	key=/etc/gpuaas/master.key
	if [ ! -e "$key" ]; then
		umask 077
		# 32 random bytes, hex (the server reads raw, hex or base64).
		od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key.new"
		mv "$key.new" "$key"
		echo "gpuaas-server: generated $key; back it up with the database (docs: install.md)"
	fi
	chown root:gpuaas "$key" /etc/gpuaas/server.env
	chmod 0640 "$key" /etc/gpuaas/server.env
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			# An upgrade: a running server restarts on the new binary.
			systemctl try-restart gpuaas-server.service >/dev/null || true
		else
			echo "gpuaas-server: edit /etc/gpuaas/server.env, then: systemctl enable --now gpuaas-server"
		fi
	fi
	;;
esac
exit 0
