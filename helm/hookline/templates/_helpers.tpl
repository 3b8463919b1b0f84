{{/*
Expand the name of the chart.
*/}}
{{- define "hookline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name.
Truncated at 63 characters because some Kubernetes name fields are limited to
that (DNS label). If the release name contains the chart name it is used as is.
*/}}
{{- define "hookline.fullname" -}}
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

{{/*
The name of one component's resources: "<fullname>-<component>". The full name
is shortened, never the component, so two components never collide.
Call with (dict "ctx" $ "component" "server").
*/}}
{{- define "hookline.componentName" -}}
{{- $base := include "hookline.fullname" .ctx | trunc (int (sub 62 (len .component))) | trimSuffix "-" }}
{{- printf "%s-%s" $base .component }}
{{- end }}

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "hookline.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels
*/}}
{{- define "hookline.labels" -}}
helm.sh/chart: {{ include "hookline.chart" . }}
{{ include "hookline.selectorLabels" . }}
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hookline
{{- end }}

{{/*
Selector labels
*/}}
{{- define "hookline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hookline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels and selector labels of one component. Call with (dict "ctx" $ "component" "server").
*/}}
{{- define "hookline.componentLabels" -}}
{{ include "hookline.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "hookline.componentSelectorLabels" -}}
{{ include "hookline.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Create the name of the service account to use
*/}}
{{- define "hookline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hookline.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference.
*/}}
{{- define "hookline.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Where the configuration file is mounted; HOOKLINE_CONFIG points at it.
*/}}
{{- define "hookline.configDir" -}}/etc/hookline/config{{- end }}

{{/*
hookline.yaml, rendered from .Values.config. Used by the release's ConfigMap
and by the topics hook's own copy (hooks run before release resources exist).
*/}}
{{- define "hookline.configYaml" -}}
# Rendered by the hookline Helm chart from .Values.config.
# Secrets are references (env:NAME, file:/path) resolved inside the pods.
{{ toYaml .Values.config }}
{{- end }}

{{/*
The worker names the `hookline worker` command knows, in a stable order.
*/}}
{{- define "hookline.workerNames" -}}
sms colt reservation reactor
{{- end }}

{{/*
One worker's settings: workerDefaults overlaid with workers.<name>.
Returns YAML; use with fromYaml. Call with (dict "ctx" $ "name" "sms").
*/}}
{{- define "hookline.workerSpec" -}}
{{- $spec := index .ctx.Values.workers .name | default dict }}
{{- toYaml (mergeOverwrite (deepCopy .ctx.Values.workerDefaults) (deepCopy $spec)) }}
{{- end }}

{{/*
Seconds a worker pod gets between SIGTERM and SIGKILL: the worker's own grace
(config.worker.shutdown_grace_seconds, hookline's default 30) plus a margin to
commit and leave the consumer group. An explicit value must be longer than the grace.
Call with (dict "ctx" $ "spec" $workerSpec "name" "sms").
*/}}
{{- define "hookline.workerTerminationGrace" -}}
{{- $grace := dig "worker" "shutdown_grace_seconds" 30 .ctx.Values.config | float64 | ceil | int }}
{{- if .spec.terminationGracePeriodSeconds }}
{{- if le (int .spec.terminationGracePeriodSeconds) $grace }}
{{- fail (printf "workers.%s.terminationGracePeriodSeconds (%d) must be longer than config.worker.shutdown_grace_seconds (%d)" .name (int .spec.terminationGracePeriodSeconds) $grace) }}
{{- end }}
{{- int .spec.terminationGracePeriodSeconds }}
{{- else }}
{{- add $grace (int .spec.terminationMarginSeconds) }}
{{- end }}
{{- end }}

{{/*
Checks across values that a JSON schema cannot express; each failure says what to set.
*/}}
{{- define "hookline.validate" -}}
{{- if not (dig "kafka" "bootstrap_servers" "" .Values.config) }}
{{- fail "config.kafka.bootstrap_servers is required: the chart does not run the embedded broker" }}
{{- end }}
{{- $many := list }}
{{- if or .Values.server.autoscaling.enabled (gt (int .Values.server.replicas) 1) }}
{{- $many = append $many "server" }}
{{- end }}
{{- range $name := splitList " " (include "hookline.workerNames" .) }}
{{- $spec := include "hookline.workerSpec" (dict "ctx" $ "name" $name) | fromYaml }}
{{- $scaled := and $spec.autoscaling.enabled (gt (int $spec.autoscaling.maxReplicas) 1) }}
{{- if and $spec.enabled (or $scaled (gt (int $spec.replicas) 1)) }}
{{- $many = append $many (printf "workers.%s" $name) }}
{{- end }}
{{- if and $spec.enabled $spec.autoscaling.enabled (lt (int $spec.autoscaling.maxReplicas) (int $spec.autoscaling.minReplicas)) }}
{{- fail (printf "workers.%s.autoscaling.maxReplicas must be at least minReplicas" $name) }}
{{- end }}
{{- end }}
{{- if and $many (not .Values.config.redis_url) }}
{{- fail (printf "config.redis_url is required when more than one replica runs (%s): dedup, idempotency and rate limits must be shared" (join ", " $many)) }}
{{- end }}
{{- if and (or .Values.secretEnv .Values.secretFiles) (not .Values.existingSecret) }}
{{- fail "existingSecret is required when secretEnv or secretFiles is set" }}
{{- end }}
{{- if and .Values.server.podDisruptionBudget.enabled (not (or .Values.server.autoscaling.enabled (gt (int .Values.server.replicas) 1))) }}
{{- fail "server.podDisruptionBudget needs more than one replica (server.replicas > 1 or autoscaling), or it blocks every node drain" }}
{{- end }}
{{- end }}

{{/*
Environment shared by every hookline container.
*/}}
{{- define "hookline.env" -}}
- name: HOOKLINE_CONFIG
  value: {{ include "hookline.configDir" . }}/hookline.yaml
- name: PYTHONUNBUFFERED
  value: "1"
{{- range $name, $key := .Values.secretEnv }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.existingSecret }}
      key: {{ $key }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Volume mounts shared by every hookline container.
*/}}
{{- define "hookline.volumeMounts" -}}
- name: config
  mountPath: {{ include "hookline.configDir" . }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .Values.secretFiles }}
- name: secrets
  mountPath: {{ .Values.secretMountPath }}
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Volumes shared by every pod. Call with (dict "ctx" $ "configMap" "<name>").
*/}}
{{- define "hookline.volumes" -}}
- name: config
  configMap:
    name: {{ .configMap }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .ctx.Values.tmpSizeLimit }}
{{- if .ctx.Values.secretFiles }}
- name: secrets
  secret:
    secretName: {{ .ctx.Values.existingSecret }}
    defaultMode: 0440
    items:
    {{- range .ctx.Values.secretFiles }}
      - key: {{ . }}
        path: {{ . }}
    {{- end }}
{{- end }}
{{- with .ctx.Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Pod-level fields shared by every pod. Call with (dict "ctx" $ "pod" $componentValues).
*/}}
{{- define "hookline.podCommon" -}}
securityContext:
  {{- toYaml .ctx.Values.podSecurityContext | nindent 2 }}
{{- with .ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .pod.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .pod.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .pod.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .pod.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .pod.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Egress a hookline pod needs when networkPolicy.egress.restrict is on: DNS, then
the rules given for Kafka, Redis and the provider APIs (networkPolicy.egress.to).
*/}}
{{- define "hookline.networkPolicyEgress" -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- with .Values.networkPolicy.egress.to }}
{{ toYaml . }}
{{- end }}
{{- end }}
