#!/bin/sh
# The one-off job: whatever a release needs once per deployment of new code.
set -eu
echo "release tasks for $(hostname) done"
