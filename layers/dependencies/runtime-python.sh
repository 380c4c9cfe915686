#!/bin/sh
# Print a Python interpreter of the given minor version (e.g. 3.13), or nothing: $LAMBDA_PYTHON,
# pythonX.Y on PATH (a pyenv shim that is not active fails the check and is skipped), then pyenv's
# installed versions. Used for the layer's bytecode, which must come from the runtime's Python.
version="$1"
for candidate in "${LAMBDA_PYTHON:-}" "python$version" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version"*/bin/python"$version"; do
  [ -n "$candidate" ] || continue
  if "$candidate" -c "import sys; sys.exit('%d.%d' % sys.version_info[:2] != '$version')" >/dev/null 2>&1; then
    command -v "$candidate" 2>/dev/null || echo "$candidate"
    exit 0
  fi
done
