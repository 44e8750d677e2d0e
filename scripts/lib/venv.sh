# Shared by scripts/sandbox and scripts/test: make sure .venv exists with the given extras.
# Usage: ensure_venv sandbox|test. Re-runs pip only when the interpreter, pyproject.toml or
# constraints.txt change, or when the package has gone missing from .venv.
ensure_venv() {
    local extras="$1" root python venv_py stamp want
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    python="${PYTHON:-python3}"
    venv_py="$root/.venv/bin/python"
    if [ ! -x "$venv_py" ]; then
        if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "error: $python is missing or older than Python 3.11 (set PYTHON=/path/to/python3.11+)" >&2
            return 1
        fi
        "$python" -m venv "$root/.venv"
    fi
    stamp="$root/.venv/.installed-$extras"
    want="$({ "$venv_py" -V 2>&1; cat "$root/pyproject.toml" "$root/constraints.txt" 2>/dev/null; } \
        | sha256sum | cut -c1-64)"
    if [ "$(cat "$stamp" 2>/dev/null || true)" = "$want" ] \
        && "$venv_py" -c 'import importlib.metadata as m; m.version("wagtail-wa-consent")' 2>/dev/null; then
        return 0
    fi
    echo "Installing wagtail-wa-consent[$extras] and its pinned dependencies into .venv ..."
    local constraint=()
    [ -f "$root/constraints.txt" ] && constraint=(-c "$root/constraints.txt")
    # pipefail (set by the callers) keeps pip's exit status; grep only hides noisy index warnings.
    "$venv_py" -m pip install --quiet --disable-pip-version-check "${constraint[@]}" -e "$root[$extras]" 2>&1 \
        | { grep -v "WARNING: Location" || true; }
    echo "$want" > "$stamp"
}
