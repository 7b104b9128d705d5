#!/usr/bin/env bash
# Makes sure a Redis answers on 127.0.0.1:6379 (installs Debian's redis-server
# when it is missing, starts it keeping nothing on disk) for the tests of
# several processes. Prints the URL to use as REDIS_TEST_URL.
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
port=6379
if ! redis-cli -h 127.0.0.1 -p $port ping >/dev/null 2>&1; then
  if ! command -v redis-server >/dev/null; then
    $SUDO apt-get update -q >&2 && $SUDO apt-get install -y -q --no-install-recommends redis-server >&2
  fi
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 --port $port --save "" --appendonly no \
    --dir /tmp --logfile /tmp/perse-test-redis.log >&2
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p $port ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -h 127.0.0.1 -p $port ping >/dev/null || { echo "start-test-redis: Redis did not start" >&2; exit 1; }
fi
echo "redis://127.0.0.1:$port"
