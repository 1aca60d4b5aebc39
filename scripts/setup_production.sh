#!/usr/bin/env bash
# Make sure Debian's nginx is installed, for the production profile
# (`python -m chatbot production up` runs it as a child process with its own prefix,
# pid file, logs and temp paths under var/production/nginx/, never the system nginx).
# Debian's package puts its own site on port 80 and may start it (not in a container whose
# policy-rc.d forbids it); the production profile does not use it: see docs/deployment.md.
# NGINX=/path/to/nginx uses another build.
exec bash "$(dirname "$0")/ensure_debian_tool.sh" nginx /usr/sbin/nginx NGINX -v nginx
