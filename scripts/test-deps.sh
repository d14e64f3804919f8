#!/usr/bin/env bash
# What `make test` needs beyond the Python environment: the PostgreSQL and Redis server
# binaries the suite starts throwaway servers from (cadrekit/testing/servers.py), and Java
# with Maven for Apache Kafka (cadrekit/testing/kafka.py). They come from Debian's packages;
# nothing is started here, and nothing is installed when it is already there or when
# TEST_POSTGRES_URL / TEST_REDIS_URL point at a developer's own server.
set -euo pipefail

missing=()
if [[ -z "${TEST_POSTGRES_URL:-}" ]] && ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null \
    && ! command -v postgres >/dev/null; then
    missing+=(postgresql-15)
fi
# Apache Kafka (the Kafka tiers) runs on the JVM from Maven Central's jars.
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
if [[ -z "${TEST_REDIS_URL:-}" ]] && ! command -v redis-server >/dev/null && [[ ! -x /usr/bin/redis-server ]]; then
    missing+=(redis-server)
fi
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

echo "test-deps: installing ${missing[*]} from Debian's packages"
if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null; then
    SUDO=(sudo)
else
    echo "test-deps: ${missing[*]} missing and not root; install them, or set TEST_POSTGRES_URL / TEST_REDIS_URL" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The packages' own services are not wanted (the suite starts its own on free ports); where
# no init system runs, policy-rc.d keeps their postinst from trying to start them.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee $policy >/dev/null
    "${SUDO[@]}" chmod +x $policy
    made_policy=1
fi
trap 'if [[ $made_policy -eq 1 ]]; then "${SUDO[@]}" rm -f $policy; fi' EXIT
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "test-deps: installed ${missing[*]}"
