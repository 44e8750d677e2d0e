# Shared by scripts/sandbox and scripts/test: make sure .venv exists with the given extras.
# Usage: ensure_venv sandbox|test. Re-runs pip only when pyproject.toml or constraints.txt change.
ensure_venv() {
    local extras="$1" root python stamp want
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    python="${PYTHON:-python3}"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "error: $python is older than Python 3.11 (set PYTHON=/path/to/python3.11+)" >&2
        return 1
    fi
    [ -x "$root/.venv/bin/python" ] || "$python" -m venv "$root/.venv"
    stamp="$root/.venv/.installed-$extras"
    want="$(cat "$root/pyproject.toml" "$root/constraints.txt" 2>/dev/null | sha256sum | cut -c1-64)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "Installing Python packages into .venv ($extras) ..."
        local constraint=()
        [ -f "$root/constraints.txt" ] && constraint=(-c "$root/constraints.txt")
        "$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            "${constraint[@]}" -e "$root[$extras]" 2>&1 | grep -v "WARNING: Location" || true
        "$root/.venv/bin/python" -c "import wagtail_wa_consent" # fail loudly if the install did
        echo "$want" > "$stamp"
    fi
}
