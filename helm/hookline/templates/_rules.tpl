{{/*
hookline's Prometheus alert rules: the `groups` list of a rules file.

The one source of the rules. templates/prometheusrule.yaml wraps it in a
PrometheusRule; deploy/prometheus/hookline-rules.yaml is this template
rendered with the default values (scripts/render-rules.py, checked by
tests/operations). Thresholds come from .Values.prometheusRule.rules; every
alert's runbook is a section of docs/operations.md named after the alert.
Prometheus' own {{ $labels.x }} / {{ $value }} are written as Go raw strings
so that Helm leaves them alone.
*/}}
{{- define "hookline.rules" -}}
{{- $p := .Values.prometheusRule }}
{{- $r := $p.rules }}
{{- $runbook := $p.runbookUrl }}
{{- $off := $p.disabledAlerts | default list }}
- name: hookline.ingress
  rules:
{{- if not (has "HooklineKafkaUnreachable" $off) }}
    - alert: HooklineKafkaUnreachable
      expr: min(hookline_kafka_ready) == 0
      for: {{ $r.kafkaUnreachable.for }}
      labels:
        severity: critical
      annotations:
        summary: "The ingress cannot reach Kafka"
        description: "At least one ingress process has not reached Kafka for {{ $r.kafkaUnreachable.for }}; webhooks are answered 503 and providers retry."
        runbook_url: {{ $runbook }}#hooklinekafkaunreachable
{{- end }}
{{- if not (has "HooklineIngressUnavailable" $off) }}
    - alert: HooklineIngressUnavailable
      expr: |-
        sum(rate(hookline_ingress_requests_total{outcome="unavailable"}[5m]))
          / sum(rate(hookline_ingress_requests_total[5m])) > {{ $r.ingressUnavailable.ratio }}
      for: {{ $r.ingressUnavailable.for }}
      labels:
        severity: critical
      annotations:
        summary: "Webhooks are being answered 503"
        description: "{{`{{ $value | humanizePercentage }}`}} of webhook requests got 503 (Kafka or the dedup store unavailable) over 5 minutes."
        runbook_url: {{ $runbook }}#hooklineingressunavailable
{{- end }}
{{- if not (has "HooklineVerificationFailures" $off) }}
    - alert: HooklineVerificationFailures
      expr: sum by (source) (rate(hookline_ingress_verification_failures_total[5m])) > {{ $r.verificationFailures.perSecond }}
      for: {{ $r.verificationFailures.for }}
      labels:
        severity: warning
      annotations:
        summary: "{{`Signature verification failures on source {{ $labels.source }}`}}"
        description: "{{`Source {{ $labels.source }} refuses {{ $value | humanize }} requests per second for failed verification (rotated secret, wrong scheme, or forged traffic).`}}"
        runbook_url: {{ $runbook }}#hooklineverificationfailures
{{- end }}
{{- if not (has "HooklineConnectionCapReached" $off) }}
    - alert: HooklineConnectionCapReached
      expr: sum(rate(hookline_ingress_edge_refusals_total{reason="max_connections"}[5m])) > {{ $r.connectionCap.perSecond }}
      for: {{ $r.connectionCap.for }}
      labels:
        severity: warning
      annotations:
        summary: "Ingress processes are at server.max_connections"
        description: "{{`{{ $value | humanize }}`}} connections per second are refused with 503 because an ingress process holds server.max_connections open connections."
        runbook_url: {{ $runbook }}#hooklineconnectioncapreached
{{- end }}
{{- with $r.sourceSilence }}
{{- $names := keys (.sources | default dict) | sortAlpha }}
{{- if and (not (has "HooklineSourceSilent" $off)) (or $names .defaultSeconds) }}
    - alert: HooklineSourceSilent
      expr: |-
        {{- $clauses := list }}
        {{- range $names }}
        {{- $clauses = append $clauses (printf "(time() - hookline_ingress_last_accepted_timestamp_seconds{source=%q} > %v)" . (index $.Values.prometheusRule.rules.sourceSilence.sources .)) }}
        {{- end }}
        {{- if .defaultSeconds }}
        {{- $selector := "" }}
        {{- $escaped := list }}
        {{- range $names }}{{ $escaped = append $escaped (regexQuoteMeta .) }}{{ end }}
        {{- if $names }}{{ $selector = printf "{source!~%q}" (join "|" $escaped) }}{{ end }}
        {{- $clauses = append $clauses (printf "(time() - hookline_ingress_last_accepted_timestamp_seconds%s > %v)" $selector .defaultSeconds) }}
        {{- end }}
        {{ join "\n  or\n" $clauses | nindent 8 | trim }}
      labels:
        severity: warning
      annotations:
        summary: "{{`Source {{ $labels.source }} has delivered nothing for longer than expected`}}"
        description: "{{`No webhook from {{ $labels.source }} was accepted for {{ $value | humanizeDuration }}.`}}"
        runbook_url: {{ $runbook }}#hooklinesourcesilent
{{- end }}
{{- end }}
- name: hookline.workers
  rules:
{{- if not (has "HooklineDeadLetters" $off) }}
    - alert: HooklineDeadLetters
      expr: |-
        sum by (service) (increase(hookline_worker_dead_letters_total[{{ $r.deadLetters.window }}])) > {{ $r.deadLetters.count }}
          or
        label_replace(sum(increase(hookline_ingress_requests_total{outcome="dead_lettered"}[{{ $r.deadLetters.window }}])), "service", "ingress", "", "") > {{ $r.deadLetters.count }}
      labels:
        severity: warning
      annotations:
        summary: "{{`Dead letters are piling up for {{ $labels.service }}`}}"
        description: "{{`{{ $value | humanize }} records of {{ $labels.service }} went to its dead-letter topic in the last `}}{{ $r.deadLetters.window }}{{`.`}}"
        runbook_url: {{ $runbook }}#hooklinedeadletters
{{- end }}
{{- if not (has "HooklineConsumerLagGrowing" $off) }}
    - alert: HooklineConsumerLagGrowing
      expr: |-
        sum by (service) (hookline_worker_consumer_lag) > {{ $r.consumerLag.records }}
          and
        deriv(sum by (service) (hookline_worker_consumer_lag)[10m:1m]) > 0
      for: {{ $r.consumerLag.for }}
      labels:
        severity: warning
      annotations:
        summary: "{{`Worker {{ $labels.service }} is falling behind`}}"
        description: "{{`{{ $labels.service }} is {{ $value | humanize }} records behind and the lag keeps growing.`}}"
        runbook_url: {{ $runbook }}#hooklineconsumerlaggrowing
{{- end }}
{{- if not (has "HooklineWorkerStalled" $off) }}
    - alert: HooklineWorkerStalled
      expr: time() - max by (service) (hookline_worker_last_turn_timestamp_seconds) > {{ $r.workerStalled.seconds }}
      labels:
        severity: critical
      annotations:
        summary: "{{`Worker {{ $labels.service }}'s fetch loop has stalled`}}"
        description: "{{`The fetch loop of {{ $labels.service }} has not turned for {{ $value | humanizeDuration }}; nothing is being consumed.`}}"
        runbook_url: {{ $runbook }}#hooklineworkerstalled
{{- end }}
{{- if not (has "HooklineRetryBacklog" $off) }}
    - alert: HooklineRetryBacklog
      expr: sum by (service) (hookline_worker_consumer_lag{topic=~".+\\.retry\\..+"}) > {{ $r.retryBacklog.records }}
      for: {{ $r.retryBacklog.for }}
      labels:
        severity: warning
      annotations:
        summary: "{{`Retries are piling up for {{ $labels.service }}`}}"
        description: "{{`{{ $value | humanize }} records of {{ $labels.service }} wait on its retry topics.`}}"
        runbook_url: {{ $runbook }}#hooklineretrybacklog
{{- end }}
- name: hookline.providers
  rules:
{{- if not (has "HooklineCircuitBreakerOpen" $off) }}
    - alert: HooklineCircuitBreakerOpen
      expr: max by (provider) (hookline_http_breaker_state) >= 1
      for: {{ $r.breakerOpen.for }}
      labels:
        severity: critical
      annotations:
        summary: "{{`The circuit breaker for {{ $labels.provider }} is open`}}"
        description: "{{`Calls to {{ $labels.provider }} have been refused by the breaker (open or half-open) for `}}{{ $r.breakerOpen.for }}{{`; commands go to retry tiers.`}}"
        runbook_url: {{ $runbook }}#hooklinecircuitbreakeropen
{{- end }}
{{- if not (has "HooklineProviderErrorRate" $off) }}
    - alert: HooklineProviderErrorRate
      expr: |-
        sum by (provider) (rate(hookline_http_requests_total{status_class=~"5xx|network|timeout|auth"}[5m]))
          / sum by (provider) (rate(hookline_http_requests_total{status_class!~"circuit_open|rate_limited|redis_unavailable"}[5m]))
          > {{ $r.providerErrors.ratio }}
      for: {{ $r.providerErrors.for }}
      labels:
        severity: warning
      annotations:
        summary: "{{`{{ $labels.provider }} API errors above threshold`}}"
        description: "{{`{{ $value | humanizePercentage }} of calls to {{ $labels.provider }} failed (5xx, network, timeout, auth) over 5 minutes.`}}"
        runbook_url: {{ $runbook }}#hooklineprovidererrorrate
{{- end }}
{{- if not (has "HooklineProviderLatency" $off) }}
    - alert: HooklineProviderLatency
      expr: |-
        histogram_quantile(0.99, sum by (provider, le) (rate(hookline_http_request_seconds_bucket[5m])))
          > {{ $r.providerLatency.p99Seconds }}
      for: {{ $r.providerLatency.for }}
      labels:
        severity: warning
      annotations:
        summary: "{{`{{ $labels.provider }} API p99 latency above threshold`}}"
        description: "{{`p99 of calls to {{ $labels.provider }} is {{ $value | humanizeDuration }} over 5 minutes.`}}"
        runbook_url: {{ $runbook }}#hooklineproviderlatency
{{- end }}
{{- if not (has "HooklineProviderAvailability" $off) }}
    - alert: HooklineProviderAvailability
      expr: |-
        1 - (
          sum by (provider) (rate(hookline_http_requests_total{status_class=~"5xx|network|timeout|auth|circuit_open"}[{{ $r.providerAvailability.window }}]))
            / sum by (provider) (rate(hookline_http_requests_total{status_class!~"rate_limited|redis_unavailable"}[{{ $r.providerAvailability.window }}]))
        ) < {{ $r.providerAvailability.target }}
      labels:
        severity: warning
      annotations:
        summary: "{{`{{ $labels.provider }} availability below target`}}"
        description: "{{`Only {{ $value | humanizePercentage }} of calls to {{ $labels.provider }} succeeded over `}}{{ $r.providerAvailability.window }}{{`.`}}"
        runbook_url: {{ $runbook }}#hooklineprovideravailability
{{- end }}
{{- if not (has "HooklineProviderDown" $off) }}
    - alert: HooklineProviderDown
      expr: |-
        min by (provider) (hookline_provider_up) == 0
          or
        min by (provider) (hookline_sms_provider_healthy) == 0
      for: {{ $r.providerDown.for }}
      labels:
        severity: critical
      annotations:
        summary: "{{`{{ $labels.provider }} fails its health check`}}"
        description: "{{`The authenticated health probe of {{ $labels.provider }} has failed for `}}{{ $r.providerDown.for }}{{`.`}}"
        runbook_url: {{ $runbook }}#hooklineproviderdown
{{- end }}
{{- if not (has "HooklineTokenRefreshFailing" $off) }}
    - alert: HooklineTokenRefreshFailing
      expr: sum by (provider, outcome) (increase(hookline_http_token_refreshes_total{outcome!="ok"}[{{ $r.tokenRefresh.window }}])) > {{ $r.tokenRefresh.count }}
      labels:
        severity: critical
      annotations:
        summary: "{{`Access tokens for {{ $labels.provider }} cannot be refreshed`}}"
        description: "{{`{{ $value | humanize }} token fetches for {{ $labels.provider }} ended {{ $labels.outcome }} in the last `}}{{ $r.tokenRefresh.window }}{{`.`}}"
        runbook_url: {{ $runbook }}#hooklinetokenrefreshfailing
{{- end }}
{{- if not (has "HooklineSmsFailover" $off) }}
    - alert: HooklineSmsFailover
      expr: |-
        sum by (provider) (rate(hookline_sms_messages_total{outcome="failed_over"}[{{ $r.smsFailover.window }}]))
          / sum by (provider) (rate(hookline_sms_messages_total{outcome=~"accepted|failed_over"}[{{ $r.smsFailover.window }}]))
          > {{ $r.smsFailover.ratio }}
      for: {{ $r.smsFailover.for }}
      labels:
        severity: warning
      annotations:
        summary: "{{`SMS traffic is failing over away from {{ $labels.provider }}`}}"
        description: "{{`{{ $value | humanizePercentage }} of messages sent through {{ $labels.provider }} failed over to the next provider.`}}"
        runbook_url: {{ $runbook }}#hooklinesmsfailover
{{- end }}
{{- end }}
