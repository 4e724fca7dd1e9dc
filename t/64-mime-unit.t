#!/bin/sh
# C unit test of imap/mime/'s tokenizers and decoders (see t/unit/mime.c)
exec "${FACTEUR_BUILD:-$(dirname "$0")/../build}/t/unit/mime"
