#!/bin/sh
# The one-off job: wait for the database to accept connections, then apply the schema.
# A non-zero exit fails `pulumi up`, and web is not deployed.
set -eu
for attempt in $(seq 1 30); do
  pg_isready -d "$DATABASE_URL" -q && break
  echo "waiting for the database ($attempt)"
  sleep 2
done
psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f schema.sql
echo "migration applied"
