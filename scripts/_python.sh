# Sourced by the bash wrappers beside it: `python -m MODULE ARGS...` from the checkout's root,
# with $PYTHON (default python3, else python). The work is in Python (scripts/*.py).
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit
PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python
exec "$PYTHON" -m "$@"
