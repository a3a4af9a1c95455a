#!/usr/bin/env bash
# Makes sure PostgreSQL, MariaDB and Redis answer on this machine (Debian packages, as on the
# node-svc machines). Every start is idempotent: a running service is left alone.
set -euo pipefail

wait_for() { # name, command
  for _ in $(seq 1 60); do
    if eval "$2" >/dev/null 2>&1; then echo "$1: up"; return 0; fi
    sleep 1
  done
  echo "$1: did not come up" >&2
  return 1
}

if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
wait_for PostgreSQL "pg_isready -h 127.0.0.1 -p 5432"

if ! mariadb-admin -h 127.0.0.1 -u root ping >/dev/null 2>&1; then
  echo "starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
wait_for MariaDB "mariadb-admin -h 127.0.0.1 -u root ping"

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_for Redis "redis-cli -h 127.0.0.1 -p 6379 ping"

# OpenLDAP tools for the LDAP connector tests: they start their own slapd (test/helpers/slapd.ts)
# on free loopback ports, so the system service must not keep running on port 389.
if ! command -v slapd >/dev/null 2>&1 || ! command -v ldapsearch >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
  echo "installing slapd, ldap-utils and openssl (log: /tmp/pip-apt.log)"
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils openssl; } >/tmp/pip-apt.log 2>&1 || { tail -20 /tmp/pip-apt.log; exit 1; }
  service slapd stop >/dev/null 2>&1 || true
fi
echo "slapd: $(command -v slapd)"
