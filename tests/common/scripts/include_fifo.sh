#!/usr/bin/env bash
# include_fifo.sh CONFIG_CHECK - a config that @includes a FIFO is refused at once, naming the
# file and line of the @include (libconfig itself would block reading the FIFO forever); the
# script removes the FIFO and the config it made, so the folder is left as it was.
CHECK=$1
mkfifo fifo || exit 9
printf 'runs = ( { name = "a"; stages = ( { family = "classify"; } ); } );\n@include "fifo"\n' \
    > fifo.cfg || exit 9
"$CHECK" fifo.cfg
rc=$?
rm -f fifo fifo.cfg
exit $rc
