# Sourced by the .ci scripts: where tools and build output live.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=${COHORT_TOOLS_DIR:-$HOME/.local/share/cohort-tools}
export PATH="$tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Build output outside the clone by default, so that a fresh clone (as CI makes) reuses
# earlier builds. Set CARGO_TARGET_DIR to choose another place.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cohort/target}
