#!/usr/bin/env bash
# Starts one Apache Kafka node (KRaft) from KAFKA_* variables, the way compose runs it and the
# tests run it (cadrekit/testing/kafka.py runs this very script). Each KAFKA_FOO_BAR becomes
# the property foo.bar (`__` → `_`, `___` → `-`, as the apache/kafka image maps them).
# Secrets are not in KAFKA_* variables: the JAAS lines are written here from
# KAFKA_ADMIN_PASSWORD (the `admin` super user, SCRAM, also the brokers' own identity) and
# KAFKA_CONTROLLER_PASSWORD (PLAIN, between brokers and controllers). The storage is
# formatted on first start with the admin's SCRAM credential, so the kafka-setup job can log
# in and make the services' users, topics and ACLs.
set -euo pipefail
: "${CLUSTER_ID:?}" "${KAFKA_ADMIN_PASSWORD:?}" "${KAFKA_CONTROLLER_PASSWORD:?}"
KAFKA_HOME=${KAFKA_HOME:-/opt/kafka}
config=${KAFKA_CONFIG_FILE:-/tmp/kafka-server.properties}
client_config=${KAFKA_CLIENT_CONFIG_FILE:-/tmp/kafka-admin.properties}
skip='^(HEAP_OPTS|OPTS|JVM_PERFORMANCE_OPTS|LOG4J_OPTS|ADMIN_PASSWORD|CONTROLLER_PASSWORD|CONFIG_FILE|CLIENT_CONFIG_FILE|HOME)$'

umask 077
{
    while IFS='=' read -r key value; do
        name=${key#KAFKA_}
        [[ $name =~ $skip ]] && continue
        name=${name,,}
        name=${name//___/-}
        name=${name//__/@}
        name=${name//_/.}
        name=${name//@/_}
        printf '%s=%s\n' "$name" "$value"
    done < <(env | grep -E '^KAFKA_[A-Z0-9_]+=' | sort)
    printf 'listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="%s" user_controller="%s";\n' \
        "$KAFKA_CONTROLLER_PASSWORD" "$KAFKA_CONTROLLER_PASSWORD"
    printf 'listener.name.broker.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="%s";\n' \
        "$KAFKA_ADMIN_PASSWORD"
} > "$config"
# The admin's own client properties, for the healthcheck and an operator's kafka-*.sh tools.
printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="%s";\n' \
    "$KAFKA_ADMIN_PASSWORD" > "$client_config"

"$KAFKA_HOME/bin/kafka-storage.sh" format --ignore-formatted -t "$CLUSTER_ID" -c "$config" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=$KAFKA_ADMIN_PASSWORD]"
exec "$KAFKA_HOME/bin/kafka-server-start.sh" "$config"
