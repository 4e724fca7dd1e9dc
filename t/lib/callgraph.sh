#!/bin/sh
# callgraph.sh DIR...: the file-level call graph of the C files in DIR
# ("a -> b": a.c calls a function defined in b.c), then tsort's verdict.
# Exit 1 if the graph has a cycle.  A function counts as defined in a file
# when its name starts a line there followed by "(", as the style writes
# definitions ("int\nname(" is not used).
set -u
edges=$(
for d in "$@"; do
	for g in "$d"/*.c; do
		for fn in $(grep -ohE '^[a-z][a-z0-9_ *]*[ *]([a-z][a-z0-9_]*)\(' "$g" |
			    grep -oE '[a-z][a-z0-9_]*\($' | tr -d '(' | sort -u); do
			case $fn in main) continue ;; esac
			grep -q "^static[^(]*[ *]$fn(" "$g" && continue
			for f in "$d"/*.c; do
				[ "$f" = "$g" ] && continue
				grep -qE "(^|[^a-z0-9_])$fn\(" "$f" && echo "$(basename "$f" .c) $(basename "$g" .c)"
			done
		done
	done
done | sort -u)
printf '%s\n' "$edges" | awk 'NF == 2 { print $1 " -> " $2 }'
if printf '%s\n' "$edges" | tsort >/dev/null 2>"${TMPDIR:-/tmp}/callgraph.$$"; then
	rm -f "${TMPDIR:-/tmp}/callgraph.$$"
	echo "no cycle"
	exit 0
fi
cat "${TMPDIR:-/tmp}/callgraph.$$"
rm -f "${TMPDIR:-/tmp}/callgraph.$$"
exit 1
