#!/bin/sh
# Installs the missing Debian packages of t/deps.txt (as root), or lists them
# (as non-root: the tests that need them skip).  Quiet when nothing is missing.
# Run by `make check`, `make demo` and .ci/run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
list=${FACTEUR_DEPS:-$here/deps.txt}

missing=
for p in $(sed 's/#.*//' "$list"); do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || st=
	case $st in *" installed") ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "t/deps.sh: missing packages:$missing (no apt-get: install them by hand)"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "t/deps.sh: missing packages:$missing"
	echo "t/deps.sh: not root, not installing them: the tests that need them will skip"
	exit 0
fi

echo "t/deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# postfix is only a peer for interop tests: no daemon on port 25
case " $missing " in *" postfix "*)
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	echo "postfix postfix/mailname string $(hostname)" | debconf-set-selections ;;
esac
# apt-get update once per run; a failed update may still leave usable lists
apt-get update -qq </dev/null || echo "t/deps.sh: apt-get update failed"
apt_install() { apt-get install -y -qq --no-install-recommends "$@" </dev/null; }
# shellcheck disable=SC2086
if ! apt_install $missing; then
	# one unavailable package must not block the others
	for p in $missing; do
		apt_install "$p" || echo "t/deps.sh: could not install $p; the tests that need it will skip"
	done
fi
exit 0
