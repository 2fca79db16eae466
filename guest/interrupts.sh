#!/bin/sh
# Guest program: print /proc/interrupts (fixture captures for host tests).
cat /proc/interrupts
