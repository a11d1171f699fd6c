# Sourced by the install_*.sh scripts: sets SUDO ("" as root, "sudo" otherwise) or exits with a
# message naming what needs root ($1).
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "$(basename "$0"): need root to apt-get install $1" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
