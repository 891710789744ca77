{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "infisical-oidc-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, prefixed with the chart name unless it already contains it. */}}
{{- define "infisical-oidc-operator.fullname" -}}
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

{{- define "infisical-oidc-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "infisical-oidc-operator.labels" -}}
helm.sh/chart: {{ include "infisical-oidc-operator.chart" . }}
{{ include "infisical-oidc-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: infisical-oidc-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels: stable across upgrades (a Deployment's selector is immutable). */}}
{{- define "infisical-oidc-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "infisical-oidc-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "infisical-oidc-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "infisical-oidc-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "infisical-oidc-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* "true" when the operator is namespace-scoped: rbac.scope namespaced, or a non-empty watchNamespaces. */}}
{{- define "infisical-oidc-operator.namespaced" -}}
{{- if or (eq .Values.rbac.scope "namespaced") (gt (len .Values.watchNamespaces) 0) }}true{{ end }}
{{- end }}

{{/* The namespaces watched in namespaced mode, as a JSON list (the release namespace when none are listed). */}}
{{- define "infisical-oidc-operator.watchNamespaces" -}}
{{- if gt (len .Values.watchNamespaces) 0 }}
{{- .Values.watchNamespaces | uniq | toJson }}
{{- else }}
{{- list .Release.Namespace | toJson }}
{{- end }}
{{- end }}

{{/*
The operator's permissions, shared by the ClusterRole (cluster mode) and each Role (namespaced mode).
Secrets are read-only: get for the referenced Secrets, list/watch for the metadata-only watch that
re-triggers a reconcile when one changes; ConfigMaps get only. No create/delete on the kinds, no Secret writes.
*/}}
{{- define "infisical-oidc-operator.rules" -}}
- apiGroups: ["oidc.infisical-operator.io"]
  resources: ["oidcssoconfigs"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["oidc.infisical-operator.io"]
  resources: ["oidcssoconfigs/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["oidc.infisical-operator.io"]
  resources: ["oidcssoconfigs/finalizers"]
  verbs: ["update"]
- apiGroups: ["oidc.infisical-operator.io"]
  resources: ["samlssoconfigs"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["oidc.infisical-operator.io"]
  resources: ["samlssoconfigs/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["oidc.infisical-operator.io"]
  resources: ["samlssoconfigs/finalizers"]
  verbs: ["update"]
- apiGroups: ["oidc.infisical-operator.io"]
  resources: ["ldapssoconfigs"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["oidc.infisical-operator.io"]
  resources: ["ldapssoconfigs/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["oidc.infisical-operator.io"]
  resources: ["ldapssoconfigs/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
# A SamlSsoConfig's certRef or an LdapSsoConfig's caCertificateRef may name a ConfigMap: read
# when a pass runs, never watched.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch", "list"]
# Kubernetes Auth: read a ServiceAccount's opt-in annotation, and request tokens for it.
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["serviceaccounts/token"]
  verbs: ["create"]
{{- end }}

{{/* Non-empty when leader election is on: more than one replica. */}}
{{- define "infisical-oidc-operator.leaderElection" -}}
{{- if gt (int .Values.replicas) 1 }}true{{ end }}
{{- end }}

{{/*
Non-empty when the chart renders the CRD `.name` (called with `dict "root" $ "name" ...`):
crds.install, and the CRD is not in the cluster yet or
is this release's already. A CRD put there another way (kubectl apply -f crds/, the kustomize
base, another release) is left to whoever put it there, instead of failing the install on
Helm's ownership check. `lookup` finds nothing under `helm template`, which therefore renders it.
*/}}
{{- define "infisical-oidc-operator.rendersCrd" -}}
{{- if .root.Values.crds.install }}
{{- $existing := lookup "apiextensions.k8s.io/v1" "CustomResourceDefinition" "" .name }}
{{- $annotations := dig "metadata" "annotations" (dict) $existing }}
{{- $release := get $annotations "meta.helm.sh/release-name" }}
{{- $namespace := get $annotations "meta.helm.sh/release-namespace" }}
{{- if or (not $existing) (and (eq $release .root.Release.Name) (eq $namespace .root.Release.Namespace)) }}true{{ end }}
{{- end }}
{{- end }}
