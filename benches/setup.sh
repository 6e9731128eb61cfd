#!/bin/sh
# Installs the peers of `benches/benches/run.rs`'s `run/commands` group (GNU make and
# ninja). Without them that group is skipped with a message.
set -eu
apt-get update
apt-get install -y make ninja-build
