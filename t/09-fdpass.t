#!/bin/sh
# C unit test of lib/fdpass.c (see t/unit/fdpass.c); 1x is full
exec "${FACTEUR_BUILD:-$(dirname "$0")/../build}/t/unit/fdpass"
