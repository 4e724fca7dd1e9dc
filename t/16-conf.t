#!/bin/sh
# C unit test of lib/conf.c (see t/unit/conf.c)
exec "${FACTEUR_BUILD:-$(dirname "$0")/../build}/t/unit/conf"
