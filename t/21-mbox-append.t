#!/bin/sh
# C unit test of libmbox/append.c (see t/unit/append.c)
exec "${FACTEUR_BUILD:-$(dirname "$0")/../build}/t/unit/append"
