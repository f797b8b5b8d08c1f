#!/usr/bin/env bash
# Installs the Debian packages that hold make quality's image collections
# (or the packages named as arguments), when apt-get is there and they are
# missing; without apt-get it says which are missing, and make quality
# skips those collections with a message.
set -euo pipefail
pkgs=(tuxpaint-stamps-default dataset-fashion-mnist plasma-workspace-wallpapers gnome-backgrounds
  mate-backgrounds ukui-wallpapers lomiri-wallpapers sway-backgrounds)
[ $# -gt 0 ] && pkgs=("$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
  echo "make quality: not installed (install them to measure every collection): ${missing[*]}" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
