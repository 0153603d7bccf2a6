#!/usr/bin/env bash
# Regenerates common-passwords.txt: the passwords of at least 10 characters from the
# frequency list of the zxcvbn crate (MIT licence; compiled from public password leaks),
# most common first. Shorter ones need no list: the minimum length refuses them.
set -euo pipefail
cd "$(dirname "$0")"
cargo info zxcvbn@3.1.1 >/dev/null
src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/zxcvbn-3.1.1 | head -n1)
{
  echo "# Common passwords of 10+ characters, most common first (from zxcvbn 3.1.1, MIT)."
  grep -m1 '^const PASSWORDS' "$src/src/frequency_lists.rs" \
    | sed -e 's/^const PASSWORDS: &str = "//' -e 's/";$//' \
    | tr ',' '\n' | awk 'length($0) >= 10' | tr 'A-Z' 'a-z' | awk '!seen[$0]++'
} > common-passwords.txt
wc -l common-passwords.txt
