#!/bin/sh
# SEARCH text matching (mime_search_text) and SENT* dates (mime_header_date)
# on the corpus: positive and negative, decoded (QP, base64, RFC 2047),
# charsets converted to UTF-8, case-insensitive.  Bad section specs.
. "${FACTEUR_SRC:-$(dirname "$0")/..}/t/lib/tap.sh"
[ -x "$B/t/bin/mimedump" ] || skip_all "build first: $B/t/bin/mimedump"
C=$FACTEUR_SRC/t/mime
s() { "$B/t/bin/mimedump" search "$C/$1" "$2" "$3" $4; }
# s FILE WHERE NEEDLE [HEADER] EXPECTED NAME
t() { is "$(s "$1" "$2" "$3" "$4")" "$5" "$6"; }
t 01-simple.eml body "hello WORLD" "" 1 "BODY ascii, case-insensitive"
t 01-simple.eml body "goodbye" "" 0 "BODY negative"
t 01-simple.eml body "Subject" "" 0 "BODY does not search headers"
t 01-simple.eml text "simple" "" 1 "TEXT searches headers"
t 01-simple.eml text "second line" "" 1 "TEXT searches the body"
t 01-simple.eml text "nowhere" "" 0 "TEXT negative"
t 01-simple.eml header "alice@EXAMPLE" From 1 "HEADER From address"
t 01-simple.eml header "bob" From 0 "HEADER From negative"
t 01-simple.eml header "" Subject 1 "HEADER empty needle: field exists"
t 01-simple.eml header "" Cc 0 "HEADER empty needle: field absent"
t 06-qp-latin1.eml body "grüße aus münchen" "" 1 "QP latin1 decoded to UTF-8"
t 06-qp-latin1.eml body "GRÜSSE" "" 0 "no ß/SS expansion (simple folding)"
t 06-qp-latin1.eml body "soft break here" "" 1 "QP soft line break joined"
t 06-qp-latin1.eml body "=FC" "" 0 "QP escapes not matched raw"
t 07-base64-text.eml body "zürich" "" 1 "base64 UTF-8 body"
t 07-base64-text.eml body "καλημερα" "" 1 "Greek case folding"
t 07-base64-text.eml body "ПРИВЕТ" "" 1 "Cyrillic case folding"
t 07-base64-text.eml body "WsO8" "" 0 "base64 text not matched raw"
t 08-alternative.eml body "html version" "" 1 "second alternative searched"
t 08-alternative.eml body "preamble" "" 0 "preamble not searched"
t 09-mixed-attachment.eml body "see attached" "" 1 "text part of mixed"
t 09-mixed-attachment.eml body "iVBOR" "" 0 "binary attachment not searched"
t 12-rfc822-simple.eml body "inner body line 2" "" 1 "body of a nested message"
t 12-rfc822-simple.eml text "inner message" "" 1 "TEXT: nested headers"
t 13-rfc822-nested-deep.eml body "inner body line 1" "" 1 "rfc822 in multipart in rfc822"
t 18-ew-utf8-b.eml header "élodie" From 1 "RFC 2047 B UTF-8 in From"
t 18-ew-utf8-b.eml header "RÉSUMÉ DE LA" Subject 1 "RFC 2047 B, case folded"
t 18-ew-utf8-b.eml header "UsOp" Subject 0 "encoded word not matched raw"
t 19-ew-latin1-q.eml header "café crème" Subject 1 "RFC 2047 Q latin1, underscore"
t 19-ew-latin1-q.eml header "Keld Jørn Simonsen" To 1 "encoded word inside a phrase"
t 20-ew-multiple-words.eml header "a b plain €" Subject 1 "adjacent encoded words joined"
t 21-ew-koi8r.eml header "привет мир" Subject 1 "KOI8-R"
t 21-ew-koi8r.eml header "Привет" From 1 "KOI8-R in From"
t 22-ew-shiftjis.eml header "テスト" Subject 1 "ISO-2022-JP"
t 23-ew-bad.eml header "abc" Subject 1 "unknown charset: bytes kept"
t 24-body-latin1-8bit.eml body "garçon" "" 1 "8bit latin1 body"
t 25-body-windows1252-qp.eml body "€uro" "" 1 "windows-1252 euro sign"
t 25-body-windows1252-qp.eml body "“smart quotes”" "" 1 "windows-1252 quotes"
t 45-duplicate-headers.eml header "second" From 1 "HEADER searches every occurrence"
t 46-case-headers.eml header "upper" from 1 "field name case-insensitive"
t 55-cte-upper.eml body "softbreak = ok" "" 1 "QUOTED-PRINTABLE in upper case"
t 59-html-only.eml body "s'il vous plaît" "" 1 "html QP UTF-8"
t 34-long-line.eml body "xxxxend" "" 0 "long line: no false match across lines"
t 34-long-line.eml body "xxxx" "" 1 "long line searched"
t 33-nul-in-body.eml body "def" "" 0 "application/octet-stream not searched"
t 27-no-boundary-lines.eml body "just text" "" 0 "multipart without parts: nothing to search"
t 26-missing-final-boundary.eml body "never closed" "" 1 "unterminated last part searched"
# SENT* dates
d() { "$B/t/bin/mimedump" date "$C/$1"; }
is "$(d 01-simple.eml)" 1762161630 "Date +0100 to UTC"
is "$(d 43-sender-replyto.eml)" 1762542671 "Date -0800"
is "$(d 44-folded-headers.eml)" 1762513871 "folded Date"
is "$(d 47-obs-date-2digit.eml)" 910455060 "two-digit year, EST, no seconds"
is "$(d 48-bad-date.eml)" "error -1" "unparsable Date"
is "$(d 02-no-mime-headers.eml)" "error -1" "no Date"
# bad section specs: -1
for spec in 0 1. .1 1..2 FOO "HEADER.FIELDS" "HEADER.FIELDS ()" "HEADER.FIELDS (From" MIME "1.FOO" "HEADER.FIELDS (From) x" 99999999999; do
	is "$("$B/t/bin/mimedump" section "$C/11-mixed-alt-related.eml" "$spec" 2>&1)" "error -1" "bad section '$spec'"
done
is "$("$B/t/bin/mimedump" section "$C/11-mixed-alt-related.eml" 7)" "(no such part)" "missing part"
is "$("$B/t/bin/mimedump" section "$C/11-mixed-alt-related.eml" 1.2.2 | od -An -c | tr -s ' ' | head -1)" " / 9 j / 4 A A Q" "BODY[1.2.2]"
is "$("$B/t/bin/mimedump" section "$C/11-mixed-alt-related.eml" "header.fields (SUBJECT)" | tr -d '\r')" "Subject: nested multipart" "lower-case keywords"
done_testing
