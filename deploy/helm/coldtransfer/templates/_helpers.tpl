{{/* The release's base name, at most 63 characters (a DNS label). */}}
{{- define "coldtransfer.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The in-chart Redis's name. */}}
{{- define "coldtransfer.redis.fullname" -}}
{{- printf "%s-redis" (include "coldtransfer.fullname" . | trunc 57 | trimSuffix "-") -}}
{{- end -}}

{{/* The labels every object carries. */}}
{{- define "coldtransfer.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The bot's pods, as selectors see them. */}}
{{- define "coldtransfer.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: bot
{{- end -}}

{{/* The in-chart Redis's pods, as selectors see them. */}}
{{- define "coldtransfer.redis.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end -}}

{{/* The port of HEALTH_ADDR: /healthz, /readyz and /metrics. */}}
{{- define "coldtransfer.healthPort" -}}8080{{- end -}}

{{/* Where the directory ConfigMap is mounted: a directory, so that updates reach the pod. */}}
{{- define "coldtransfer.directoryMount" -}}/etc/coldtransfer/directory{{- end -}}

{{/* The directory ConfigMap's name, "" without a directory. */}}
{{- define "coldtransfer.directoryConfigMap" -}}
{{- if and .Values.directory.content .Values.directory.existingConfigMap -}}
{{- fail "directory: set content or existingConfigMap, not both" -}}
{{- else if .Values.directory.existingConfigMap -}}
{{- .Values.directory.existingConfigMap -}}
{{- else if .Values.directory.content -}}
{{- printf "%s-directory" (include "coldtransfer.fullname" . | trunc 53 | trimSuffix "-") -}}
{{- end -}}
{{- end -}}
