#!/usr/bin/env bash
# Install PostgreSQL 15 + PostGIS 3 for the PostGIS event-store tests (tests/pgserver.py).
# Debian's postgresql-15 and postgresql-15-postgis-3 packages; the tests never use Debian's
# own cluster: tests/pgserver.py runs initdb + pg_ctl in a temporary directory on a free
# port on 127.0.0.1, as the unprivileged `postgres` user the package creates.
# Idempotent: does nothing when initdb and the postgis extension are already installed.
# Needs root (CI runs as root).
set -euo pipefail

PG=15
# postgis.control alone is not enough: it belongs to postgresql-15-postgis-3-scripts and
# stays when postgresql-15-postgis-3 (which has the library) is removed.
installed() {
    [ -x "/usr/lib/postgresql/$PG/bin/initdb" ] &&
    [ -f "/usr/share/postgresql/$PG/extension/postgis.control" ] &&
    [ -f "/usr/lib/postgresql/$PG/lib/postgis-3.so" ]
}
if installed; then
    exit 0
fi

source "$(dirname "$0")/apt_common.sh" "postgresql-$PG-postgis-3"

# Debian's postinst creates a "main" cluster on port 5432 and starts it through invoke-rc.d.
# We do not want a system server running: a temporary policy-rc.d (unless the machine
# already has one, as Docker images do) tells invoke-rc.d not to start services.
POLICY=/usr/sbin/policy-rc.d
OUR_POLICY=""
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# temporary, from marsad scripts/install_postgis.sh\nexit 101\n' |
        $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 755 "$POLICY"
    OUR_POLICY=1
fi
cleanup() {
    if [ -n "$OUR_POLICY" ]; then
        $SUDO rm -f "$POLICY"
    fi
}
trap cleanup EXIT

main_was_online=""
if command -v pg_lsclusters >/dev/null 2>&1 &&
   pg_lsclusters --no-header 2>/dev/null | awk -v v="$PG" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
    main_was_online=1
fi

$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "postgresql-$PG" "postgresql-$PG-postgis-3"

# Belt and braces: if a service manager started Debian's cluster anyway, stop it again
# (only when it was not already running before we installed).
if [ -z "$main_was_online" ] && command -v pg_lsclusters >/dev/null 2>&1 &&
   pg_lsclusters --no-header 2>/dev/null | awk -v v="$PG" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
    $SUDO pg_ctlcluster "$PG" main stop || true
fi

if ! installed; then
    echo "install_postgis.sh: installed postgresql-$PG-postgis-3, but initdb, postgis.control" \
         "or postgis-3.so is still missing" >&2
    exit 1
fi
