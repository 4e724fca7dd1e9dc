#!/bin/sh
# C unit test of libmbox/lock.c (see t/unit/lock.c)
exec "${FACTEUR_BUILD:-$(dirname "$0")/../build}/t/unit/lock"
