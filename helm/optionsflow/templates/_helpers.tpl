{{/* ---------------------------------------------------------------- names and labels */}}

{{- define "optionsflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "optionsflow.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "<fullname>-<component>", e.g. optionsflow-gateway. Call with (list $ "gateway"). */}}
{{- define "optionsflow.componentName" -}}
{{- $root := index . 0 }}
{{- printf "%s-%s" (include "optionsflow.fullname" $root | trunc 50 | trimSuffix "-") (index . 1) }}
{{- end }}

{{- define "optionsflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "optionsflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: optionsflow
{{- end }}

{{/* Labels of one component's objects. Call with (list $ "gateway"). */}}
{{- define "optionsflow.componentLabels" -}}
{{ include "optionsflow.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* Selector of one component's pods. Call with (list $ "gateway"). */}}
{{- define "optionsflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "optionsflow.name" (index . 0) }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "optionsflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "optionsflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "optionsflow.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------- the components */}}

{{/*
What is fixed per component (the values hold what is tunable). package: the Python package
(SERVICE_NAME of the gunicorn services); job: the Prometheus job name, as in
ops/prometheus/prometheus.yml; port: where it listens (HTTP or metrics); server: how it runs;
store: whether it opens the store (only those get STORE_URL and its credentials).
*/}}
{{- define "optionsflow.catalog" -}}
gateway:    {package: api_gateway,       job: api_gateway,       port: 8000, server: gunicorn,   store: false}
auth:       {package: auth_service,      job: auth_service,      port: 8001, server: gunicorn,   store: true}
socket:     {package: socket_gateway,    job: socket_gateway,    port: 8002, server: socket,     store: false}
storage:    {package: storage_service,   job: storage_service,   port: 8003, server: gunicorn,   store: true}
analytics:  {package: analytics_service, job: analytics_service, port: 8004, server: gunicorn,   store: true}
alert:      {package: alert_service,     job: alert_service,     port: 8006, server: gunicorn,   store: true}
paper:      {package: paper_service,     job: paper_service,     port: 8007, server: gunicorn,   store: true}
logging:    {package: logging_service,   job: logging_service,   port: 8005, server: gunicorn,   store: false}
worker:     {package: worker_enricher,   job: worker,            port: 9100, server: worker,     store: true}
alerts-worker: {package: worker_enricher, job: alerts_worker,    port: 9100, server: worker,     store: true}
subscriber: {package: worker_enricher,   job: subscriber,        port: 9101, server: subscriber, store: false}
feed:       {package: feed_generator,    job: feed,              port: 9102, server: feed,       store: false}
flower:     {package: flower,            job: flower,            port: 5555, server: flower,     store: false}
{{- end }}

{{/* Names of the components this release runs, in a stable order. */}}
{{- define "optionsflow.enabledComponents" -}}
{{- $names := list "gateway" "auth" "socket" "storage" "analytics" "alert" "paper" "logging" "worker" "alerts-worker" "subscriber" "feed" }}
{{- if .Values.flower.enabled }}{{ $names = append $names "flower" }}{{ end }}
{{- toJson $names }}
{{- end }}

{{/* Replicas of a component (fixed at 1 where a second instance would be wrong). */}}
{{- define "optionsflow.replicas" -}}
{{- $root := index . 0 }}{{ $name := index . 1 }}
{{- if has $name (list "logging" "flower") }}1
{{- else }}{{ (index $root.Values $name).replicas }}
{{- end }}
{{- end }}

{{/* The container command of a component. Call with (list $ "gateway"). */}}
{{- define "optionsflow.command" -}}
{{- $root := index . 0 }}{{ $name := index . 1 }}
{{- $c := index (include "optionsflow.catalog" $root | fromYaml) $name }}
{{- if eq $c.server "gunicorn" }}
{{- /* common.gunicorn_conf deletes stale metric files at start (a restarted container keeps
       its emptyDir) and turns gunicorn 27's control socket off. */}}
{{- toYaml (list "gunicorn" "-c" "python:common.gunicorn_conf" "--bind" (printf "0.0.0.0:%v" $c.port) (printf "%s.wsgi:app" $c.package)) }}
{{- else if eq $c.server "socket" }}
{{- toYaml (list "python" "-m" "socket_gateway" "--host" "0.0.0.0" "--port" (toString $c.port)) }}
{{- else if eq $name "alerts-worker" }}
{{- /* The webhook deliveries: threads (each task waits on a receiver), the "alerts" queue. */}}
{{- toYaml (list "celery" "-A" "worker_enricher.celery_app" "worker" "--queues" "alerts" "--pool" "threads" "--concurrency" (toString (index $root.Values "alerts-worker").concurrency) "--hostname" "alerts@%h" "--loglevel" $root.Values.logLevel "-E" "--without-gossip" "--without-mingle") }}
{{- else if eq $c.server "worker" }}
{{- toYaml (list "celery" "-A" "worker_enricher.celery_app" "worker" "--queues" "enrich" "--concurrency" (toString $root.Values.worker.concurrency) "--loglevel" $root.Values.logLevel "-E" "--without-gossip" "--without-mingle") }}
{{- else if eq $c.server "subscriber" }}
{{- toYaml (list "python" "-m" "worker_enricher.subscriber") }}
{{- else if eq $c.server "feed" }}
{{- toYaml (concat (list "python" "-m" "feed_generator") $root.Values.feed.args) }}
{{- else if eq $c.server "flower" }}
{{- toYaml (list "python" "-m" "worker_enricher.flower" "--address=0.0.0.0" (printf "--port=%d" (int $c.port))) }}
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------- configuration */}}

{{- define "optionsflow.secretName" -}}
{{- default (include "optionsflow.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "optionsflow.redisUrl" -}}
{{- printf "redis://%s:6379/0" (include "optionsflow.componentName" (list . "redis")) }}
{{- end }}

{{- define "optionsflow.mongodbUrl" -}}
{{- printf "mongodb://%s:27017/%s" (include "optionsflow.componentName" (list . "mongodb")) .Values.mongodb.database }}
{{- end }}

{{/* The URL browsers use for the Socket.IO gateway ("" when the page's host is meant). */}}
{{- define "optionsflow.socketPublicUrl" -}}
{{- if .Values.socket.publicUrl }}
{{- .Values.socket.publicUrl }}
{{- else if .Values.ingress.enabled }}
{{- printf "%s://%s" (ternary "https" "http" (not (empty .Values.ingress.tlsSecretName))) .Values.ingress.host }}
{{- end }}
{{- end }}

{{- define "optionsflow.socketCorsOrigins" -}}
{{- if .Values.socket.corsOrigins }}
{{- join "," .Values.socket.corsOrigins }}
{{- else if .Values.ingress.enabled }}
{{- include "optionsflow.socketPublicUrl" . }}
{{- end }}
{{- end }}

{{/* A variable from the chart's Secret. Call with (list $ "NAME" "key" optional). */}}
{{- define "optionsflow.secretEnv" -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ include "optionsflow.secretName" (index . 0) }}
      key: {{ index . 2 }}
      {{- if index . 3 }}
      optional: true
      {{- end }}
{{- end }}

{{/* The environment of a component's container. Call with (list $ "gateway"). */}}
{{- define "optionsflow.env" -}}
{{- $root := index . 0 }}{{ $name := index . 1 }}
{{- $c := index (include "optionsflow.catalog" $root | fromYaml) $name }}
{{- $values := index $root.Values $name }}
{{- if not $root.Values.redis.inCluster }}
{{ include "optionsflow.secretEnv" (list $root "REDIS_URL" "redis-url" false) }}
{{- else }}
{{- /* REDIS_URL (the ConfigMap) carries no password; the settings put this one in. */}}
{{ include "optionsflow.secretEnv" (list $root "REDIS_PASSWORD" "redis-password" false) }}
{{- end }}
{{- if has $name (list "gateway" "socket" "auth" "storage" "analytics" "alert" "paper" "logging") }}
{{- /* The internal services answer only callers presenting it (common/web/servicecred.py). */}}
{{ include "optionsflow.secretEnv" (list $root "SERVICE_TOKEN" "service-token" false) }}
{{- end }}
{{- if and $c.store (not $root.Values.mongodb.inCluster) }}
{{ include "optionsflow.secretEnv" (list $root "STORE_URL" "mongodb-url" false) }}
{{- end }}
{{ include "optionsflow.secretEnv" (list $root "SENTRY_DSN" "sentry-dsn" true) }}
{{- if has $c.server (list "gunicorn" "socket") }}
{{- /* Services behind the gateway trust one hop; the gateway and the socket gateway trust
       what their values say (the ingress controller in front: 1). */}}
- {name: PROXY_HOPS, value: {{ ternary $values.proxyHops 1 (hasKey $values "proxyHops") | quote }}}
{{- end }}
{{- if eq $c.server "gunicorn" }}
- {name: SERVICE_NAME, value: {{ $c.package }}}
- {name: PROMETHEUS_MULTIPROC_DIR, value: /tmp/prometheus}
{{- /* logging_service: one process owns the log files and the stream consumer. */}}
- {name: WEB_CONCURRENCY, value: {{ ternary 1 (default 2 $values.webConcurrency) (eq $name "logging") | quote }}}
- {name: GUNICORN_THREADS, value: {{ default 8 $values.threads | quote }}}
{{- end }}
{{- if eq $name "logging" }}
{{ include "optionsflow.secretEnv" (list $root "ELASTICSEARCH_URL" "elasticsearch-url" true) }}
{{- end }}
{{- if eq $name "auth" }}
- {name: JWT_PRIVATE_KEY_PATH, value: /etc/optionsflow/jwt/private.pem}
- {name: JWT_PUBLIC_KEY_PATH, value: /etc/optionsflow/jwt/public.pem}
{{- end }}
{{- if eq $c.server "worker" }}
- {name: WORKER_METRICS_PORT, value: {{ $c.port | quote }}}
{{- /* The pool processes' metric files: emptied by the worker at start (metrics_dir.py). */}}
- {name: PROMETHEUS_MULTIPROC_DIR, value: /tmp/prometheus}
{{- end }}
{{- if eq $name "subscriber" }}
- {name: SUBSCRIBER_METRICS_PORT, value: {{ $c.port | quote }}}
{{- end }}
{{- if eq $name "feed" }}
- {name: FEED_METRICS_PORT, value: {{ $c.port | quote }}}
{{- end }}
{{- if eq $name "flower" }}
{{ include "optionsflow.secretEnv" (list $root "FLOWER_BASIC_AUTH" "flower-basic-auth" true) }}
{{- end }}
{{- range $key, $value := $values.env }}
- name: {{ $key }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------- health checks */}}

{{/*
HTTP services: liveness on /healthz (the process answers), readiness on /readyz (its Redis,
store or upstreams answer). Worker and subscriber: their metrics port accepts connections.
The feed: underlying ticks reach Redis Pub/Sub (a stronger check than its metrics port
accepting connections; its venues' states are alerted on from /metrics).
*/}}
{{- define "optionsflow.probes" -}}
{{- $root := index . 0 }}{{ $name := index . 1 }}
{{- $c := index (include "optionsflow.catalog" $root | fromYaml) $name }}
{{- if has $c.server (list "gunicorn" "socket") }}
startupProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /readyz, port: http}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 2
{{- else if eq $c.server "flower" }}
livenessProbe:
  httpGet: {path: /healthcheck, port: http}
  initialDelaySeconds: 10
  periodSeconds: 20
  timeoutSeconds: 3
readinessProbe:
  httpGet: {path: /healthcheck, port: http}
  periodSeconds: 10
  timeoutSeconds: 3
{{- else if has $c.server (list "worker" "subscriber") }}
startupProbe:
  tcpSocket: {port: metrics}
  periodSeconds: 2
  failureThreshold: 60
livenessProbe:
  tcpSocket: {port: metrics}
  periodSeconds: 15
  timeoutSeconds: 3
  failureThreshold: 4
readinessProbe:
  tcpSocket: {port: metrics}
  periodSeconds: 10
  timeoutSeconds: 3
{{- else if eq $c.server "feed" }}
{{- $check := list "python" "-c" "import sys, time, redis; from common.settings import load_settings; p = redis.Redis.from_url(load_settings().redis_url, socket_timeout=3).pubsub(ignore_subscribe_messages=True); p.subscribe('market:underlying'); end = time.monotonic() + 2.5; sys.exit(0 if any(p.get_message(timeout=0.5) for _ in iter(lambda: time.monotonic() < end, False)) else 1)" }}
livenessProbe:
  exec:
    command: {{- toYaml $check | nindent 6 }}
  initialDelaySeconds: 30
  periodSeconds: 60
  timeoutSeconds: 10
  failureThreshold: 5
readinessProbe:
  exec:
    command: {{- toYaml $check | nindent 6 }}
  initialDelaySeconds: 10
  periodSeconds: 30
  timeoutSeconds: 10
{{- end }}
{{- end }}

{{/* Pod-level scheduling shared by every component. Call with (list $ "gateway"). */}}
{{- define "optionsflow.scheduling" -}}
{{- $root := index . 0 }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "optionsflow.selectorLabels" . | nindent 8 }}
{{- end }}
