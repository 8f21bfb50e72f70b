#!/usr/bin/env bash
# Downloads the SMS Spam Collection (UCI, CC BY 4.0) to data/SMSSpamCollection and checks it.
# ember-spam finds it there; the data set is never committed to the repository.
set -euo pipefail
URL="https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip"
SHA256="7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/data/SMSSpamCollection}"

check() { echo "$SHA256  $1" | sha256sum --check --status; }
if [[ -f "$dest" ]] && check "$dest"; then
  echo "already there: $dest"
  exit 0
fi
for tool in curl unzip sha256sum; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed" >&2; exit 1; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "downloading $URL"
curl --fail --location --silent --show-error --retry 3 -o "$tmp/sms.zip" "$URL"
unzip -q -o "$tmp/sms.zip" SMSSpamCollection -d "$tmp"
if ! check "$tmp/SMSSpamCollection"; then
  echo "error: sha256 of the downloaded SMSSpamCollection is not $SHA256" >&2
  exit 1
fi
mkdir -p "$(dirname "$dest")"
mv "$tmp/SMSSpamCollection" "$dest"
echo "wrote $dest"
