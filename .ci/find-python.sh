#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, or fail with a message on stderr.
# Order: $PYTHON (override), python3.12/python3.13/python3 on PATH, pyenv versions (oldest >= 3.12 first),
# /usr/bin/python3.13 (Debian 13 images).
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
if [ -n "${PYTHON:-}" ]; then
  if ok "$PYTHON"; then command -v "$PYTHON" || echo "$PYTHON"; exit 0; fi
  echo "PYTHON=$PYTHON is not a Python >= 3.12 interpreter" >&2; exit 1
fi
cands=()
for n in python3.12 python3.13 python3; do
  p=$(command -v "$n" 2>/dev/null) && cands+=("$p")
done
proot=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for d in $(ls -d "$proot"/versions/3.1[2-9]* 2>/dev/null | sort -V); do
  [ -x "$d/bin/python3" ] && cands+=("$d/bin/python3")
done
cands+=(/usr/bin/python3.13 /usr/local/bin/python3.13 /usr/local/bin/python3.12)
for p in "${cands[@]}"; do
  if [ -x "$p" ] && ok "$p"; then echo "$p"; exit 0; fi
done
echo "No Python >= 3.12 found (looked on PATH, in $proot/versions, /usr/bin/python3.13)." \
     "Install one or run: make PYTHON=/path/to/python3.12 ..." >&2
exit 1
