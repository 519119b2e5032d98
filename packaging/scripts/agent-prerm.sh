#!/bin/sh
# gpuaas-agent prerm: stop the agent when the package goes away (not on
# upgrade). Containers and Linux users of running allocations stay: the
# control plane releases them (or an agent that comes back adopts them).
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	systemctl stop gpuaas-agent.service >/dev/null 2>&1 || true
	systemctl disable gpuaas-agent.service >/dev/null 2>&1 || true
fi
exit 0
