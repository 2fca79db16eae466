#!/bin/sh
# Guest program: load the example consumer module (include/twa_noipi.h
# only) and run its GoogleTest cases: NO_IPI items run, no IPI is sent.
insmod /twa/twa_consumer.ko || { echo "cannot load twa_consumer.ko"; exit 1; }
/twa/bin/twa-ipi-tests --gtest_filter='Consumer.*'
rc=$?
rmmod twa_consumer || rc=1
exit $rc
