#!/bin/sh
# C unit test of libmbox/rewrite.c and journal.c (see t/unit/rewrite.c)
exec "${FACTEUR_BUILD:-$(dirname "$0")/../build}/t/unit/rewrite"
