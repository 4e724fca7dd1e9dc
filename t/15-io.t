#!/bin/sh
# C unit test of lib/io.c (see t/unit/io.c)
exec "${FACTEUR_BUILD:-$(dirname "$0")/../build}/t/unit/io"
