#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu, python3),
# with the zip's contents in /autograder/source. It installs, from Ubuntu's archive and the
# Python package index only:
#   - the grading sandbox: bubblewrap, and util-linux's prlimit and setpriv;
#   - the course wheel in this zip and its dependencies, into the virtual environment
#     /autograder/venv (run_autograder uses that Python);
# then prepares the grading folder /autograder/grading (the salt, nbgrader's gradebook entry
# and release of the assignment), so that each submission starts grading at once.
#
# NNCOURSE_SETUP_UV=PATH (tests only): instead of apt-get and pip, that uv makes the venv with
# $NNCOURSE_SETUP_PYTHON and installs the same wheel offline, from its cache (without
# compiling bytecode, which pip does: in a test, compiling takes longer than it saves).
set -euo pipefail

SOURCE=/autograder/source
VENV=/autograder/venv
WHEEL=$(ls "$SOURCE"/nncourse-*.whl)

if [ -z "${NNCOURSE_SETUP_UV:-}" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends bubblewrap util-linux python3-venv
    # setpriv is util-linux's on current releases, a package of its own on older ones
    command -v setpriv >/dev/null || apt-get install -y --no-install-recommends setpriv
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet "$WHEEL"
else
    "$NNCOURSE_SETUP_UV" venv --quiet --python "${NNCOURSE_SETUP_PYTHON:-python3}" "$VENV"
    "$NNCOURSE_SETUP_UV" pip install --quiet --offline --python "$VENV/bin/python" "$WHEEL"
fi

for tool in bwrap prlimit setpriv; do
    command -v "$tool" >/dev/null || { echo "setup.sh: $tool is missing" >&2; exit 1; }
done
"$VENV/bin/python" -m autograder.gradescope.run prepare --root /autograder
echo "setup.sh: ready to grade"
